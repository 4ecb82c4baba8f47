"""Chart parts: their cached series refreshed from the cells they plot."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from lxml import etree
from openpyxl.utils import range_boundaries

from xlhtx.xlsx.package.parts import parse


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
                    else label(v)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def label(v: Any) -> str:
    """A category cell as text, as Excel caches it: 25000, not 25000.0."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


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
