"""Recalculating workbooks without Excel, with the add-in's own Excel functions.

``xlhtx.xlsx.recalc`` knows workbooks and formulas but not which functions ``HTX_*``
names mean; this module hands it ``xlhtx.excel.udfs.FUNCTIONS``, the same functions Excel
calls, so a headless recalculation shows what Excel would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlhtx.excel import udfs
from xlhtx.xlsx import recalc as _recalc

RecalcError = _recalc.RecalcError
FUNCTIONS = _recalc.ExcelFunctions(udfs.FUNCTIONS, udfs.ROW_WISE, udfs.TABLE_ARGUMENTS)


def recalc(book: str | Path, out: str | Path | None = None, **options: Any) -> Path:
    """Recalculate ``book`` into a copy with cached values (see ``xlhtx.xlsx.recalc``)."""
    return _recalc.recalc(book, out, functions=FUNCTIONS, **options)


def build_template(out: str | Path, **options: Any) -> Path:
    """The template at ``out`` (``xlhtx.xlsx.template.build``), its cells holding the
    values its formulas compute: any viewer, Excel before Import Functions included,
    shows the numbers."""
    from xlhtx.xlsx import template
    book = template.build(out, **options)
    return recalc(book, in_place=True)


def build_values_copy(out: str | Path, **options: Any) -> Path:
    """The values copy at ``out`` (``.xlsx``): the template's sheets with values only —
    no formulas, no VBA project, no xlwings.conf sheet, a Guide for a values file."""
    import tempfile
    from xlhtx.xlsx import template
    with tempfile.TemporaryDirectory() as d:
        src = template.build(Path(d) / "values-source.xlsx", for_values=True, **options)
        return recalc(src, out, values_only=True)


def workbook_model(book: str | Path, **options: Any) -> _recalc.WorkbookModel:
    """A workbook's formulas, ready to calculate (``WorkbookModel.calculate()``)."""
    return _recalc.WorkbookModel(book, FUNCTIONS, **options)
