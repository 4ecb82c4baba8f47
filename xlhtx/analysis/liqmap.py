"""The liquidation map of a positions table: how many contracts' liquidations fall in
each price bucket, for one contract at a time (contracts of different sizes do not add),
split by leverage band for the chart. ``api.liq_map`` (``HTX_LIQMAP``) computes it; this
module chooses the rows and the mark from a table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from xlhtx import api
from xlhtx.coerce import Batch, Categorical
from xlhtx.errors import XlhtxError
from xlhtx.tables.formats import columns
from xlhtx.tables.metrics import position_args, position_columns, row_options


def one_contract(table: pa.Table, contract: str | None, missing_ok: bool = False
                 ) -> pa.Table:
    """The rows of ``contract`` (codes compared as everywhere: case and spaces forgiven;
    ccxt symbols read as HTX's codes); with ``missing_ok`` none is an empty table (a
    partition without the contract), else an error. Without a contract, a table holding
    several is refused: a map adds up contracts, and 0.001 BTC and 100 USD contracts do
    not add."""
    raw = position_columns(table)["contract"]
    if not isinstance(raw, Categorical):   # a text column of a table always is one
        raw = Categorical(*_encoded(list(raw)))
    norm = [str(c).strip().upper() if c is not None else None for c in raw.categories]
    present = [norm[k] for k in np.unique(raw.codes[raw.codes >= 0]).tolist()]
    if contract is not None:
        want = str(contract).strip().upper()
        keep = np.flatnonzero(np.isin(raw.codes, [k for k, c in enumerate(norm) if c == want]))
        if keep.size == 0 and not missing_ok:
            raise XlhtxError(f"--contract {contract}: no position of it in the table "
                             f"(it holds {_listing(present)})")
        return table.take(pa.array(keep, pa.int64()))
    if len({c for c in present if c}) > 1:
        raise XlhtxError(f"the table holds {_listing(present)}: a map adds up contracts of "
                         "one contract; give --contract CODE (one map per contract)")
    return table


def _encoded(values: list) -> tuple[np.ndarray, list]:
    """``values`` as category codes (-1 for empty) and categories."""
    cats: dict[Any, int] = {}
    codes = np.array([-1 if v is None else cats.setdefault(v, len(cats)) for v in values],
                     dtype=np.int64)
    return codes, list(cats)


def _listing(codes: list) -> str:
    held = sorted({c for c in codes if c})
    return ", ".join(held[:6]) + (f" and {len(held) - 6} more" if len(held) > 6 else "")


def past_liquidation(table: pa.Table, tiers: Any) -> tuple[pa.Table, int]:
    """The rows not yet past their liquidation price at their own ``mark_price``, and how
    many are: a map draws where liquidations are still to come, so a long whose
    liquidation price is already above its mark is counted apart, not drawn above it."""
    cols = position_columns(table)
    if cols.get("mark_price") is None:
        return table, 0
    liq = api.liq_price(*position_args(cols), **row_options(cols, tiers))
    b = Batch(side=cols["side"], mark=cols["mark_price"])
    side, mark = b.sides().astype(float), b.floats("mark", default=np.nan)
    past = liq.ok & np.isfinite(mark) & (side * (mark - liq.values) <= 0)
    if not past.any():
        return table, 0
    return table.filter(pa.array(~past)), int(past.sum())


def book_mark(table: pa.Table) -> float | None:
    """The mark a book's own ``mark_price`` column gives its map (their median), if any."""
    cols = columns(table)
    if cols.get("mark_price") is None:
        return None
    marks = Batch(m=cols["mark_price"]).floats("m", default=np.nan)
    marks = marks[np.isfinite(marks) & (marks > 0)]
    return float(np.median(marks)) if marks.size else None


def book_map(table: pa.Table, tiers: Any, price_from: float, price_to: float, step: float,
            mark_price: float | None = None) -> api.LiqMap:
    """The liquidation map of a positions table (``api.liq_map`` on its columns)."""
    cols = position_columns(table)
    return api.liq_map(*position_args(cols), cols.get("margin"), price_from, price_to, step,
                       tiers=tiers, mark_price=mark_price, mode=cols.get("margin_mode"))


# leverage bands of a map's bars, as liquidation maps traders know stack them: (low, high]
LEVERAGE_BANDS = ((0, 10), (10, 25), (25, 50), (50, 100), (100, np.inf))


def leverage_bands(table: pa.Table, tiers: Any, price_from: float, price_to: float,
                   step: float, mark_price: float | None = None) -> list[tuple[str, api.LiqMap]]:
    """The map split by leverage band (``LEVERAGE_BANDS``): a label and a map per band
    that holds positions; the bands' maps add up to the whole map."""
    cols = position_columns(table)
    lev = Batch(lev=cols["leverage"]).floats("lev", default=np.nan)
    out = []
    for lo, hi in LEVERAGE_BANDS:
        rows = (lev > lo) & (lev <= hi)
        if rows.any():
            label = f"over {lo:g}x" if hi == np.inf else f"up to {hi:g}x" if lo == 0 \
                else f"{lo:g}-{hi:g}x"
            out.append((label, book_map(table.filter(pa.array(rows)), tiers, price_from,
                                       price_to, step, mark_price)))
    return out
