"""HTX's new USDT-M system (v5 API, 2026): position and account responses -> our figures
beside HTX's (docs/maths.md "HTX's USDT-M system since 2026").

Reads, alone or several files of one moment together:

* positions: ``GET /v5/trade/position/opens`` (``{"code": 200, "data": [...]}``) or the
  websocket ``positions`` push (``{"op": "notify", "topic": "positions", ...}``): per
  position ``contract_code, position_side, direction, margin_mode, open_avg_price,
  volume, lever_rate, initial_margin, maintenance_margin, margin_rate,
  liquidation_price, mark_price, profit_unreal``;
* the account: ``GET /v5/account/balance`` or the websocket ``account`` push: ``equity``
  (single-asset: wallet + unrealized PnL; multi-assets: collateral at its rates),
  ``maintenance_margin``, ``maintenance_margin_rate``, ``details`` per currency.

Rules (HTX's own numbers reproduce them): the figures of a position are at the mark its
``initial_margin * lever_rate / (volume * size)`` gives (a push may carry a later
``mark_price``); the MMR is HTX's, ``maintenance_margin / (mark * volume * size)`` (as
the legacy import takes HTX's ``adjust_factor``); a cross position's equity is the
account's ``equity``, else ``maintenance_margin / margin_rate`` (said so); the
liquidation price solves equity = maintenance margin with the contract's price moving
and the other positions held (``htxcore.account``), and HTX's root is kept even when it
is negative, which means no liquidation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from xlhtx import api
from xlhtx.errors import XlhtxError
from xlhtx.htx.v1 import htx_number   # HTX's numbers-as-text, read one way
from xlhtx.reference.contracts import Contract
from xlhtx.reference.tables import TableError
from xlhtx.reference.tiers import RISK_LIMIT, TierTable

COLUMNS = ("margin_account", "margin_mode", "contract", "side", "position_side", "contracts",
           "contract_size", "entry_price", "mark_price", "leverage", "mmr", "table_mmr",
           "initial_margin", "htx_initial_margin", "maintenance_margin",
           "htx_maintenance_margin", "margin_ratio", "htx_margin_rate", "liq_price",
           "htx_liq_price", "liq_root", "htx_liq_root", "liq_root_diff", "account_equity",
           "account_margin_ratio", "htx_account_margin_ratio", "status")
TEXT_COLUMNS = ("margin_account", "margin_mode", "contract", "side", "position_side", "status")
# relative slack for "HTX's figures agree": its amounts are printed to 10-18 digits
AGREE = 1e-9


@dataclass
class Position:
    contract: str
    side: int                    # +1 long, -1 short
    position_side: str           # both / long / short
    mode: str                    # cross / isolated
    volume: float
    entry: float
    mark: float | None
    lever: float
    im: float | None
    mm: float | None
    margin_rate: float | None
    liq: float | None
    pnl: float | None
    currency: str = "USDT"


@dataclass
class Moment:
    """What the files of one moment hold: positions and at most one account."""

    positions: list[Position] = field(default_factory=list)
    account: dict | None = None


def is_v5(payload: Any) -> bool:
    """A v5 response or push (positions or account)."""
    if not isinstance(payload, dict):
        return False
    if payload.get("op") == "notify" and payload.get("topic") in ("positions", "account"):
        return True
    data = payload.get("data")
    if isinstance(data, dict):
        return isinstance(data.get("details"), list) and "equity" in data
    return bool(isinstance(data, list) and data and isinstance(data[0], dict)
                and ("open_avg_price" in data[0] or "position_side" in data[0]))


def read(moment: Moment, payload: dict, name: str) -> None:
    """Add one file's positions or account to ``moment``."""
    data = payload.get("data")
    if isinstance(data, dict):
        if moment.account is not None:
            raise TableError(f"{name}: a second account response; give one account per "
                             "import (files of one moment)")
        moment.account = data
        return
    if not isinstance(data, list):
        raise TableError(f"{name}: no data list of positions")
    for n, p in enumerate(data, start=1):
        if not isinstance(p, dict):
            raise TableError(f"{name}: position {n} is not an object")
        moment.positions.append(_position(p, f"{name}: position {n}"))


