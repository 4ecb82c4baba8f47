"""The code's layers: no import loop, no import back up, nothing that points outside
the repository. Read from the sources with ``ast``, so a lazy import inside a function
counts as much as one at the top."""

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# lower number = lower layer; a module may import its own layer or a lower one
LAYERS = [
    ("htxcore", 0),
    ("xlhtx.errors", 1), ("xlhtx.console", 1), ("xlhtx.files", 1), ("xlhtx.coerce", 1),
    ("xlhtx.tables.samples", 1), ("xlhtx.kernel_cache", 1), ("xlhtx.version", 1),
    ("xlhtx.reference", 2),
    ("xlhtx.xlsx", 3),
    ("xlhtx.api", 4), ("xlhtx.statuses", 4), ("xlhtx.messages", 4),
    ("xlhtx.tables", 5), ("xlhtx.htx", 5), ("xlhtx.analysis", 5),
    ("xlhtx.excel", 6), ("xlhtx.addins", 6),
]
TOP = 7   # the command line and the package root


def layer(module: str) -> int:
    if module == "xlhtx":          # the package root is the public face: the top layer
        return TOP
    best, depth = TOP, -1
    for prefix, n in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
            best, depth = n, prefix.count(".")
    return best


def module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "core":
        parts[0] = "htxcore"
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, mods: set[str]) -> set[str]:
    """Modules of this project that ``path`` imports (``from xlhtx import book`` is
    ``xlhtx.tables.metrics``; the package itself only when a name is not a submodule)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in mods else node.module)
    return {m for m in out if m in mods}


def sources() -> dict[str, Path]:
    files = list((ROOT / "core").rglob("*.py")) + list((ROOT / "xlhtx").rglob("*.py"))
    return {module_of(p): p for p in files}


def graph() -> dict[str, set[str]]:
    mods = sources()
    g = {}
    for m, p in mods.items():
        g[m] = imports(p, set(mods)) - {m}
    return g


def test_no_import_goes_up_a_layer():
    bad = [(m, i) for m, deps in graph().items() for i in deps if layer(i) > layer(m)]
    assert bad == [], "imports from a higher layer: " + ", ".join(f"{m} -> {i}" for m, i in bad)


def test_no_import_loop():
    g = graph()
    state: dict[str, int] = {}
    loops = []

    def visit(m, stack):
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                loops.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert loops == [], "import loops: " + "; ".join(" -> ".join(x) for x in loops)


def test_the_layer_check_catches_an_upward_import():
    assert layer("xlhtx.xlsx.recalc") < layer("xlhtx.excel.udfs") < layer("xlhtx.cli.commands")
    assert layer("xlhtx.tables.metrics") < layer("xlhtx.excel.headless")
    assert layer("xlhtx.tables.samples") < layer("xlhtx.xlsx.template")
    assert layer("xlhtx.reference.tiers") < layer("xlhtx.xlsx.template")
    assert layer("htxcore.position") < layer("xlhtx.errors")


def test_the_product_points_nowhere_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "README.md", "xlhtx", "core", "docs",
                              "workbook", "tests", "benchmarks"], cwd=ROOT,
                             capture_output=True, text=True).stdout
    hits = []
    for name in tracked.split():
        path = ROOT / name
        if path.suffix in (".py", ".md", ".csv", ".json", ".txt") and path.exists():
            for n, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
                if re.search(r"\bSPEC\b|\.\./shared", line) and path != Path(__file__):
                    hits.append(f"{name}:{n}: {line.strip()}")
    assert hits == [], "\n".join(hits)


def test_the_architecture_doc_names_every_module():
    """docs/architecture.md is drawn from the code: every module of core/, xlhtx/ and its
    subpackages appears in it by name (xlhtx/reference/ is described as a package)."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = []
    for folder in ("core", "xlhtx", "xlhtx/xlsx", "xlhtx/tables", "xlhtx/htx", "xlhtx/analysis",
                   "xlhtx/excel", "xlhtx/addins", "xlhtx/cli"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if not path.stem.startswith("__") and not re.search(rf"`({folder}/)?{path.stem}(\.py)?`", doc):
                missing.append(f"{folder}/{path.name}")
    assert missing == [], missing


def test_library_adaptations_say_when_a_version_lacks_their_hooks(monkeypatch):
    """XlsxWriter and formulas are adapted in one module, which names the missing hook
    and the version it was written for instead of failing deep inside a build."""
    import pytest
    from xlsxwriter.chart import Chart
    from xlhtx.xlsx import compat
    compat.check()   # the installed, pinned versions have every hook
    monkeypatch.delattr(Chart, "_write_axis_pos")
    with pytest.raises(compat.CompatError, match=r"lacks xlsxwriter _write_axis_pos.*3\.3\.1"):
        compat.check()
