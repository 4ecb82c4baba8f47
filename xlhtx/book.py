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
from xlhtx import api

REQUIRED = ("contract", "side", "contracts", "entry_price", "leverage")
OPTIONAL = ("margin", "mark_price", "margin_mode")
OUTPUTS = ("notional", "initial_margin", "tier", "adjust_factor", "mmr", "maint_margin",
           "liq_price", "bankruptcy_price")
MARK_OUTPUTS = ("pnl", "roe", "equity", "margin_ratio", "distance_to_liq")


def compute(cols: dict[str, Any], tiers: Any = None) -> dict[str, Any]:
    """Output columns (float64 arrays) plus ``status``: empty, or why a row has no number.

    Without ``mark_price`` the value and maintenance margin are taken at entry and the
    mark-dependent columns are left out.
    """
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise api.ArgError(f"positions: missing column(s) {', '.join(missing)}; required: "
                           f"{', '.join(REQUIRED)}")
    t = api.resolve_tiers(tiers)
    c, side, q, e, lev = (cols[k] for k in REQUIRED)
    margin, mode = cols.get("margin"), cols.get("margin_mode")
    mark = cols.get("mark_price")
    price = mark if mark is not None else e
    tier = api.tier(c, lev, q, mode, t)
    res = {
        "notional": api.notional(c, q, price, t),
        "initial_margin": api.initial_margin(c, q, e, lev, t),
        "tier": tier["ladder"],
        "adjust_factor": tier["adjust_factor"],
        "mmr": tier["mmr"],
        "maint_margin": api.maint_margin(c, q, price, lev, mode, t),
        "liq_price": api.liq_price(c, side, q, e, lev, margin, t, mode),
        "bankruptcy_price": api.bankruptcy_price(c, side, q, e, lev, margin, t),
    }
    if mark is not None:
        mr = api.margin_ratio(c, side, q, e, mark, lev, margin, t, mode)
        res["pnl"] = api.pnl(c, side, q, e, mark, t)
        res["roe"] = api.roe(c, side, q, e, mark, lev, t)
        res["equity"] = mr["equity"]
        res["margin_ratio"] = mr["margin_ratio"]
        res["distance_to_liq"] = distance_to_liq(res["liq_price"], side, mark)
    out: dict[str, Any] = {k: r.values for k, r in res.items()}
    out["status"] = row_status(list(res.values()))
    return out


def distance_to_liq(liq: api.Result, side: Any, mark: Any) -> api.Result:
    """How far the mark may move against the position before liquidation, as a fraction
    of the mark: ``s * (mark - liq) / mark`` (negative: already past it)."""
    b = api.Batch(side=side, mark=mark, liq=liq.values)
    m, s = b.floats("mark"), b.sides()
    with np.errstate(invalid="ignore", divide="ignore"):
        d = s * (m - b.floats("liq")) / m
    return liq.alike(d)


def row_status(results: list[api.Result]) -> list[str]:
    """Per row, the first message of any result that has no number (empty when all OK)."""
    n = len(results[0])
    out = [""] * n
    for r in results:
        for i in np.flatnonzero((r.status != st.OK) & (r.status != api.EMPTY)):
            if not out[i]:
                out[i] = r.messages.get(int(i), "")
    return out
