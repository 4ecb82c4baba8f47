"""Package-level edits of .xlsx/.xlsm files that openpyxl cannot make, done on the XML
parts so everything else in the file (charts, styles, VBA) stays byte for byte:

* ``finish_package``: mark spilling formulas as dynamic arrays (``cm="1"`` plus the
  ``XLDAPR`` cell metadata Excel 365 writes) and store every part with a fixed
  timestamp, so the same build gives the same bytes.
* ``inject_values``: write cached values into formula cells (and the cells a formula
  spills into), optionally dropping the formulas and the VBA project.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape

from openpyxl.utils import column_index_from_string, get_column_letter
from xlhtx.errors import XlhtxError

SHEET_PART = re.compile(r"^xl/worksheets/sheet\d+\.xml$")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)

METADATA_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" '
    'copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" '
    'clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst>'
    '<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk>'
    '</futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata>'
    '</metadata>')
METADATA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
METADATA_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata"
ARRAY_CELL = re.compile(r'<c ((?:(?!cm=)[^>])*?)>(<f t="array")')


def read_parts(path: str | Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_parts(path: str | Path, parts: list[tuple[str, bytes]],
                when: tuple = FIXED_TIME) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)


def mark_dynamic_arrays(parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Array formulas -> dynamic-array formulas (Excel 365 spills them, older Excel shows
    them as array formulas over their range)."""
    out, found = [], False
    for name, data in parts:
        if SHEET_PART.match(name):
            text = data.decode("utf-8")
            new = ARRAY_CELL.sub(r'<c \1 cm="1">\2', text)
            found = found or new != text
            data = new.encode("utf-8")
        out.append((name, data))
    if not found or any(n == "xl/metadata.xml" for n, _ in out):
        return out
    fixed = []
    for name, data in out:
        if name == "[Content_Types].xml":
            data = data.replace(b"</Types>", f'<Override PartName="/xl/metadata.xml" '
                                f'ContentType="{METADATA_TYPE}"/></Types>'.encode())
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", f'<Relationship Id="rIdXlhtxMeta" '
                                f'Type="{METADATA_REL}" Target="metadata.xml"/>'
                                '</Relationships>'.encode())
        fixed.append((name, data))
    fixed.append(("xl/metadata.xml", METADATA_XML.encode()))
    return fixed


def finish_package(src: str | Path, dst: str | Path, stamp: dt.datetime | None = None) -> None:
    when = stamp.timetuple()[:6] if stamp else FIXED_TIME
    iso = dt.datetime(*when).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    parts = []
    for name, data in mark_dynamic_arrays(read_parts(src)):
        if name == "docProps/core.xml":   # openpyxl stamps the save time here
            data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                          rb"\g<1>" + iso + rb"\g<2>", data)
        parts.append((name, data))
    write_parts(dst, parts, when)


# ------------------------------------------------------------------ cached values

CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
ROW = re.compile(r'<row r="(\d+)"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
FORMULA = re.compile(r"<f\b[^>]*?(?:/>|>.*?</f>)", re.S)


class LayoutError(XlhtxError):
    """A sheet's XML that the value writer does not handle; nothing is written."""


def value_xml(v: Any) -> tuple[str, str]:
    """(type attribute, <v> element) of a cached value."""
    if v is None or v == "":
        return "", ""
    if isinstance(v, bool):
        return ' t="b"', f"<v>{int(v)}</v>"
    if isinstance(v, (int, float)):
        if v != v or v in (float("inf"), float("-inf")):
            return ' t="e"', "<v>#NUM!</v>"
        return "", f"<v>{repr(float(v)) if isinstance(v, float) else v}</v>"
    s = str(v)
    if s in ("#VALUE!", "#N/A", "#NAME?", "#REF!", "#DIV/0!", "#NUM!", "#NULL!"):
        return ' t="e"', f"<v>{s}</v>"
    return ' t="str"', f"<v>{escape(s)}</v>"


def _strip_type(attrs: str) -> str:
    return re.sub(r'\s(t|cm)="[^"]*"', "", attrs)


def rewrite_sheet(xml: str, values: dict[tuple[int, int], Any], keep_formulas: bool) -> str:
    """Put ``values[(row, col)]`` into the cells of a sheet's XML, creating the cells
    (and rows) that a spilled formula fills."""
    head, sep, rest = xml.partition("<sheetData")
    if not sep:
        return xml
    open_end = rest.index(">")
    if rest[open_end - 1] == "/":   # <sheetData/>: nothing to fill
        body, tail, open_tag = "", rest[open_end + 1:], "<sheetData>"
    else:
        body, _, tail = rest[open_end + 1:].partition("</sheetData>")
        open_tag = "<sheetData" + rest[:open_end + 1]
    n_rows = len(re.findall(r"<row[\s>/]", body))
    n_cells = len(re.findall(r"<c[\s>/]", body))
    if n_rows != len(ROW.findall(body)) or n_cells != len(CELL.findall(body)):
        # rows or cells without an r="..." reference: rewriting could lose data
        raise LayoutError("a sheet writes rows or cells without their references; "
                          "this layout is not supported for writing values")
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), v in values.items():
        by_row.setdefault(r, {})[c] = v
    rows_out = []
    seen_rows = set()

    def fix_cell(col: str, r: int, attrs: str, inner: str | None, v: Any, has: bool) -> str:
        inner = inner or ""
        f = FORMULA.search(inner)
        if not has:
            return f'<c r="{col}{r}"{attrs}>{inner}</c>' if inner else f'<c r="{col}{r}"{attrs}/>'
        t, vx = value_xml(v)
        formula = f.group(0) if keep_formulas and f else ""
        dynamic = re.search(r'\scm="[^"]*"', attrs) if formula else None   # a kept spill
        out_attrs = _strip_type(attrs) + (dynamic.group(0) if dynamic else "")
        return f'<c r="{col}{r}"{out_attrs}{t}>{formula}{vx}</c>'

    for m in ROW.finditer(body):
        r = int(m.group(1))
        seen_rows.add(r)
        want = by_row.get(r, {})
        cells = []
        done = set()
        for cm in CELL.finditer(m.group(3) or ""):
            c = column_index_from_string(cm.group(1))
            done.add(c)
            cells.append((c, fix_cell(cm.group(1), r, cm.group(3), cm.group(4), want.get(c),
                                      c in want)))
        for c, v in want.items():
            if c not in done:
                cells.append((c, fix_cell(get_column_letter(c), r, "", None, v, True)))
        cells.sort()
        rows_out.append((r, f'<row r="{r}"{m.group(2)}>' + "".join(x for _, x in cells) +
                         "</row>"))
    for r, want in by_row.items():
        if r not in seen_rows:
            cells = sorted((c, fix_cell(get_column_letter(c), r, "", None, v, True))
                           for c, v in want.items())
            rows_out.append((r, f'<row r="{r}">' + "".join(x for _, x in cells) + "</row>"))
    rows_out.sort()
    return head + open_tag + "".join(x for _, x in rows_out) + "</sheetData>" + tail


