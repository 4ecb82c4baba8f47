"""``xlhtx addin libreoffice``: the HTX_* functions as a LibreOffice Calc extension
(.oxt), written from the function registry.

The extension holds a UNO interface with one method per Excel function (IDL compiled by
LibreOffice's ``unoidl-write`` into a type library), the Python component that
implements it (``calc_component``: each method calls the same Excel function the
xlwings add-in runs), ``CalcAddIns.xcu`` with each function's and argument's wizard
help and category, and the package's manifest and description. Calc shows the
functions under their Excel names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from xlhtx.errors import XlhtxError
from xlhtx.excel.registry import CATEGORY, FUNCTIONS, Function
from xlhtx.files import atomic_write
from xlhtx.version import __version__

IDENTIFIER = "org.xlhtx.calc"
IMPLEMENTATION = "org.xlhtx.calc.Functions"
INTERFACE = "XHtxFunctions"
# one more argument than Excel's: the size of the array formula a result fills, which
# the extension writes when it opens an Excel file (Calc 7's array formulas do not spill)
ARRAY_SIZE = "array_size"
ARRAY_SIZE_HELP = ("Optional, LibreOffice only: the rows x columns (e.g. \"29x7\") of the "
                   "array formula the result fills; cells past the result stay empty "
                   "instead of #N/A. Set when an Excel workbook is opened.")
LIBREOFFICE = Path(os.environ.get("XLHTX_LIBREOFFICE", "/usr/lib/libreoffice"))
COMPONENT = Path(__file__).with_name("calc_component.py")


def param_name(name: str) -> str:
    """An argument's name as UNO IDL allows it (no underscore before a lower-case
    letter): ``entry_price`` -> ``entryPrice``."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def idl(functions: dict[str, Function] = FUNCTIONS) -> str:
    """The UNO interface: every function takes ``any`` (a value, rows, or nothing when
    left out) and returns rows (one value is one row of one: Calc shows it in the cell)."""
    methods = "\n".join(
        f"        sequence< sequence< any > > {f.name}("
        + ", ".join([f"[in] any {param_name(a.name)}" for a in f.args]
                    + [f"[in] any {param_name(ARRAY_SIZE)}"]) + ");"
        for f in functions.values())
    return ("#include <com/sun/star/uno/XInterface.idl>\n\n"
            "module org { module xlhtx { module calc {\n"
            f"    interface {INTERFACE} : com::sun::star::uno::XInterface\n    {{\n"
            f"{methods}\n    }};\n}}; }}; }};\n")


def _text(value: str) -> str:
    return f'<value xml:lang="en">{escape(value)}</value>'


def xcu(functions: dict[str, Function] = FUNCTIONS) -> str:
    """CalcAddIns.xcu: each function's display name (its Excel name), its help and the
    help of each argument, its category, and its Excel name for files from Excel."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<oor:component-data xmlns:oor="http://openoffice.org/2001/registry" '
           'xmlns:xs="http://www.w3.org/2001/XMLSchema" oor:name="CalcAddIns" '
           'oor:package="org.openoffice.Office">',
           '<node oor:name="AddInInfo">',
           f'<node oor:name={quoteattr(IMPLEMENTATION)} oor:op="replace">',
           '<node oor:name="AddInFunctions">']
    for f in functions.values():
        out += [f'<node oor:name="{f.name}" oor:op="replace">',
                f'<prop oor:name="DisplayName">{_text(f.name)}</prop>',
                f'<prop oor:name="Description">{_text(f.summary)}</prop>',
                '<prop oor:name="Category"><value>Add-In</value></prop>',
                f'<prop oor:name="CompatibilityName">{_text(f.name)}</prop>',
                '<node oor:name="Parameters">']
        for name, help in [(a.name, a.help) for a in f.args] + [(ARRAY_SIZE, ARRAY_SIZE_HELP)]:
            out += [f'<node oor:name="{param_name(name)}" oor:op="replace">',
                    f'<prop oor:name="DisplayName">{_text(name)}</prop>',
                    f'<prop oor:name="Description">{_text(help)}</prop>',
                    '</node>']
        out += ['</node>', '</node>']
    out += ['</node>', '</node>', '</node>', '</oor:component-data>']
    return "\n".join(out) + "\n"


def description() -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<description xmlns="http://openoffice.org/extensions/description/2006" '
            'xmlns:d="http://openoffice.org/extensions/description/2006" '
            'xmlns:xlink="http://www.w3.org/1999/xlink">\n'
            f'  <identifier value="{IDENTIFIER}"/>\n'
            f'  <version value="{__version__}"/>\n'
            f'  <display-name><name lang="en">{escape(CATEGORY)}</name></display-name>\n'
            '</description>\n')


MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="http://openoffice.org/2001/manifest">
  <manifest:file-entry manifest:full-path="xlhtx.rdb" manifest:media-type="application/vnd.sun.star.uno-typelibrary;type=RDB"/>
  <manifest:file-entry manifest:full-path="calc_component.py" manifest:media-type="application/vnd.sun.star.uno-component;type=Python"/>
  <manifest:file-entry manifest:full-path="CalcAddIns.xcu" manifest:media-type="application/vnd.sun.star.configuration-data"/>
  <manifest:file-entry manifest:full-path="Jobs.xcu" manifest:media-type="application/vnd.sun.star.configuration-data"/>
</manifest:manifest>
"""


