"""Reading a workbook's cells: shared strings, Tables, defined names and each sheet's
cells, streamed row by row (or found in the bytes by the compiled scan)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
from lxml import etree
from openpyxl.utils import column_index_from_string, range_boundaries

from xlhtx.xlsx import scan
from xlhtx.xlsx.package.parts import (C, ExcelError, F, IS, LayoutError, MAIN, R, ROW, T, V,
                                      parse, q, relationships, sheet_parts, workbook_part)


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
