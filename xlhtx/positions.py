"""HTX position responses -> a positions table, with our liquidation price beside HTX's.

Reads ``swap_position_info`` / ``swap_cross_position_info`` (data: a list of positions)
and ``swap_account_position_info`` (data: accounts, each with ``positions`` and the
account's ``liquidation_price``). Fields used (HTX API reference): ``contract_code``,
``direction`` (buy/sell), ``volume``, ``cost_open``, ``lever_rate``, ``position_margin``,
``last_price``, ``margin_mode``, ``liquidation_price``.
"""

from __future__ import annotations

from typing import Any

from xlhtx import api
from xlhtx.reference.tables import TableError, api_data

COLUMNS = ("contract", "side", "margin_mode", "leverage", "contracts", "entry_price",
           "mark_price", "margin", "htx_liq_price")


def parse_positions(payload: Any) -> dict[str, list]:
    """Columns of a positions table from an HTX position response."""
    rows: list[dict] = []
    for item in api_data(payload, "positions"):
        if not isinstance(item, dict):
            raise TableError("positions: every entry of data must be an object")
        if isinstance(item.get("positions"), list):  # account shape
            for p in item["positions"]:
                rows.append(dict(p, liquidation_price=p.get("liquidation_price",
                                                            item.get("liquidation_price"))))
        else:
            rows.append(item)
    out: dict[str, list] = {c: [] for c in COLUMNS}
    for p in rows:
        out["contract"].append(p.get("contract_code"))
        out["side"].append({"buy": "long", "sell": "short"}.get(str(p.get("direction")).lower(),
                                                                p.get("direction")))
        out["margin_mode"].append(p.get("margin_mode") or "isolated")
        out["leverage"].append(_num(p.get("lever_rate")))
        out["contracts"].append(_num(p.get("volume")))
        out["entry_price"].append(_num(p.get("cost_open")))
        out["mark_price"].append(_num(p.get("last_price")))
        out["margin"].append(_num(p.get("position_margin")))
        out["htx_liq_price"].append(_num(p.get("liquidation_price")))
    return out


def _num(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def compare(cols: dict[str, list], tiers: Any = None) -> dict[str, list]:
    """Our isolated liquidation price beside HTX's, the difference and the reason when
    ours has no number (cross positions need the account: see HTX_CROSSLIQPRICE)."""
    liq = api.liq_price(cols["contract"], cols["side"], cols["contracts"], cols["entry_price"],
                        cols["leverage"], cols["margin"], tiers, cols["margin_mode"])
    ours = [v if isinstance(v, float) else None for v in liq.to_list()]
    diff = [None if a is None or b is None else a - b
            for a, b in zip(ours, cols["htx_liq_price"])]
    status = [liq.messages.get(i, "") for i in range(len(ours))]
    return {**cols, "liq_price": ours, "liq_price_diff": diff, "status": status}