JOBS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:component-data xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" oor:name="Jobs" oor:package="org.openoffice.Office">
  <node oor:name="Jobs">
    <node oor:name="XlhtxExcelNames" oor:op="replace">
      <prop oor:name="Service"><value>org.xlhtx.calc.FormulaJob</value></prop>
    </node>
  </node>
  <node oor:name="Events">
    <node oor:name="OnLoadFinished" oor:op="fuse">
      <node oor:name="JobList">
        <node oor:name="XlhtxExcelNames" oor:op="replace"/>
      </node>
    </node>
  </node>
</oor:component-data>
"""


def python_paths() -> list[str]:
    """Where LibreOffice's Python finds xlhtx and its packages: this Python's own
    package folders, the folder holding xlhtx first."""
    home = str(Path(__file__).resolve().parents[2])   # the folder holding xlhtx/
    import htxcore
    core = str(Path(htxcore.__file__).resolve().parents[1])
    site = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return list(dict.fromkeys([home, core, *site]))


def component(paths: list[str], functions: dict[str, Function] = FUNCTIONS) -> str:
    src = COMPONENT.read_text("utf-8")
    src = src.replace("PATHS: list = []   # written by the builder",
                      f"PATHS: list = {paths!r}")
    return src.replace("NAMES: list = []   # written by the builder: the Excel functions, "
                       "in the IDL's order", f"NAMES: list = {list(functions)!r}")


def type_library(idl_text: str, out: Path) -> None:
    """The IDL compiled against LibreOffice's own types (``unoidl-write``, from the
    LibreOffice SDK: Debian's libreoffice-dev)."""
    tool = LIBREOFFICE / "sdk" / "bin" / "unoidl-write"
    types = [LIBREOFFICE / "program" / "types.rdb", LIBREOFFICE / "program" / "types" / "offapi.rdb"]
    missing = [str(p) for p in (tool, *types) if not p.exists()]
    if missing:
        raise XlhtxError(f"building the LibreOffice extension needs LibreOffice's SDK "
                         f"(Debian: apt install libreoffice-dev); missing {', '.join(missing)}"
                         " (XLHTX_LIBREOFFICE names another LibreOffice folder)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{INTERFACE}.idl"
        src.write_text(idl_text)
        run = subprocess.run([str(tool), *map(str, types), str(src), str(out)],
                             capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise XlhtxError(f"unoidl-write failed: {(run.stderr or run.stdout).strip()[:500]}")


def build(out: str | Path, paths: list[str] | None = None) -> Path:
    """Write the extension to ``out`` (.oxt)."""
    out = Path(out)
    if out.suffix.lower() != ".oxt":
        raise XlhtxError(f"-o {out}: a LibreOffice extension is a .oxt file")
    with tempfile.TemporaryDirectory() as tmp:
        rdb = Path(tmp) / "xlhtx.rdb"
        type_library(idl(), rdb)
        parts = {"META-INF/manifest.xml": MANIFEST.encode(),
                 "description.xml": description().encode(),
                 "CalcAddIns.xcu": xcu().encode(),
                 "Jobs.xcu": JOBS.encode(),
                 "calc_component.py": component(paths or python_paths()).encode(),
                 "xlhtx.rdb": rdb.read_bytes()}

        def write(f):
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                for name, data in parts.items():
                    info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, data)
        atomic_write(out, write)
    return out
