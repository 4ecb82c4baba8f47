"""The docs say what the code does: every Excel function with its arguments, every
command, every sheet, and the README's count of functions."""

import inspect
import re
import zipfile
from pathlib import Path

import pytest

from xlhtx import cli
from xlhtx.excel import udfs

ROOT = Path(__file__).resolve().parents[1]
EXCEL = (ROOT / "docs" / "excel.md").read_text()


def arguments(f) -> str:
    """A function's arguments as the catalogue writes them: optional ones in brackets."""
    out = [n if p.default is inspect.Parameter.empty else f"[{n}]"
           for n, p in inspect.signature(f).parameters.items()]
    return ", ".join(out) or "—"


def test_the_catalogue_is_the_registry():
    """docs/excel.md's table is the registry's, row for row (regenerate it with
    ``python -c "from xlhtx.excel.registry import catalogue; print(catalogue())"``)."""
    from xlhtx.excel.registry import catalogue
    assert catalogue() in EXCEL


def test_the_catalogue_lists_every_function_with_its_arguments():
    rows = {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\| `(HTX_\w+)` \| ([^|]*) \|", EXCEL, re.M)}
    assert set(rows) == set(udfs.FUNCTIONS)
    for name, f in udfs.FUNCTIONS.items():
        assert rows[name] == arguments(f), name


def test_the_readme_counts_the_functions():
    readme = (ROOT / "README.md").read_text()
    counts = {int(n) for n in re.findall(r"\b(\d+) functions\b", readme)}
    assert counts == {len(udfs.FUNCTIONS)}


def _commands(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                subs = list(_commands(sub, prefix + (name,)))
                yield from subs or [prefix + (name,)]


@pytest.mark.parametrize("command", [" ".join(c) for c in _commands(cli.build_parser())])
def test_every_command_is_in_the_cli_docs(command):
    assert f"`xlhtx {command}" in (ROOT / "docs" / "cli.md").read_text()


def test_every_sheet_of_the_template_is_in_the_workbook_docs():
    with zipfile.ZipFile(ROOT / "workbook" / "xlhtx.xlsm") as z:
        sheets = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
    doc = (ROOT / "docs" / "workbook.md").read_text()
    listed = {s.strip() for row in re.findall(r"^\| ([^|]+) \|", doc, re.M)
              for s in row.split(",")}
    assert set(sheets) <= listed, set(sheets) - listed


def test_the_readme_lists_the_leverages_the_snapshot_has():
    from xlhtx.reference.snapshot import snapshot
    readme = (ROOT / "README.md").read_text()
    table = snapshot()
    rows = re.findall(r"^\| ([A-Z]+-USD) \| coin-margined \|[^|]*\| adjustment factors "
                      r"\(isolated\) at exactly ([\d, ]+)x", readme, re.M)
    assert {code for code, _ in rows} == {c for c in table.codes if c.endswith("-USD")}
    for code, levers in rows:
        assert [float(x) for x in levers.split(",")] == table.leverages(code, "isolated")


def test_messages_quoted_in_the_docs_are_the_ones_the_code_gives():
    from xlhtx.excel import udfs
    with pytest.raises(Exception) as e:
        udfs.HTX_LIQPRICE("BTC-USDT", "long", 1, 30000, 0)
    shown = str(e.value)
    for doc in (ROOT / "README.md", ROOT / "docs" / "excel.md"):
        text = " ".join(doc.read_text().split())
        assert f"`{shown}`" in text, doc.name


def python_blocks() -> list[tuple[str, str]]:
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for k, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.S)):
            out.append((f"{path.name}#{k}", block))
    return out


@pytest.mark.parametrize("where,code", python_blocks(), ids=[w for w, _ in python_blocks()])
def test_the_docs_python_examples_run_and_print_what_they_say(where, code):
    """Every Python example of the README and docs runs as written, and a line that says
    its value in a comment (``float(...)  # 29814.7869...``) gives that value."""
    scope: dict = {}
    exec(compile(code, where, "exec"), scope)
    checked = 0
    for line in code.splitlines():
        said = re.match(r"^(float\(.*\))\s+#\s*([-\d.,]+)\.\.\.", line)
        if said:
            got = eval(said.group(1), scope)
            assert f"{got:.12f}".startswith(said.group(2).replace(",", "")), (line, got)
            checked += 1
    assert checked or "float(" not in code


def test_the_docs_have_python_examples_to_run():
    assert len(python_blocks()) >= 1
