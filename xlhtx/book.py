"""A positions table in, every metric per position out (the engine of ``xlhtx calc``,
the demo and the workbook's Positions sheet when recalculated headless).

Input columns: ``contract, side, contracts, entry_price, leverage`` and optional
``margin, mark_price, margin_mode``. Columns may be lists, NumPy arrays or
``coerce.Categorical`` (text columns of a large table).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from htxcore import status as st
from htxcore.book import Metrics, MetricStatus, metrics_nb
from xlhtx import api
from xlhtx.messages import NO_NUMBER, Wording

NAN = float("nan")

REQUIRED = ("contract", "side", "contracts", "entry_price", "leverage")
OPTIONAL = ("margin", "mark_price", "margin_mode")
OUTPUTS = ("notional", "initial_margin", "tier", "adjust_factor", "mmr", "maint_margin",
           "liq_price", "bankruptcy_price")
MARK_OUTPUTS = ("pnl", "roe", "equity", "margin_ratio", "distance_to_liq")


def compute(cols: dict[str, Any], tiers: Any = None) -> dict[str, Any]:
    """Output columns (float64 arrays) plus ``status``: empty, or why a row has no number.

    One coercion of the columns and one kernel pass (``htxcore.book.metrics_nb``).
    Without ``mark_price`` the value and maintenance margin are taken at entry and the
    mark-dependent columns are left out.
    """
    require_columns(cols)
    t = api.resolve_tiers(tiers)
    has_mark = cols.get("mark_price") is not None
    b = api.Batch(contract=cols["contract"], side=cols["side"], contracts=cols["contracts"],
                  entry_price=cols["entry_price"], leverage=cols["leverage"],
                  margin=cols.get("margin"), mode=cols.get("margin_mode"),
                  mark_price=cols["mark_price"] if has_mark else None)
    b.mark_empty(*("contract", "side", "contracts", "entry_price", "leverage"))
    t = t.resolving(b.texts())
    n = b.n
    out = Metrics(*(np.empty(n) for _ in Metrics._fields))
    status = MetricStatus(*(np.empty(n, dtype=np.int8) for _ in MetricStatus._fields))
    mark = b.floats("mark_price", default=NAN) if has_mark else np.full(n, NAN)
    metrics_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
               b.floats("entry_price"), mark, b.whole("leverage"),
               b.floats("margin", default=NAN), out, status)
    of = {"liq_price": status.liq, "distance_to_liq": status.liq,
          "bankruptcy_price": status.bankruptcy, "pnl": status.mark, "roe": status.mark,
          "equity": status.mark, "margin_ratio": status.ratio}
    unread = np.zeros(n, dtype=bool)
    unread[list(b.errors)] = True
    names = OUTPUTS + (MARK_OUTPUTS if has_mark else ())
    result: dict[str, Any] = {
        k: np.where((of.get(k, status.base) == st.OK) & ~unread, getattr(out, k), NAN)
        for k in names}
    checked = [status.base, status.liq, status.bankruptcy] + (
        [status.mark, status.ratio] if has_mark else [])
    result["status"] = row_status(b, checked, unread, t)
    return result


def require_columns(keys: Any, where: str = "positions") -> None:
    """Refuse a positions table without the columns every computation needs."""
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        raise api.ArgError(f"{where}: missing column(s) {', '.join(missing)}; required: "
                           f"{', '.join(REQUIRED)}")


def row_status(b: api.Batch, statuses: list[np.ndarray], unread: np.ndarray,
               table: Any) -> list[str]:
    """Per row, why it lacks a number: the value that could not be read, else the first
    status that is not OK, in words (one message per row); empty when all is well."""
    code = np.zeros(b.n, dtype=np.int16)
    for s in reversed(statuses):
        code = np.where(s != st.OK, s, code)
    out = np.full(b.n, "", dtype=object)
    # results without a number ("no liquidation", "liquidated") read the same on every row
    for c, text in NO_NUMBER.items():
        out[(code == c) & ~unread] = text
    rest = (unread | ((code != st.OK) & ~np.isin(code, list(NO_NUMBER)))) & ~b.empty_mask()
    for i, text in b.errors.items():
        if rest[i]:
            out[i] = text
    rest[list(b.errors)] = False
    words = Wording(b, table)
    for c in np.unique(code[rest]).tolist():
        rows = np.flatnonzero(rest & (code == c))
        out[rows] = words.rows(c, rows)
    return out.tolist()
