"""The compiled sheet scan (``xlhtx.xlsx.scan``) against lxml: on any sheet it takes, it
reads the same cells and writes the same XML as the lxml path; on any sheet it does not
take, it declines (and lxml reads it as before)."""

from xml.sax.saxutils import escape as xml_escape

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from xlhtx.xlsx import package, scan
from xlhtx.xlsx.package import MAIN, LayoutError, SheetValues

HEAD = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
        '<dimension ref="A1:C9"/><sheetData>')
TAIL = '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" ' \
       'header="0.3" footer="0.3"/></worksheet>'
STRINGS = ["zero", "one & two", "<three>"]
FORMULAS = ["A1+1", "SUM(A1:A3)", 'IF(A1>0,"a&b","<x>")', "B2*2\r\n+1", "UNICHAR(233)&\"é\""]
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=9)
                   .filter(lambda ch: ch in "\t\n\r" or ch >= " "), max_size=6) \
    .filter(lambda s: "\ufffe" not in s and "\uffff" not in s)


def col_letters(c: int) -> str:
    s = ""
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


@st.composite
def values(draw):
    kind = draw(st.sampled_from(["n", "none", "s", "str", "b", "e", "d", "inlineStr", "empty"]))
    if kind in ("n", "none"):
        text = draw(st.sampled_from(["1", "-2.5", "1e3", "0.1", "123456789012345678901",
                                     "1E-5", " 7 ", "abc", "", "-0"]))
    elif kind == "s":
        text = str(draw(st.integers(0, 3)))   # 3 is past the shared strings
    elif kind == "b":
        text = draw(st.sampled_from(["0", "1", "true"]))
    elif kind == "e":
        text = draw(st.sampled_from(["#N/A", "#DIV/0!"]))
    else:
        text = xml_escape(draw(XML_TEXT)).replace("\r", draw(st.sampled_from(["\r", "&#13;"])))
    t = "" if kind == "none" else f' t="{kind}"'
    if kind in ("inlineStr", "str", "s") and draw(st.booleans()):   # <is>: openpyxl's form
        keep = draw(st.sampled_from(["", ' xml:space="preserve"']))
        return f'{t}><is><t{keep}>{text}</t></is>'
    if kind == "empty":
        return f'{t}><v/>'
    return f'{t}><v>{text}</v>' if text else f'{t}><v></v>'


@st.composite
def formulas(draw, col: int, row: int):
    text = xml_escape(draw(st.sampled_from(FORMULAS)))
    kind = draw(st.sampled_from(["plain", "plain", "plain", "normal", "shared", "follower",
                                 "array", "empty", "ca"]))
    cached = draw(st.sampled_from(["", "<v>0</v>", "<v/>"]))
    t = draw(st.sampled_from(["", ' t="str"', ' t="n"']))
    f = {"plain": f"<f>{text}</f>", "normal": f'<f t="normal">{text}</f>',
         "shared": f'<f t="shared" ref="{col_letters(col)}{row}:{col_letters(col)}9" si="0">'
                   f"{text}</f>",
         "follower": '<f t="shared" si="0"/>',
         "array": f'<f t="array" ref="{col_letters(col)}{row}">{text}</f>',
         "empty": "<f/>", "ca": f'<f ca="1">{text}</f>'}[kind]
    cm = draw(st.sampled_from(["", ' cm="1"']))
    return f'{t}{cm}>{f}{cached}'


@st.composite
def sheets(draw):
    rows = []
    r = 0
    for _ in range(draw(st.integers(0, 6))):
        r += draw(st.integers(1, 3))
        cells = []
        col = 0
        for _ in range(draw(st.integers(0, 5))):
            col += draw(st.integers(1, 2))
            ref = f"{col_letters(col)}{r}"
            s = draw(st.sampled_from(["", ' s="3"']))
            body = draw(st.one_of(values(), formulas(col, r), st.just("/")))
            cells.append(f'<c r="{ref}"{s}/>' if body == "/" else
                         f'<c r="{ref}"{s}{body}</c>')
        extra = draw(st.sampled_from(["", ' spans="1:5"', ' x14ac:dyDescent="0.25"']))
        rows.append(f'<row r="{r}"{extra}>' + "".join(cells) + "</row>" if cells else
                    f'<row r="{r}"{extra}/>')
    return "".join(rows)


# ways to write the same sheet that the fast path still takes, or must decline
TAKEN = {
    "as written": lambda x: x,
    "single quotes": lambda x: x.replace('"', "'"),
    "spaces in tags": lambda x: x.replace("</c>", "</c >").replace("<v>", "<v >"),
}
DECLINED = {
    "comment": lambda x: x.replace("</row>", "<!-- a --></row>", 1),
    "pretty": lambda x: x.replace("<c ", "\n  <c ", 1),
    "lower-case reference": lambda x: x.replace('<c r="A', '<c r="a', 1),
    "cdata": lambda x: x.replace("<v>1</v>", "<v><![CDATA[1]]></v>", 1),
    "rich inline string": lambda x: x.replace('<v>1</v>', '<is><r><t>1</t></r></is>', 1),
    "inline string, two texts": lambda x: x.replace("<is><t>", "<is><t/><t>", 1),
    "formula and inline string": lambda x: x.replace("</f><v>0</v>", "</f><is><t>0</t></is>", 1),
}