def _position(p: dict, where: str) -> Position:
    code = p.get("contract_code")
    if not isinstance(code, str) or not code.strip():
        raise TableError(f"{where}: no contract_code")
    direction = str(p.get("direction") or "").strip().lower()
    pside = str(p.get("position_side") or "both").strip().lower()
    side = {"buy": 1, "sell": -1}.get(direction) or {"long": 1, "short": -1}.get(pside)
    if side is None:
        raise TableError(f"{where}: direction {p.get('direction')!r} / position_side "
                         f"{p.get('position_side')!r}; expected buy/sell or long/short")
    mode = str(p.get("margin_mode") or "cross").strip().lower()
    if mode not in ("cross", "isolated"):
        raise TableError(f"{where}: margin_mode {p.get('margin_mode')!r}; expected cross or "
                         "isolated")
    volume, entry, lever = (htx_number(p.get(k))
                            for k in ("volume", "open_avg_price", "lever_rate"))
    for k, v in (("volume", volume), ("open_avg_price", entry), ("lever_rate", lever)):
        if v is None or not v > 0:
            raise TableError(f"{where}: {k} = {p.get(k)!r}; a number > 0 is required")
    return Position(code.strip().upper(), side, pside, mode, volume, entry,
                    htx_number(p.get("mark_price")), lever, htx_number(p.get("initial_margin")),
                    htx_number(p.get("maintenance_margin")), htx_number(p.get("margin_rate")),
                    htx_number(p.get("liquidation_price")), htx_number(p.get("profit_unreal")),
                    str(p.get("margin_currency") or "USDT").upper())


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=AGREE)


# ------------------------------------------------------------------------ computing


@dataclass
class Leg:
    """A position made ready for the account kernel."""

    pos: Position
    size: float                  # contract size used
    mark: float                  # the mark HTX's figures are at
    mmr: float                   # HTX's, from its maintenance margin
    table_mmr: float | None
    notes: list[str] = field(default_factory=list)


def _leg(p: Position, table: TierTable) -> Leg:
    notes: list[str] = []
    known = table.contract(p.contract)
    # the value HTX margined: IM * L = mark * qty, and PnL = s * qty * (mark - entry)
    implied_qty = None
    if p.im is not None and p.pnl is not None:
        implied_qty = (p.im * p.lever - p.side * p.pnl) / p.entry
    if known is not None:
        size = known.size
        if implied_qty is not None and not math.isclose(implied_qty, p.volume * size,
                                                        rel_tol=1e-6):
            notes.append(f"contract size: HTX's initial_margin and profit_unreal imply "
                         f"{implied_qty / p.volume:.10g} per contract, the table has "
                         f"{size:g}; give the right one with --contracts")
    elif implied_qty is not None and implied_qty > 0:
        size = implied_qty / p.volume
        notes.append(f"contract size {size:.10g} implied by HTX's initial_margin, lever_rate "
                     "and profit_unreal (not in the tier table; --contracts gives it)")
    else:
        raise XlhtxError(f"contract {p.contract}: no contract size known; give it with "
                         "--contracts FILE (columns contract_code, contract_size)")
    qty = p.volume * size
    mark = p.mark
    if p.im is not None:
        at = p.im * p.lever / qty
        if mark is None or not _close(at, mark):
            if mark is not None:
                notes.append(f"HTX's figures are at mark {at:.12g} (initial_margin x "
                             f"lever_rate / size); the response's mark_price {mark:.12g} "
                             "is later")
            mark = at
    if mark is None:
        raise XlhtxError(f"{p.contract}: neither mark_price nor initial_margin; cannot price it")
    mmr = p.mm / (mark * qty) if p.mm is not None else math.nan
    table_mmr = None
    if known is not None and table.systems.get(known.code) == RISK_LIMIT:
        t = api.tier(p.contract, p.lever, p.volume, mode=p.mode, tiers=table)
        table_mmr = float(t["mmr"].values[0]) if t["mmr"].ok[0] else None
    if math.isnan(mmr):
        if table_mmr is None:
            raise XlhtxError(f"{p.contract}: no maintenance_margin in the response and no "
                             "risk-limit tier for it in the table")
        mmr = table_mmr
        notes.append("MMR from the tier table (the response has no maintenance_margin)")
    elif table_mmr is not None and not _close(mmr, table_mmr):
        notes.append(f"the tier table's MMR {table_mmr:g} differs from HTX's {mmr:.6g} "
                     "(HTX's used)")
    return Leg(p, size, mark, mmr, table_mmr, notes)


