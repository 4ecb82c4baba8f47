"""Refreshing the reference Tables of a workbook in place (the template itself is written
by XlsxWriter)."""

from __future__ import annotations

from typing import Any

from lxml import etree
from openpyxl.utils import get_column_letter

from xlhtx.xlsx import scan
from xlhtx.xlsx.package.parts import (C, IS, Parts, ROW, SHEET_DATA, T, V, document, parse, q,
                                      relationships, sheet_parts, workbook_part)
from xlhtx.xlsx.package.reading import cell_ref, split_ref


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
            data = document(root)
        elif part_name in table_parts:
            t = parse(data)
            if t.get("displayName") in refs:
                ref, header = refs[t.get("displayName")]
                _resize_table(t, ref, header)
                data = document(t)
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
            return document(root)
    raise KeyError(f"no defined name {name!r}")
