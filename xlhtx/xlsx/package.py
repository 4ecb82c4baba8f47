"""The parts of an .xlsx/.xlsm package, read and edited through an XML library (lxml),
so a namespace prefix, attribute order or encoding is the parser's business, not ours.

* Reading: which part holds which sheet, the shared strings, the Tables and defined
  names, and each sheet's cells, streamed row by row (a 100,000-row sheet is never
  held as one tree).
* Writing cached values (``inject_values``): one streaming pass per sheet that puts the
  computed values into formula cells and the cells a formula spills into, optionally
  dropping formulas and the VBA project; every other part is copied byte for byte.
* ``replace_tables``: refreshing the reference Tables of a workbook in place (the template
  itself is written by XlsxWriter).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
from lxml import etree
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries

from xlhtx.errors import XlhtxError
from xlhtx.xlsx import scan

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)
MAX_ROW, MAX_COL = 1_048_576, 16_384
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def q(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


ROW, C, F, V, IS, T, R = (q(t) for t in ("row", "c", "f", "v", "is", "t", "r"))
SHEET_DATA = q("sheetData")
ERRORS = ("#VALUE!", "#N/A", "#NAME?", "#REF!", "#DIV/0!", "#NUM!", "#NULL!", "#SPILL!",
          "#CALC!", "#GETTING_DATA")


class ExcelError(str):
    """An error value of a cell (``#DIV/0!``), told apart from text that reads the same."""


class LayoutError(XlhtxError):
    """A package whose layout xlhtx does not read or write; nothing is written."""


Parts = list[tuple[str, bytes]]


def read_parts(path: str | Path) -> Parts:
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_parts(path: str | Path, parts: Parts, when: tuple = FIXED_TIME, level: int = 6) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            z.writestr(zip_info(name, when), data)


def zip_info(name: str, when: tuple) -> zipfile.ZipInfo:
    """A member with a fixed time and mode, so the same content gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def parse(data: bytes) -> etree._Element:
    try:
        return etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as e:
        raise LayoutError(f"damaged XML: {e}") from None


# ------------------------------------------------------------------ relationships

def rels_part(part: str) -> str:
    head, tail = posixpath.split(part)
    return posixpath.join(head, "_rels", tail + ".rels")


def relationships(parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of ``part``, targets resolved to part names."""
    data = parts.get(rels_part(part))
    if data is None:
        return {}
    base = posixpath.dirname(part)
    out = {}
    for rel in parse(data).iter(f"{{{PKG_REL}}}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            out[rel.get("Id")] = (rel.get("Type", ""), target)
            continue
        path = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id")] = (rel.get("Type", ""), path)
    return out


def workbook_part(parts: dict[str, bytes]) -> str:
    for kind, target in relationships(parts, "").values():
        if kind.endswith("/officeDocument"):
            return target
    return "xl/workbook.xml"


def sheet_parts(parts: Parts | dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its part name (from the workbook part and its relationships)."""
    d = dict(parts)
    book = workbook_part(d)
    rels = relationships(d, book)
    out = {}
    for sheet in parse(d[book]).iter(q("sheet")):
        rid = sheet.get(f"{{{REL}}}id")
        if rid in rels:
            out[sheet.get("name")] = rels[rid][1]
    return out


def check_layout(parts: Parts) -> None:
    """Refuse, before any work, a package xlhtx would misread: the workbook part elsewhere
    than ``xl/workbook.xml``, Strict Open XML, and links to other workbooks (their cells
    would be read from files outside this one)."""
    names = dict(parts)
    main = workbook_part(names)
    if main != "xl/workbook.xml":
        raise LayoutError(f"the workbook part is {main}, not xl/workbook.xml; "
                          "open and save the file in Excel first")
    if main not in names:
        raise LayoutError("no xl/workbook.xml in the package; open and save the file in "
                          "Excel first")
    root = parse(names[main])
    if etree.QName(root).namespace == STRICT:
        raise LayoutError("a Strict Open XML workbook; save it as an Excel Workbook (.xlsx) "
                          "first")
    links = [n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml")]
    if links:
        raise LayoutError(f"it links to {len(links)} other workbook(s) (external links); "
                          "xlhtx reads nothing outside the workbook: break the links in "
                          "Excel (Data > Edit Links > Break Link) first")
    for name in sheet_parts(parts).values():
        if name not in names:
            raise LayoutError(f"the workbook names a sheet part {name} the package lacks")


# ----------------------------------------------------------------- reading sheets

def shared_strings(parts: dict[str, bytes]) -> list[str]:
    book = workbook_part(parts)
    path = next((t for k, t in relationships(parts, book).values()
                 if k.endswith("/sharedStrings")), None)
    if path is None or path not in parts:
        return []
    out = []
    for si in parse(parts[path]).iter(q("si")):
        t = si.find(T)
        if t is not None:
            out.append(t.text or "")
        else:   # rich text: the runs' texts, without phonetic guides
            out.append("".join(r.findtext(T) or "" for r in si.iter(R)))
    return out


@dataclass(frozen=True)
class TableInfo:
    """An Excel Table: where it is and its column names (for structured references)."""
    name: str
    sheet: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int
    columns: tuple[str, ...]
    header_rows: int = 1
    totals_rows: int = 0

    def holds(self, sheet: str, row: int, col: int) -> bool:
        return sheet == self.sheet and self.min_row <= row <= self.max_row and \
            self.min_col <= col <= self.max_col


def tables(parts: dict[str, bytes]) -> dict[str, TableInfo]:
    """Upper-cased table name -> its place."""
    out = {}
    for sheet, part in sheet_parts(parts).items():
        for kind, target in relationships(parts, part).values():
            if not kind.endswith("/table") or target not in parts:
                continue
            t = parse(parts[target])
            c0, r0, c1, r1 = range_boundaries(t.get("ref"))
            name = t.get("displayName") or t.get("name")
            cols = tuple(c.get("name", "") for c in t.iter(q("tableColumn")))
            out[name.upper()] = TableInfo(name, sheet, c0, r0, c1, r1, cols,
                                          int(t.get("headerRowCount", "1")),
                                          int(t.get("totalsRowCount", "0")))
    return out


def defined_names(parts: dict[str, bytes]) -> dict[tuple[str | None, str], str]:
    """(sheet or None for the workbook, upper-cased name) -> the name's formula text."""
    book = workbook_part(parts)
    root = parse(parts[book])
    sheets = [s.get("name") for s in root.iter(q("sheet"))]
    out = {}
    for dn in root.iter(q("definedName")):
        local = dn.get("localSheetId")
        scope = sheets[int(local)] if local is not None and int(local) < len(sheets) else None
        out[(scope, dn.get("name", "").upper())] = dn.text or ""
    return out


class Formula(NamedTuple):
    text: str            # without the leading "="; "" for a shared formula's other cells
    kind: str            # "normal", "shared", "array" or "dataTable"
    ref: str | None      # the array's range, or the cells a shared formula covers
    shared: str | None   # shared-formula group id


_COLUMNS: dict[str, int] = {}


def split_ref(ref: str) -> tuple[int, int]:
    """``"AB12"`` -> (row 12, column 28)."""
    i = 0
    while i < len(ref) and ref[i].isalpha():
        i += 1
    letters = ref[:i]
    col = _COLUMNS.get(letters)
    if col is None:
        col = _COLUMNS[letters] = column_index_from_string(letters.upper())
    return int(ref[i:]), col


def _number(text: str) -> int | float:
    # as Excel writes them: integers without a point or exponent, the rest as floats
    if "." in text or "e" in text or "E" in text:
        return float(text)
    try:
        return int(text)
    except ValueError:
        return float(text)


def cell_value(c: etree._Element, strings: list[str]) -> Any:
    t = c.get("t")
    if t == "inlineStr":
        el = c.find(IS)
        if el is None:
            return None
        t_el = el.find(T)
        return t_el.text or "" if t_el is not None else "".join(
            r.findtext(T) or "" for r in el.iter(R))
    return decode(c.get("r"), t, c.findtext(V), strings)


def decode(ref: str | None, t: str | None, text: str | None, strings: list[str]) -> Any:
    """The value of cell ``ref`` from its type attribute and the text of its ``<v>``."""
    if not text:
        return "" if text == "" and t in ("str", "s") else None
    if t is None or t == "n":
        try:
            return _number(text)
        except ValueError:
            raise LayoutError(f"cell {ref} holds {text[:30]!r} as a number") from None
    if t == "s":
        i = int(text)
        if not 0 <= i < len(strings):
            raise LayoutError(f"cell {ref} points at shared string {i}, which the "
                              "workbook does not have")
        return strings[i]
    if t == "b":
        return text.strip() in ("1", "true")
    if t == "e":
        return ExcelError(text)
    return text   # "str" and "d" (an ISO date) as written


def iter_rows(data: bytes) -> Iterator[etree._Element]:
    """The ``<row>`` elements of a sheet part, one at a time; each is cleared after use."""
    stream = etree.iterparse(io.BytesIO(data), events=("end",), tag=ROW,
                             resolve_entities=False, no_network=True, huge_tree=True)
    try:
        for _, row in stream:
            yield row
            row.clear(keep_tail=True)
            parent = row.getparent()
            while row.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as e:
        raise LayoutError(f"damaged sheet XML: {e}") from None


def row_number(row: etree._Element) -> int:
    r = row.get("r")
    if r is None:
        raise LayoutError("a sheet writes rows without their numbers (r=\"...\"); open and "
                          "save the file in Excel first")
    return int(r)


def cell_ref(c: etree._Element) -> tuple[int, int]:
    ref = c.get("r")
    if ref is None:
        raise LayoutError("a sheet writes cells without their references (r=\"...\"); open "
                          "and save the file in Excel first")
    return split_ref(ref)


def read_cells(data: bytes, strings: list[str]
               ) -> Iterator[tuple[int, int, Any, Formula | None]]:
    """(row, column, cached value, formula or None) of every cell of a sheet part."""
    columns: dict[str, int] = {}
    for row in iter_rows(data):
        r = row_number(row)
        suffix = str(r)
        digits = len(suffix)
        for c in row.iterchildren(C):
            ref = c.get("r")
            if ref is None or not ref.endswith(suffix):
                _, col = cell_ref(c)   # refused without a reference; elsewhere rare
            else:
                letters = ref[:-digits]
                col = columns.get(letters)
                if col is None:
                    col = columns[letters] = split_ref(ref)[1]
            f_el = v_el = None
            for child in c:
                if child.tag == V:
                    v_el = child
                elif child.tag == F:
                    f_el = child
            if f_el is not None:
                formula = Formula(f_el.text or "", f_el.get("t", "normal"), f_el.get("ref"),
                                  f_el.get("si"))
                yield r, col, None, formula
            else:
                t = c.get("t")
                if v_el is None or t == "inlineStr":   # empty, or an inline string
                    yield r, col, cell_value(c, strings), None
                else:
                    yield r, col, decode(c.get("r"), t, v_el.text, strings), None


class SheetCells(NamedTuple):
    """A sheet's cells as the fast path reads them: input values by column (in the order
    columns first appear), and formulas as runs of rows of one column with the same
    formula, in the order their first cells come."""
    columns: list[tuple[int, list[int], list[Any]]]
    formulas: list[tuple[list[int], int, Formula]]


def read_fast(data: bytes, strings: list[str]) -> SheetCells | None:
    """What ``read_cells`` reads, from the compiled scan (``scan``); None when the fast
    path does not take the part (the caller then uses ``read_cells``)."""
    frame = scan.sheet_frame(data, MAIN)
    if frame is None:
        return None
    try:
        return _sheet_cells(data, frame, strings)
    except (scan.NotFast, LayoutError):   # a bad value: ``read_cells`` says which
        return None


_TYPES = {b"s": "s", b"n": "n", b"str": "str", b"b": "b", b"e": "e"}


def _span(data: bytes, s: int, e: int, flags: int, amp: int, cr: int) -> str:
    return scan.text(data, s, e, bool(flags & amp), bool(flags & cr))


def _sheet_cells(data: bytes, frame: scan.Frame, strings: list[str]) -> SheetCells:
    columns: dict[int, tuple[list[int], list[Any]]] = {}
    runs: list[tuple[list[int], int, Formula]] = []
    current: dict[int, list[int]] = {}
    last_row = 0
    for block in scan.blocks(data, frame):
        cells = block.cells
        rows_seen = cells[:, scan.ROW]
        if len(cells) and (rows_seen[0] < last_row or (np.diff(rows_seen) < 0).any()):
            raise scan.NotFast   # rows out of order: read as written, by lxml
        last_row = int(rows_seen[-1]) if len(cells) else last_row
        has_f = cells[:, scan.F_S] >= 0
        valued = (cells[:, scan.VT_S] >= 0) | ((cells[:, scan.FLAGS] & scan.V_IS) > 0)
        _values(data, cells, np.flatnonzero(~has_f & valued), strings, columns)
        _formulas(data, cells, block.repeat, np.flatnonzero(has_f), runs, current)
    return SheetCells([(c, rows, vals) for c, (rows, vals) in columns.items()], runs)


def _fields(cells: np.ndarray, which: np.ndarray, *fields: int) -> Iterator[tuple]:
    return zip(*(cells[which, k].tolist() for k in fields))


def _values(data: bytes, cells: np.ndarray, which: np.ndarray, strings: list[str],
            columns: dict[int, tuple[list[int], list[Any]]]) -> None:
    for r, col, ts, te, vs, ve, fl in _fields(cells, which, scan.ROW, scan.COL, scan.TV_S,
                                              scan.TV_E, scan.VT_S, scan.VT_E, scan.FLAGS):
        t = None if ts < 0 else (_TYPES.get(data[ts:te]) or data[ts:te].decode())
        if fl & scan.V_IS:   # as cell_value reads <is><t>: only under t="inlineStr"
            v = None if t != "inlineStr" else (
                _span(data, vs, ve, fl, scan.V_AMP, scan.V_CR) if vs >= 0 else "")
        elif t == "inlineStr":
            continue
        else:
            v = decode(None, t, _span(data, vs, ve, fl, scan.V_AMP, scan.V_CR), strings)
        if v is not None:
            rows, values = columns.setdefault(col, ([], []))
            rows.append(r)
            values.append(v)


def _formulas(data: bytes, cells: np.ndarray, repeat: np.ndarray, which: np.ndarray,
              runs: list[tuple[list[int], int, Formula]], current: dict[int, list[int]]
              ) -> None:
    for again, (r, col, fs, fe, ks, ke, rs, re_, ss, se, fl) in zip(
            repeat[which].tolist(), _fields(cells, which, scan.ROW, scan.COL, scan.FT_S,
                                            scan.FT_E, scan.FK_S, scan.FK_E, scan.REF_S,
                                            scan.REF_E, scan.SI_S, scan.SI_E, scan.FLAGS)):
        if again:
            current[col].append(r)
            continue
        f = Formula(_span(data, fs, fe, fl, scan.F_AMP, scan.F_CR) if fs >= 0 else "",
                    data[ks:ke].decode() if ks >= 0 else "normal",
                    data[rs:re_].decode() if rs >= 0 else None,
                    data[ss:se].decode() if ss >= 0 else None)
        rows = [r]
        if ks < 0 and rs < 0 and ss < 0:
            current[col] = rows
        runs.append((rows, col, f))


# ------------------------------------------------------------------ writing values

MAX_TEXT = 32_767   # Excel's limit on the characters of a cell


def value_xml(v: Any) -> tuple[str | None, str | None]:
    """(type attribute, text of <v>) of a cached value."""
    if v is None or v == "":
        return None, None
    if isinstance(v, bool):
        return "b", str(int(v))
    if isinstance(v, (int, float)):
        if v != v or v in (float("inf"), float("-inf")):
            return "e", "#NUM!"
        return None, repr(float(v)) if isinstance(v, float) else str(v)
    s = str(v)
    if s in ERRORS:
        return "e", s
    if len(s) > MAX_TEXT:
        return "e", "#VALUE!"   # what Excel gives a formula whose text outgrows a cell
    return "str", s


def safe_value_xml(v: Any) -> tuple[str | None, str | None]:
    """``value_xml`` with a text's characters XML cannot hold dropped."""
    t, text = value_xml(v)
    return t, (scan.xml_safe(text) if t == "str" else text)


def _set_value(c: etree._Element, v: Any, keep_formula: bool,
               value_xml: Callable = safe_value_xml) -> None:
    f = v_el = None
    for child in list(c):
        tag = child.tag
        if tag == F:
            f = child
        elif tag == V and v_el is None:
            v_el = child
        elif tag == V or tag == IS:
            c.remove(child)
    if f is not None and not keep_formula:
        c.remove(f)
        f = None
        c.attrib.pop("cm", None)
    t, text = value_xml(v)
    if t:
        c.set("t", t)
    elif "t" in c.attrib:
        del c.attrib["t"]
    if text is None:
        if v_el is not None:
            c.remove(v_el)
        return
    if v_el is None:
        v_el = etree.Element(V)
        if f is not None:
            f.addnext(v_el)
        else:
            c.insert(0, v_el)
    v_el.text = text



class SheetValues(NamedTuple):
    """What one sheet gets: the value of a formula cell, and the cells spills fill."""
    formula_value: Callable[[int, int], Any]
    spilled: dict[int, dict[int, Any]]        # row -> {column: value}


def rewrite_sheet(data: bytes, values: SheetValues, keep_formulas: bool) -> bytes:
    """The sheet part with cached values written."""
    return b"".join(sheet_chunks(data, values, keep_formulas))


def sheet_chunks(data: bytes, values: SheetValues, keep_formulas: bool,
                 size: int = 1 << 20, value_xml: Callable = safe_value_xml) -> Iterator[bytes]:
    """The sheet part with cached values written, streamed: each row is parsed, filled
    and serialized by lxml, then dropped; output comes in chunks of about ``size``."""
    out: list[bytes] = []
    pending_bytes = 0
    stream = etree.iterparse(io.BytesIO(data), events=("start", "end"),
                             tag=(SHEET_DATA, ROW), resolve_entities=False, no_network=True,
                             huge_tree=True)
    pending = sorted(values.spilled)   # rows a spill fills, in order
    root = None
    strip = b""

    def new_rows(below: int | None) -> None:
        while pending and (below is None or pending[0] < below):
            r = pending.pop(0)
            out.append(_bytes(_new_row(r, values.spilled[r], keep_formulas, root.nsmap,
                                       value_xml), strip))

    try:
        for event, el in stream:
            if el.tag == SHEET_DATA and event == "start":
                root = el.getparent()
                strip = _declarations(root)
                shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
                head = etree.tostring(shell)
                out.append(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
                           head[:-2] + b">")
                for child in root:
                    if child is el:
                        break
                    out.append(_bytes(child, strip))
                sd = etree.tostring(etree.SubElement(shell, el.tag, dict(el.attrib)))
                sd = _strip(sd, strip)
                out.append(sd[:-2] + b">")
            elif el.tag == SHEET_DATA:
                new_rows(None)
                out.append(b"</" + _qname(el) + b">")
            elif event == "end":
                r = row_number(el)
                new_rows(r)
                if pending and pending[0] == r:
                    pending.pop(0)
                _fill_row(el, r, values, keep_formulas, value_xml)
                out.append(_bytes(el, strip))
                pending_bytes += len(out[-1])
                el.clear(keep_tail=True)
                while el.getprevious() is not None:
                    del el.getparent()[0]
                if pending_bytes >= size:
                    yield b"".join(out)
                    out, pending_bytes = [], 0
    except etree.XMLSyntaxError as e:
        raise LayoutError(f"damaged sheet XML: {e}") from None
    if root is None:
        yield data   # no sheetData: nothing to write into
        return
    after = False
    for child in root:
        if after:
            out.append(_bytes(child, strip))
        after = after or child.tag == SHEET_DATA
    out.append(b"</" + _qname(root) + b">")
    yield b"".join(out)


def _qname(el: etree._Element) -> bytes:
    name = etree.QName(el).localname
    return (f"{el.prefix}:{name}" if el.prefix else name).encode()


def _declarations(root: etree._Element) -> bytes:
    """The namespace declarations lxml repeats on an element serialized alone; the
    written root declares them already, so they are dropped from its children."""
    probe = etree.SubElement(root, q("probe"))
    text = etree.tostring(probe)
    root.remove(probe)
    head = text[:text.index(b" xmlns")] if b" xmlns" in text else text
    return text[len(head):text.rindex(b"/>")]


def _bytes(el: etree._Element, strip: bytes) -> bytes:
    return _strip(etree.tostring(el), strip)


def _strip(text: bytes, strip: bytes) -> bytes:
    if strip:
        cut = text.find(strip)
        if 0 < cut < text.find(b">"):
            text = text[:cut] + text[cut + len(strip):]
    return text


def _fill_row(row: etree._Element, r: int, values: SheetValues, keep_formulas: bool,
              value_xml: Callable = safe_value_xml) -> None:
    spill = values.spilled.get(r)
    value = values.formula_value
    if not spill:   # the common row: only its formula cells change
        for c in [f.getparent() for f in row.iter(F)]:
            _set_value(c, value(r, cell_ref(c)[1]), keep_formulas, value_xml)
        return
    seen = set()
    for c in row.iterchildren(C):
        _, col = cell_ref(c)
        seen.add(col)
        if col in spill:
            _set_value(c, spill[col], keep_formulas, value_xml)
        elif c.find(F) is not None:
            _set_value(c, value(r, col), keep_formulas, value_xml)
    for col in sorted(set(spill) - seen):
        c = _new_cell(r, col, spill[col], keep_formulas, value_xml)
        before = [x for x in row.iterchildren(C) if split_ref(x.get("r"))[1] < col]
        if before:
            before[-1].addnext(c)
        else:
            row.insert(0, c)


def _new_cell(r: int, col: int, v: Any, keep_formulas: bool,
              value_xml: Callable = safe_value_xml) -> etree._Element:
    c = etree.Element(C, r=f"{get_column_letter(col)}{r}")
    _set_value(c, v, keep_formulas, value_xml)
    return c


def _new_row(r: int, cells: dict[int, Any], keep_formulas: bool, nsmap: dict,
             value_xml: Callable = safe_value_xml) -> etree._Element:
    row = etree.Element(ROW, r=str(r), nsmap=nsmap)   # the sheet's prefixes, not lxml's
    for col in sorted(cells):
        row.append(_new_cell(r, col, cells[col], keep_formulas, value_xml))
    return row


def _drop_relationships(data: bytes, targets: tuple[str, ...]) -> bytes:
    root = parse(data)
    for rel in list(root):
        if posixpath.basename(rel.get("Target", "")) in targets:
            root.remove(rel)
    return _document(root)


def _drop_overrides(data: bytes, parts: tuple[str, ...], macro_free: bool) -> bytes:
    root = parse(data)
    for o in list(root.iter(f"{{{TYPES}}}Override")):
        if o.get("PartName", "").lstrip("/") in parts:
            root.remove(o)
        elif macro_free and o.get("ContentType") == \
                "application/vnd.ms-excel.sheet.macroEnabled.main+xml":
            o.set("ContentType", "application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet.main+xml")
    return _document(root)


def _document(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def inject_values(src: str | Path, dst: str | Path, values: dict[str, SheetValues], *,
                  keep_formulas: bool = True, drop_vba: bool = False,
                  when: tuple = FIXED_TIME, level: int = 6, parts: Parts | None = None,
                  fast: frozenset[str] = frozenset(),
                  cell_value: Callable[[str, int, int], Any] | None = None,
                  progress: Callable[[str], None] = lambda s: None) -> None:
    """A copy of ``src`` (its ``parts`` if already read) whose sheets hold ``values``
    ({sheet name: SheetValues}). Sheets are streamed into the archive; deflating runs in
    a second thread while the next rows are filled (zlib releases the GIL). Parts named
    in ``fast`` (``read_fast`` read them) are written by the compiled splice (``scan``)
    unless a spill adds cells to them. With ``cell_value(sheet, row, col)`` the charts'
    cached series are refreshed from the cells they plot."""
    parts = read_parts(src) if parts is None else parts
    names = dict(parts)
    where = sheet_parts(names)
    by_part = {where[s]: (s, v) for s, v in values.items() if s in where}
    dropped = (("xl/vbaProject.bin",) if drop_vba else ()) + \
        (() if keep_formulas else ("xl/calcChain.xml",))
    book = workbook_part(names)
    book_rels = rels_part(book)
    # a values copy holds text as Excel does, in the shared strings (a t="str" cell is a
    # formula's text result, and this copy has no formulas)
    sst = None if keep_formulas else SharedStrings.of(names)
    value_xml = sst.value_xml if sst else safe_value_xml
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            if name in dropped or (sst and name == sst.part):
                continue
            info = zip_info(name, when)
            if name in by_part:
                progress(f"writing {by_part[name][0]}")
                sheet_values = by_part[name][1]
                frame = scan.sheet_frame(data, MAIN) if name in fast and \
                    not sheet_values.spilled else None
                chunks = scan.rewrite(data, frame, sheet_values.formula_value, keep_formulas,
                                      value_xml) if frame else \
                    sheet_chunks(data, sheet_values, keep_formulas, value_xml=value_xml)
                with z.open(info, "w", force_zip64=len(data) > (1 << 30)) as w:
                    _write_behind(chunks, w)
                continue
            if not keep_formulas and name.startswith("xl/tables/") and name.endswith(".xml"):
                data = _table_without_formulas(data)
            if name == book:
                data = fresh_calc(data)
            elif cell_value and name.startswith("xl/charts/chart") and name.endswith(".xml"):
                data = chart_with_values(data, cell_value)
            if name == "[Content_Types].xml" and dropped:
                data = _drop_overrides(data, dropped, drop_vba)
            elif name == book_rels and dropped:
                data = _drop_relationships(data, tuple(posixpath.basename(d) for d in dropped))
            z.writestr(info, data)
        if sst:
            z.writestr(zip_info(sst.part, when), sst.xml())


CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"


def chart_with_values(data: bytes, cell_value: Callable[[str, int, int], Any]) -> bytes:
    """A chart part whose cached series (``numCache``, ``strCache``) hold the values of
    the cells they plot: a file preview, or any viewer that draws from the cache, shows
    the chart as the cells are."""
    root = parse(data)
    for ref in root.iter(f"{{{CHART}}}numRef", f"{{{CHART}}}strRef"):
        f = ref.findtext(f"{{{CHART}}}f")
        cells = _chart_cells(f or "", cell_value)
        if cells is None:
            continue
        numeric = ref.tag.endswith("numRef")
        cache_tag = f"{{{CHART}}}{'numCache' if numeric else 'strCache'}"
        cache = ref.find(cache_tag)
        if cache is None:
            cache = etree.SubElement(ref, cache_tag)
        fmt = cache.find(f"{{{CHART}}}formatCode")
        for child in list(cache):
            if child is not fmt:
                cache.remove(child)
        etree.SubElement(cache, f"{{{CHART}}}ptCount", val=str(len(cells)))
        for i, v in enumerate(cells):
            ok = (isinstance(v, (int, float)) and not isinstance(v, bool)
                  and np.isfinite(v)) if numeric else v not in (None, "")
            if ok:   # no point where a cell has no number: a gap, as Excel draws it
                pt = etree.SubElement(cache, f"{{{CHART}}}pt", idx=str(i))
                etree.SubElement(pt, f"{{{CHART}}}v").text = repr(float(v)) if numeric \
                    else str(v)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _chart_cells(ref: str, cell_value: Callable[[str, int, int], Any]) -> list | None:
    """The values of a chart's one-row or one-column range (``'Sheet'!$A$1:$A$9``)."""
    if "!" not in ref:
        return None
    sheet, cells = ref.rsplit("!", 1)
    sheet = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
    try:
        c0, r0, c1, r1 = range_boundaries(cells.replace("$", ""))
    except (TypeError, ValueError):
        return None
    if c0 is None or r0 is None or (c0 != c1 and r0 != r1):
        return None
    return [cell_value(sheet, r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]


# the calculation engine of current Excel: a file that names an older one is recalculated
# in full when Excel opens it, which would throw the cached values away
EXCEL_CALC_ID = "191029"


def fresh_calc(data: bytes) -> bytes:
    """The workbook part of a copy whose cached values are all current: no
    ``fullCalcOnLoad`` and today's calculation engine, so Excel, a preview or a viewer
    shows the values as they are instead of recomputing on open (which, before the
    add-in's functions are loaded, would turn every HTX_* cell into #NAME?)."""
    root = parse(data)
    calc = root.find(f"{{{MAIN}}}calcPr")
    if calc is None:
        return data
    calc.attrib.pop("fullCalcOnLoad", None)
    calc.set("calcId", EXCEL_CALC_ID)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def stale_calc(data: bytes) -> bytes:
    """The workbook part of a file whose cached values are out of date: Excel recomputes
    it in full on open."""
    root = parse(data)
    calc = root.find(f"{{{MAIN}}}calcPr")
    if calc is None:
        calc = etree.SubElement(root, f"{{{MAIN}}}calcPr")
    calc.set("fullCalcOnLoad", "1")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class SharedStrings:
    """The shared-strings part of a values copy: the source's strings, then each new
    text once."""

    def __init__(self, part: str, data: bytes):
        self.part, self.root = part, parse(data)
        self.index: dict[str, int] = {}
        for k, si in enumerate(self.root.iter(q("si"))):
            t = si.find(T)
            if t is not None and len(si) == 1:
                self.index.setdefault(t.text or "", k)
        self.count = int(self.root.get("count", "0") or 0)
        self.size = len(self.root)

    @classmethod
    def of(cls, parts: dict[str, bytes]) -> "SharedStrings | None":
        path = next((t for k, t in relationships(parts, workbook_part(parts)).values()
                     if k.endswith("/sharedStrings")), None)
        return cls(path, parts[path]) if path in parts else None

    def value_xml(self, v: Any) -> tuple[str | None, str | None]:
        t, text = safe_value_xml(v)
        if t != "str":
            return t, text
        k = self.index.get(text)
        if k is None:
            si = etree.SubElement(self.root, q("si"))
            el = etree.SubElement(si, T)
            el.text = text
            if text != text.strip():
                el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            k = self.index[text] = self.size
            self.size += 1
        self.count += 1
        return "s", str(k)

    def xml(self) -> bytes:
        self.root.set("count", str(self.count))
        self.root.set("uniqueCount", str(self.size))
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8",
                              standalone=True)


def _table_without_formulas(data: bytes) -> bytes:
    """A Table part of a values copy: its calculated-column and totals formulas removed
    (Excel would otherwise offer them again, and a new row would get the formula)."""
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False))
    gone = root.findall(f".//{{{MAIN}}}calculatedColumnFormula") + \
        root.findall(f".//{{{MAIN}}}totalsRowFormula")
    if not gone:
        return data
    for el in gone:
        el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _write_behind(chunks: Iterator[bytes], w: Any) -> None:
    """Write ``chunks`` to ``w`` from a second thread, so compressing one chunk overlaps
    producing the next."""
    import queue
    import threading
    q: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def writer() -> None:
        while (chunk := q.get()) is not None:
            if not failed:
                try:
                    w.write(chunk)
                except BaseException as e:   # reported by the producing thread
                    failed.append(e)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        for chunk in chunks:
            if failed:
                break
            q.put(chunk)
    finally:
        q.put(None)
        t.join()
    if failed:
        raise failed[0]


# ------------------------------------------------------------- reference tables

def _inline(col: int, r: int, v: Any, style: str | None = None) -> etree._Element:
    c = etree.Element(C, r=f"{get_column_letter(col)}{r}")
    if style:
        c.set("s", style)
    if v is None or v == "":
        return c
    if isinstance(v, bool):
        c.set("t", "b")
        etree.SubElement(c, V).text = str(int(v))
    elif isinstance(v, (int, float)):
        etree.SubElement(c, V).text = repr(v)
    else:
        c.set("t", "inlineStr")
        etree.SubElement(etree.SubElement(c, IS), T).text = scan.xml_safe(str(v))
    return c


def replace_tables(parts: Parts, sheet: str, blocks: list[tuple[str, int, list[list[Any]]]],
                   notes: dict[tuple[int, int], str], name: tuple[str, str] | None = None
                   ) -> Parts:
    """Replace the cells of ``sheet`` (a reference sheet of Tables side by side) by
    ``blocks`` — ``(table, first column (1-based), rows with the header first)`` — plus
    ``notes``, and resize each Table to its rows and columns. Header styles are kept.
    ``name``: ``(defined name, range)`` set to the new extent of the tables."""
    d = dict(parts)
    where = sheet_parts(d)
    if sheet not in where:
        raise KeyError(f"no sheet {sheet!r}")
    part = where[sheet]
    root = parse(d[part])
    data_el = root.find(SHEET_DATA)
    header_styles = {}
    for c in data_el.iter(C):
        r, col = cell_ref(c)
        if r == 1 and c.get("s"):
            header_styles[col] = c.get("s")
    data_el.clear()
    by_row: dict[int, list[etree._Element]] = {}
    refs = {}
    for table, first, rows in blocks:
        for r, row in enumerate(rows, start=1):
            by_row.setdefault(r, []).extend(
                _inline(first + j, r, v, header_styles.get(first + j) if r == 1 else None)
                for j, v in enumerate(row))
        refs[table] = (f"{get_column_letter(first)}1:"
                       f"{get_column_letter(first + len(rows[0]) - 1)}{max(len(rows), 2)}",
                       rows[0])
    for (nr, nc), text in sorted(notes.items()):
        by_row.setdefault(nr, []).append(_inline(nc, nr, text))
    for r in sorted(by_row):
        row_el = etree.SubElement(data_el, ROW, r=str(r))
        row_el.extend(sorted(by_row[r], key=lambda c: split_ref(c.get("r"))[1]))
    last_col = max(first + len(rows[0]) - 1 for _, first, rows in blocks)
    last_row = max(max(len(rows), 2) for _, _, rows in blocks)
    for dim in root.iter(q("dimension")):
        dim.set("ref", f"A1:{get_column_letter(last_col)}{last_row}")
    out, found = [], set()
    table_parts = {t for k, t in relationships(d, part).values() if k.endswith("/table")}
    book = workbook_part(d)
    for part_name, data in parts:
        if part_name == part:
            data = _document(root)
        elif part_name in table_parts:
            t = parse(data)
            if t.get("displayName") in refs:
                ref, header = refs[t.get("displayName")]
                _resize_table(t, ref, header)
                data = _document(t)
                found.add(t.get("displayName"))
        elif part_name == book and name is not None:
            data = _set_defined_name(data, *name)
        out.append((part_name, data))
    missing = set(refs) - found
    if missing:
        raise KeyError(f"no table {sorted(missing)[0]!r} on sheet {sheet!r}")
    return out


def _resize_table(t: etree._Element, ref: str, header: list[Any]) -> None:
    """A Table part over ``ref`` whose columns are ``header``."""
    t.set("ref", ref)
    for af in t.iter(q("autoFilter")):
        af.set("ref", ref)
    for cols in t.iter(q("tableColumns")):
        for old in list(cols):
            cols.remove(old)
        cols.set("count", str(len(header)))
        for j, h in enumerate(header, start=1):
            etree.SubElement(cols, q("tableColumn"), id=str(j), name=str(h))


def _set_defined_name(data: bytes, name: str, ref: str) -> bytes:
    """The workbook part with the workbook-scope defined name ``name`` set to ``ref``."""
    root = parse(data)
    for dn in root.iter(q("definedName")):
        if dn.get("name") == name and dn.get("localSheetId") is None:
            dn.text = ref
            return _document(root)
    raise KeyError(f"no defined name {name!r}")
