"""The package itself: its zip parts, their relationships, which part holds which sheet,
and the layout xlhtx reads and writes."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from lxml import etree

from xlhtx.errors import XlhtxError


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


def drop_relationships(data: bytes, targets: tuple[str, ...]) -> bytes:
    root = parse(data)
    for rel in list(root):
        if posixpath.basename(rel.get("Target", "")) in targets:
            root.remove(rel)
    return document(root)


def drop_overrides(data: bytes, parts: tuple[str, ...], macro_free: bool) -> bytes:
    root = parse(data)
    for o in list(root.iter(f"{{{TYPES}}}Override")):
        if o.get("PartName", "").lstrip("/") in parts:
            root.remove(o)
        elif macro_free and o.get("ContentType") == \
                "application/vnd.ms-excel.sheet.macroEnabled.main+xml":
            o.set("ContentType", "application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet.main+xml")
    return document(root)


def document(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