def compare(moment: Moment, tiers: TierTable) -> dict[str, list]:
    """One row per position: its figures computed as HTX's new system does, HTX's beside."""
    if not moment.positions:
        raise XlhtxError(_no_positions(moment.account))
    seen = set()
    for p in moment.positions:
        key = (p.contract, p.mode, p.side, p.position_side)
        if key in seen:
            raise TableError(f"positions: {p.contract} {p.mode} {p.position_side} appears "
                             "twice; HTX lists each position once (was a file given twice?)")
        seen.add(key)
    legs = [_leg(p, tiers) for p in moment.positions]
    table = tiers.with_contracts({g.pos.contract: Contract(g.pos.contract, "linear", g.size)
                                  for g in legs if tiers.contract(g.pos.contract) is None})
    # accounts: the cross positions of one margin currency together, each isolated alone
    groups: dict[tuple, list[int]] = {}
    for i, g in enumerate(legs):
        key = ("cross", g.pos.currency) if g.pos.mode == "cross" else ("isolated", i)
        groups.setdefault(key, []).append(i)
    acc = moment.account or {}
    htx_ratio = htx_number(acc.get("maintenance_margin_rate"))
    out: dict[str, list] = {c: [] for c in COLUMNS}
    rows: list[dict] = [{} for _ in legs]
    for (mode, key), members in groups.items():
        equity, how = _equity(mode, [legs[i] for i in members], acc)
        _compute(legs, members, mode, equity, how, table, rows)
        name = f"{legs[members[0]].pos.currency} cross" if mode == "cross" else \
            f"{legs[members[0]].pos.contract} {legs[members[0]].pos.position_side} isolated"
        for i in members:
            rows[i]["margin_account"] = name
            rows[i]["htx_account_margin_ratio"] = htx_ratio if mode == "cross" else None
    for g, row in zip(legs, rows):
        p = g.pos
        qty = p.volume * g.size
        liq_root, htx_root = row.get("liq_root"), p.liq
        row.update({
            "margin_mode": p.mode, "contract": p.contract, "side": "long" if p.side > 0
            else "short", "position_side": p.position_side, "contracts": p.volume,
            "contract_size": g.size, "entry_price": p.entry, "mark_price": g.mark,
            "leverage": p.lever, "mmr": g.mmr, "table_mmr": g.table_mmr,
            "initial_margin": g.mark * qty / p.lever, "htx_initial_margin": p.im,
            "maintenance_margin": g.mmr * g.mark * qty, "htx_maintenance_margin": p.mm,
            "htx_margin_rate": p.margin_rate,
            "htx_liq_price": htx_root if htx_root is not None and htx_root > 0 else None,
            "htx_liq_root": htx_root,
            "liq_root_diff": None if liq_root is None or htx_root is None
            else liq_root - htx_root,
            "status": "; ".join(filter(None, [row.get("status", ""), *g.notes])),
        })
        for c in COLUMNS:
            out[c].append(row.get(c))
    return out


def _no_positions(account: dict | None) -> str:
    if account is None:
        return "no positions in the files given"
    eq = account.get("equity")
    return (f"the files hold an account (equity {eq}) but no positions: a liquidation "
            "price needs the positions too; give the positions response of the same moment "
            "(GET /v5/trade/position/opens or the 'positions' push) with it")


def _equity(mode: str, legs: list[Leg], account: dict) -> tuple[float, str]:
    """The equity the account's positions are measured against, and where it came from."""
    if mode == "cross" and htx_number(account.get("equity")) is not None:
        return htx_number(account["equity"]), ""
    implied = [g.pos.mm / g.pos.margin_rate for g in legs
               if g.pos.mm is not None and g.pos.margin_rate]
    if not implied:
        raise XlhtxError(f"{legs[0].pos.contract} {mode}: no account equity: give the account "
                         "response (GET /v5/account/balance or the 'account' push) of the "
                         "same moment, or positions with margin_rate")
    return implied[0], ("equity implied by HTX's maintenance_margin / margin_rate (no "
                        "account response given)")


def _compute(legs: list[Leg], members: list[int], mode: str, equity: float, how: str,
             table: TierTable, rows: list[dict]) -> None:
    gs = [legs[i] for i in members]
    pnl = [g.pos.side * g.pos.volume * g.size * (g.mark - g.pos.entry) for g in gs]
    balance = equity - sum(pnl)
    res = api.accounts([0] * len(gs), [1 if mode == "cross" else 0], [balance],
                       [g.pos.contract for g in gs], [g.pos.side for g in gs],
                       [g.pos.volume for g in gs], [g.pos.entry for g in gs],
                       [g.mark for g in gs], [g.pos.lever for g in gs],
                       adjust_factor=[g.mmr * g.pos.lever for g in gs], frozen_margin=None, tiers=table)
    ratio = res["margin_ratio"]
    for r, (i, g) in enumerate(zip(members, gs)):
        liq = res["liq_price"]
        row = rows[i]
        row["liq_price"] = float(liq.values[r]) if liq.ok[r] else None
        row["liq_root"] = float(res["liq_root"].values[r]) if ratio.ok[r] else None
        row["account_equity"] = equity
        row["account_margin_ratio"] = float(ratio.values[r]) if ratio.ok[r] else None
        # a position's margin_rate: its maintenance margin over the account's equity
        row["margin_ratio"] = g.mmr * g.mark * g.pos.volume * g.size / equity
        words = "" if liq.ok[r] else str(liq.cell(r) or "")
        row["status"] = "; ".join(filter(None, [words, how]))
