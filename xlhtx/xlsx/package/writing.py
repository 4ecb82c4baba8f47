"""Writing cached values into a copy (``inject_values``): one streaming pass per sheet,
formulas kept or dropped, text of a values copy in the shared strings; every other part
copied byte for byte."""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

from lxml import etree
from openpyxl.utils import get_column_letter

from xlhtx.xlsx import scan
from xlhtx.xlsx.package.calc import fresh_calc
from xlhtx.xlsx.package.charts import chart_with_values
from xlhtx.xlsx.package.parts import (C, ERRORS, F, FIXED_TIME, IS, LayoutError, MAIN, Parts,
                                      ROW, SHEET_DATA, T, V, drop_overrides,
                                      drop_relationships, parse, q, read_parts, relationships,
                                      rels_part, sheet_parts, workbook_part, zip_info)
from xlhtx.xlsx.package.reading import cell_ref, row_number, split_ref


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
                data = drop_overrides(data, dropped, drop_vba)
            elif name == book_rels and dropped:
                data = drop_relationships(data, tuple(posixpath.basename(d) for d in dropped))
            z.writestr(info, data)
        if sst:
            z.writestr(zip_info(sst.part, when), sst.xml())


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
