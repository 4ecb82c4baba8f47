"""Positions books held by handle. ``HTX_BOOK`` takes a book's columns once and gives a
short handle (``book 3f9a…: 100,000 positions``); ``HTX_BOOKCOLUMN`` reads one output
column of it by that handle. A workbook with fifteen output columns over a big book
then sends the book to Python once per recalculation, not fifteen times (for the
Office.js add-in, once over the network), and every metric of the book comes from one
kernel pass (``metrics.compute_rows``), computed when the first column is asked for.

The handle is the hash of the book's cells and its tier table, so an edited book gets a
new one and the cells reading it recompute. Books are held in memory, the last few.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from htxcore import status as st
from xlhtx import api
from xlhtx.errors import XlhtxError
from xlhtx.statuses import EMPTY, TABLE as STATUSES
from xlhtx.tables.metrics import MARK_OUTPUTS, OUTPUTS, Rows, compute_rows

CACHE_SIZE = 8
HANDLE = re.compile(r"^book ([0-9a-f]{16})\b")
COLUMNS = OUTPUTS + MARK_OUTPUTS + ("status",)


@dataclass
class Book:
    cols: dict[str, Any]
    tiers: Any
    n: int
    result: tuple[dict[str, Any], Rows] | None = None

    def computed(self) -> tuple[dict[str, Any], Rows]:
        if self.result is None:   # every column of the book in one pass, on first use
            self.result = compute_rows(self.cols, self.tiers, cross="position")
        return self.result


_BOOKS: OrderedDict[str, Book] = OrderedDict()


def book(contract, side, contracts, entry_price, leverage, *, mark_price=None, margin=None,
         mode=None, tiers=None) -> str:
    """A handle naming the book (``HTX_BOOK``); its columns are read with
    ``book_column``. Each position is computed as the per-position functions compute it
    (a cross row on its mode's tiers)."""
    cols = {"contract": contract, "side": side, "contracts": contracts,
            "entry_price": entry_price, "leverage": leverage, "mark_price": mark_price,
            "margin": margin, "margin_mode": mode}
    n = api.Batch(**{k: v for k, v in cols.items() if v is not None}).n
    digest = hashlib.blake2b(pickle.dumps((cols, tiers), protocol=5),
                             digest_size=8).hexdigest()
    if digest not in _BOOKS:
        _BOOKS[digest] = Book(cols, tiers, n)
    _BOOKS.move_to_end(digest)
    while len(_BOOKS) > CACHE_SIZE:
        _BOOKS.popitem(last=False)
    return f"book {digest}: {n:,} position{'s' if n != 1 else ''}"


def book_column(book: Any, column: Any) -> api.Result:
    """Column ``column`` of the book named by handle ``book`` (``HTX_BOOKCOLUMN``): a
    number per position, or the row's words where it has none; ``status`` is the status
    word of every row (ok, warning, past liquidation, no liquidation, error: ...)."""
    held = _held(_one(book))
    column = _one(column)
    name = str(column).strip().lower() if column is not None else ""
    if name not in COLUMNS:
        raise XlhtxError(f"column = {column!r}: one of {', '.join(COLUMNS)}")
    result, rows = held.computed()
    if name not in result:
        raise XlhtxError(f"column = {name!r}: the book has no mark_price, so it has no "
                         f"{name}; give mark_col to HTX_BOOK")
    if name == "status":
        return api.TextResult(result["status"], np.zeros(held.n, dtype=np.int16), {})
    values = np.asarray(result[name], dtype=float).copy()
    number = ~np.isnan(values)   # +inf is a margin ratio with no equity left
    # a row with no number and no error: n/a for an adjustment factor (risk-limit tiers
    # have none), else nothing to show
    quiet = st.NOT_APPLICABLE if name == "adjust_factor" else EMPTY
    status = np.where(number, st.OK, np.where(rows.codes != st.OK, rows.codes, quiet))
    messages = {i: rows.messages.get(i) or STATUSES[int(status[i])].words
                for i in np.flatnonzero(~number & (status != EMPTY)).tolist()}
    values[~number] = np.nan
    return api.Result(values, status.astype(np.int16), messages)


def _one(v: Any) -> Any:
    """A single cell's value, however the spreadsheet wrapped it (a 1 x 1 range)."""
    while isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    return v


def _held(handle: Any) -> Book:
    m = HANDLE.match(str(handle).strip()) if handle is not None else None
    if m is None:
        raise XlhtxError(f"book = {handle!r}: give the cell holding HTX_BOOK's handle "
                         "(book …: N positions)")
    held = _BOOKS.get(m.group(1))
    if held is None:
        raise XlhtxError(f"book {m.group(1)} is not loaded (Python restarted since it was "
                         "made): recalculate the workbook (Ctrl+Alt+F9) so HTX_BOOK sends it "
                         "again")
    return held
