"""Cells in and out of the Excel functions for the add-ins beyond xlwings: a value or a
range as the rows xlwings hands an Excel function (its arguments are declared
``ndim=2``), the function called, its result as rows of numbers and texts.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Any

EMPTY = None


def as_rows(value: Any) -> list[list[Any]]:
    """An argument (one value, or rows of values with None for an empty cell) as
    xlwings' 2-D read gives it to an Excel function."""
    if isinstance(value, (tuple, list)):
        rows = [list(r) if isinstance(r, (tuple, list)) else [r] for r in value]
        return [[_cell(v) for v in r] for r in rows] or [[EMPTY]]
    return [[_cell(value)]]


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (int, float, str)):
        return v
    return str(v)   # anything else a spreadsheet might hand over reads as its text


def as_table(result: Any) -> tuple[tuple[Any, ...], ...]:
    """An Excel function's result as rows of numbers and texts, every row as long as the
    longest, an empty cell an empty text; one value is one row of one, which a cell shows
    as the value."""
    if not isinstance(result, (list, tuple)):
        return ((_shown(result),),)
    if set(map(type, result)) <= {list, tuple} and len(set(map(len, result))) == 1 and \
            set(map(type, chain.from_iterable(result))) <= {float, str}:
        return tuple(map(tuple, result))   # a column of numbers and texts, as it is
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in result]
    width = max((len(r) for r in rows), default=1)
    return tuple(tuple(_shown(v) for v in r + [""] * (width - len(r))) for r in rows) \
        or (("",),)


def _shown(v: Any) -> Any:
    if v is None:
        return ""
    return float(v) if isinstance(v, (int, float)) else str(v)   # a bool is an int


def array_size(v: Any) -> tuple[int, int] | None:
    """``"29x7"`` -> (29, 7); anything else, None."""
    m = re.fullmatch(r"\s*(\d{1,7})\s*[xX*]\s*(\d{1,5})\s*", v) if isinstance(v, str) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def padded(rows: tuple, size: tuple[int, int] | None) -> tuple:
    """``rows`` filled out with empty texts to ``size`` (never cut: the spreadsheet shows
    what fits)."""
    if size is None:
        return rows
    height, width = max(size[0], len(rows)), max(size[1], len(rows[0]) if rows else 0)
    return tuple(tuple(r) + ("",) * (width - len(r)) for r in rows) + \
        (("",) * width,) * (height - len(rows))


def called(name: str, args: list) -> tuple:
    """Excel function ``name`` on ``args`` as xlwings hands them over (rows, or None for
    an argument left out), its result as rows; a call that fails is one row holding its
    message, the text xlwings puts in an Excel cell."""
    from xlhtx.errors import CellError
    from xlhtx.excel import udfs
    try:
        out = udfs.FUNCTIONS[name](*args)
    except CellError as e:
        return ((str(e),),)
    except Exception as e:   # a defect of ours: its one line in the cell, not a bare #VALUE!
        return ((f"#VALUE! xlhtx failed ({type(e).__name__}: {str(e)[:200]}); please "
                 "report it",),)
    return as_table(out)
