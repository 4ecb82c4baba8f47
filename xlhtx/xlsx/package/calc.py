"""The workbook part's calculation settings: fresh values (no recompute on open) or stale
ones."""

from __future__ import annotations

from lxml import etree

from xlhtx.xlsx.package.parts import MAIN, parse


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