def sheet_parts(parts: list[tuple[str, bytes]]) -> dict[str, str]:
    """Sheet name -> its part name (from workbook.xml and its relationships)."""
    d = dict(parts)
    wb = d["xl/workbook.xml"].decode("utf-8")
    rels = d["xl/_rels/workbook.xml.rels"].decode("utf-8")
    targets = {m.group(1): m.group(2) for m in re.finditer(
        r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
    targets.update({m.group(2): m.group(1) for m in re.finditer(
        r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(r'<sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', wb):
        target = targets[m.group(2)].lstrip("/")
        out[unescape_attr(m.group(1))] = target if target.startswith("xl/") else "xl/" + target
    return out


def check_layout(parts: list[tuple[str, bytes]]) -> None:
    """Refuse, before any work, a package whose layout the value writer would not place
    values into: the workbook part elsewhere than ``xl/workbook.xml``, sheet XML in UTF-16
    or with a namespace prefix (``<x:sheetData>``), and links to other workbooks (their
    cells would be read from files outside this one)."""
    names = dict(parts)
    rels = names.get("_rels/.rels", b"").decode("utf-8", "replace")
    main = re.search(r'Type="[^"]*/officeDocument"[^>]*Target="/?([^"]+)"', rels) or \
        re.search(r'Target="/?([^"]+)"[^>]*Type="[^"]*/officeDocument"', rels)
    if main and main.group(1) != "xl/workbook.xml":
        raise LayoutError(f"the workbook part is {main.group(1)}, not xl/workbook.xml; "
                          "open and save the file in Excel first")
    if "xl/workbook.xml" not in names:
        raise LayoutError("no xl/workbook.xml in the package; open and save the file in "
                          "Excel first")
    links = [n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml")]
    if links:
        raise LayoutError(f"it links to {len(links)} other workbook(s) (external links); "
                          "xlhtx reads nothing outside the workbook: break the links in "
                          "Excel (Data > Edit Links > Break Link) first")
    for name in sheet_parts(parts).values():
        data = names.get(name, b"")
        head = data[:200]
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or re.search(
                rb'encoding="utf-16', head, re.I):
            raise LayoutError(f"{name} is UTF-16 XML; open and save the file in Excel first")
        if re.search(rb"<[A-Za-z_][\w.-]*:(worksheet|sheetData)\b", data[:4096]):
            raise LayoutError(f"{name} writes its XML with a namespace prefix; open and save "
                              "the file in Excel first")


def unescape_attr(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&apos;", "'").replace("&amp;", "&")


def inject_values(src: str | Path, dst: str | Path,
                  values: dict[str, dict[tuple[int, int], Any]], *, keep_formulas: bool = True,
                  drop_vba: bool = False, when: tuple = FIXED_TIME,
                  write: Callable | None = None) -> None:
    """A copy of ``src`` whose cells hold ``values`` ({sheet: {(row, col): value}})."""
    parts = read_parts(src)
    where = sheet_parts(parts)
    by_part = {where[s]: v for s, v in values.items() if s in where}
    out = []
    for name, data in parts:
        if name in by_part:
            data = rewrite_sheet(data.decode("utf-8"), by_part[name], keep_formulas).encode()
        if drop_vba:
            if name == "xl/vbaProject.bin":
                continue
            if name == "[Content_Types].xml":
                data = re.sub(rb'<Override PartName="/xl/vbaProject.bin"[^>]*/>', b"", data)
                data = data.replace(b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                                    b"application/vnd.openxmlformats-officedocument."
                                    b"spreadsheetml.sheet.main+xml")
            if name == "xl/_rels/workbook.xml.rels":
                data = re.sub(rb'<Relationship [^>]*Target="vbaProject.bin"[^>]*/>', b"", data)
        if not keep_formulas and name == "xl/calcChain.xml":
            continue
        out.append((name, data))
    if not keep_formulas:
        out = [(n, re.sub(rb'<Override PartName="/xl/calcChain.xml"[^>]*/>', b"", d)
                if n == "[Content_Types].xml" else
                re.sub(rb'<Relationship [^>]*Target="calcChain.xml"[^>]*/>', b"", d)
                if n == "xl/_rels/workbook.xml.rels" else d) for n, d in out]
    write_parts(dst, out, when)


# ------------------------------------------------------------- reference tables

def _inline(col: int, r: int, v: Any, style: str = "") -> str:
    ref = f"{get_column_letter(col)}{r}"
    if v is None or v == "":
        return f'<c r="{ref}"{style}/>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"{style}><v>{v!r}</v></c>'
    return f'<c r="{ref}"{style} t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'


def replace_table(parts: list[tuple[str, bytes]], sheet: str, table: str,
                  rows: list[list[Any]], notes: dict[tuple[int, int], str]
                  ) -> list[tuple[str, bytes]]:
    """Replace the cells of ``sheet`` (a reference sheet holding one Table) by ``rows``
    (header first) plus ``notes``, and resize the Table. Header styles are kept."""
    where = sheet_parts(parts)
    if sheet not in where:
        raise KeyError(f"no sheet {sheet!r}")
    part = where[sheet]
    d = dict(parts)
    xml = d[part].decode("utf-8")
    header_styles = {column_index_from_string(m.group(1)): re.search(r'\ss="\d+"', m.group(3) or "")
                     for m in CELL.finditer(xml) if m.group(2) == "1"}
    body = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for j, v in enumerate(row, start=1):
            st = header_styles.get(j) if r == 1 else None
            cells.append(_inline(j, r, v, st.group(0) if st else ""))
        for (nr, nc), text in sorted(notes.items()):
            if nr == r:
                cells.append(_inline(nc, r, text))
        body.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    for (nr, nc), text in sorted(notes.items()):
        if nr > len(rows):
            body.append(f'<row r="{nr}">' + _inline(nc, nr, text) + "</row>")
    new_xml = re.sub(r"<sheetData\b.*?(?:</sheetData>|<sheetData/>)",
                     "<sheetData>" + "".join(body) + "</sheetData>", xml, count=1, flags=re.S)
    last = f"{get_column_letter(len(rows[0]))}{max(len(rows), 2)}"
    new_xml = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}"', new_xml)
    out = []
    table_re = re.compile(rf'displayName="{re.escape(table)}"')
    found = False
    for name, data in parts:
        if name == part:
            data = new_xml.encode("utf-8")
        elif name.startswith("xl/tables/") and table_re.search(data.decode("utf-8")):
            text = data.decode("utf-8")
            text = re.sub(r'(<table\b[^>]*?\sref=")[^"]*"', rf'\g<1>A1:{last}"', text, count=1)
            text = re.sub(r'(<autoFilter\b[^>]*?\sref=")[^"]*"', rf'\g<1>A1:{last}"', text)
            data = text.encode("utf-8")
            found = True
        out.append((name, data))
    if not found:
        raise KeyError(f"no table {table!r} on sheet {sheet!r}")
    return out