def slow_read(xml: bytes):
    try:
        return list(package.read_cells(xml, STRINGS))
    except LayoutError:
        return "refused"


def fast_read(xml: bytes, strings: list[str] = STRINGS):
    """``read_fast``'s cells in ``read_cells``' form, or None when it declines."""
    got = package.read_fast(xml, strings)
    if got is None:
        return None
    out = [(r, col, v, None) for col, rows, vals in got.columns for r, v in zip(rows, vals)]
    out += [(r, col, None, f) for rows, col, f in got.formulas for r in rows]
    return out


def plain_cells(cells):
    """read_cells' output as comparable records (values None are no cells to store)."""
    return sorted(((r, c, type(v).__name__, v if not isinstance(v, float) or v == v else "nan",
                    f) for r, c, v, f in cells if f is not None or v is not None), key=repr)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.sampled_from(sorted(TAKEN) + sorted(DECLINED)))
def test_fast_read_equals_lxml_or_declines(rows, variant):
    change = TAKEN.get(variant) or DECLINED[variant]
    xml = (HEAD + change(rows) + TAIL).encode()
    slow = slow_read(xml)
    fast = fast_read(xml)
    if variant in DECLINED and change(rows) != rows:
        assert fast is None
    elif slow != "refused":
        assert fast is not None, rows
    if slow == "refused":
        assert fast is None   # lxml names the cell; the fast path never hides a refusal
    elif fast is not None:
        assert plain_cells(fast) == plain_cells(slow)


CACHED = st.one_of(st.none(), st.just(""), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
                       [package.ExcelError("#N/A"), "#DIV/0!", "a\x00b", "\ufffe", "x\ud800",
                        "\r\n", "<&>", "\x85"]), st.text(max_size=5))


def c14n(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.lists(CACHED, min_size=1, max_size=7), st.booleans())
def test_fast_write_equals_lxml(rows, cached, keep_formulas):
    xml = (HEAD + rows + TAIL).encode()
    if slow_read(xml) == "refused" or package.read_fast(xml, STRINGS) is None:
        return
    def value(r, c):
        return cached[(r * 7 + c) % len(cached)]
    slow = package.rewrite_sheet(xml, SheetValues(value, {}), keep_formulas)
    frame = scan.sheet_frame(xml, MAIN)
    fast = b"".join(scan.rewrite(xml, frame, value, keep_formulas, package.safe_value_xml))
    assert c14n(fast) == c14n(slow)


def test_the_template_sheets_take_the_fast_path():
    from pathlib import Path
    from xlhtx.xlsx.cells import read_workbook
    book = read_workbook(Path(__file__).resolve().parents[1] / "workbook" / "xlhtx.xlsm")
    assert book.fast == frozenset(package.sheet_parts(book.parts).values())


def test_blocks_carry_a_calculated_column_across_them():
    n = scan.BLOCK + 500   # rows of two cells: the column's text spans several blocks
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><f>A{r}*2</f></c>'
                   f'<c r="C{r}"><f>SUM(A:A)</f><v>1</v></c></row>' for r in range(1, n + 1))
    xml = (HEAD + rows + TAIL).encode()
    got = package.read_fast(xml, STRINGS)
    runs = [(col, f.text, len(rows)) for rows, col, f in got.formulas if len(rows) > 1]
    assert runs == [(3, "SUM(A:A)", n)]   # one text decoded once for all its rows
    assert sum(len(r) for r, col, f in got.formulas if col == 2) == n
    assert got.columns[0][1] == list(range(1, n + 1))
    written = b"".join(scan.rewrite(xml, scan.sheet_frame(xml, MAIN), lambda r, c: r * 0.5,
                                    True, package.safe_value_xml))
    assert c14n(written) == c14n(package.rewrite_sheet(
        xml, SheetValues(lambda r, c: r * 0.5, {}), True))


@pytest.mark.parametrize("text, kept", [("\ufffe", None), ("a\ud800b", "ab"), ("\x01", None)])
def test_text_xml_cannot_hold_is_dropped_on_both_paths(text, kept):
    xml = (HEAD + '<row r="1"><c r="A1"><f>X()</f></c></row>' + TAIL).encode()
    slow = package.rewrite_sheet(xml, SheetValues(lambda r, c: text, {}), True)
    fast = b"".join(scan.rewrite(xml, scan.sheet_frame(xml, MAIN), lambda r, c: text, True,
                                 package.safe_value_xml))
    assert c14n(fast) == c14n(slow)
    assert b't="str"' in fast
    assert [v for _, _, v, _ in package.read_cells(fast.replace(b"<f>X()</f>", b""), STRINGS)] \
        == [kept]


@pytest.mark.parametrize("name", ["dynamic_array02", "dynamic_array03", "checkbox01",
                                  "types06", "types07"])
def test_sheets_excel_saved_take_the_fast_path_and_read_the_same(name):
    from pathlib import Path
    parts = dict(package.read_parts(Path(__file__).parent / "data" / "excel" / f"{name}.xlsx"))
    strings = package.shared_strings(parts)
    for part in package.sheet_parts(parts).values():
        cells = fast_read(parts[part], strings)
        assert cells is not None, part
        assert plain_cells(cells) == plain_cells(package.read_cells(parts[part], strings))
        assert cells   # every one of these sheets holds cells
