"""The Python API over the kernels: sequences, NumPy arrays or pandas columns in,
``Result`` (values, status codes, messages for bad rows) out.

The Excel functions, the CLI and Python users all call these; each is one coercion step,
one kernel call and one pass that words the rows that have no number.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from htxcore import status as st
from htxcore.cross import cross_liq_price_nb
from htxcore.insurance import adl_rank_nb, insurance_nb
from htxcore.liquidation import (add_margin_nb, after_liq_nb, leverage_for_distance_nb,
                                 liq_ladder_nb)
from htxcore.maxopen import max_open_nb
from htxcore.position import (bankruptcy_price_nb, initial_margin_nb, liq_price_nb,
                              maint_margin_nb, margin_ratio_nb, notional_nb, pnl_nb,
                              target_price_nb, tier_nb)
from xlhtx.coerce import ArgError, Batch
from xlhtx.messages import status_message
from xlhtx.reference.tables import TableError
from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.tiers import TierTable
from xlhtx.reference.snapshot import snapshot

EMPTY = 100   # every required argument of the row was empty
INPUT = 101   # a value could not be read (text in a number cell, ...)

NAN = float("nan")


@dataclass
class Result:
    """One output column: ``values`` (NaN where there is no number), ``status`` per row
    (``htxcore.status`` codes, ``EMPTY``, ``INPUT``) and ``messages`` for rows that are
    neither OK nor empty."""

    values: np.ndarray
    status: np.ndarray
    messages: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def ok(self) -> np.ndarray:
        return self.status == st.OK

    def cell(self, i: int) -> float | str | None:
        """Row ``i`` as a spreadsheet cell: the number, the message, or empty."""
        if self.status[i] == st.OK:
            return float(self.values[i])
        if self.status[i] == EMPTY:
            return None
        return self.messages[i]

    def alike(self, values: np.ndarray) -> "Result":
        """Another output column of the same rows: ``values`` where this one is OK, the
        same status and messages elsewhere."""
        return Result(np.where(self.ok, values, NAN), self.status, self.messages)

    def to_list(self) -> list:
        if not self.messages and not (self.status == EMPTY).any():
            return self.values.tolist()
        out = self.values.tolist()
        for i in np.flatnonzero(self.status != st.OK):
            out[i] = self.cell(int(i))
        return out


# ------------------------------------------------------------------------- tiers

_TIER_CACHE: OrderedDict = OrderedDict()
_TIER_CACHE_SIZE = 16


def _cached_parse(rows: Any, kind: str, parse) -> Any:
    """Parse an Excel range once per distinct content (a sheet of per-row formulas
    sharing one table range must not re-parse it per cell)."""
    if hasattr(rows, "tolist"):
        rows = rows.tolist()
    if not isinstance(rows, (list, tuple)) or not rows or not isinstance(rows[0], (list, tuple)):
        raise TableError(f"{kind}: expects a range with a header row")
    try:
        key = (kind, tuple(tuple(r) for r in rows))
        hit = _TIER_CACHE.get(key)
    except TypeError:  # unhashable cells: parse without caching
        return parse(rows)
    if hit is None:
        hit = _TIER_CACHE[key] = parse(rows)
        while len(_TIER_CACHE) > _TIER_CACHE_SIZE:
            _TIER_CACHE.popitem(last=False)
    _TIER_CACHE.move_to_end(key)
    return hit


def resolve_tiers(tiers: Any = None) -> TierTable:
    """``None`` -> the bundled snapshot; a ``TierTable`` as is; an Excel range (header +
    rows, SPEC 4 columns) parsed once per distinct content."""
    if tiers is None:
        return snapshot()
    if isinstance(tiers, TierTable):
        return tiers
    return _cached_parse(tiers, "tiers", _tier_rows)


def _tier_rows(rows: list) -> TierTable:
    """A Tiers range; contracts it gives no size for take the bundled contract sizes."""
    return TierTable.from_rows(rows, snapshot().contracts)


def resolve_margin_ladders(ladders: Any, table: TierTable) -> MarginLadders:
    """``None`` -> the tier table's (or the snapshot's) ladders; rows parsed and cached."""
    if ladders is None:
        return table.ladder_margin or snapshot().ladder_margin or MarginLadders([])
    if isinstance(ladders, MarginLadders):
        return ladders
    return _cached_parse(ladders, "margin ladders", MarginLadders.from_rows)


# ------------------------------------------------------------------------ helpers


def finish(batch: Batch, values: np.ndarray, status: np.ndarray, names: dict[str, str],
           table: TierTable) -> Result:
    """Fold coercion errors and empty rows into the kernel's status; word bad rows."""
    status = status.astype(np.int16)
    if batch.errors:
        rows = np.fromiter(batch.errors, dtype=np.int64)
        status[rows] = INPUT
    bad = np.flatnonzero(status != st.OK)
    values[bad] = NAN
    messages = dict(batch.errors)
    for i in bad.tolist():
        if batch.row_is_empty(i):
            status[i] = EMPTY
            messages.pop(i, None)
        elif status[i] != INPUT:
            messages[i] = status_message(int(status[i]), batch, i, names, table)
    return Result(values, status, messages)


def _out(batch: Batch, k: int = 1) -> list[np.ndarray]:
    return [np.empty(batch.n, dtype=np.float64) for _ in range(k)] + \
           [np.empty(batch.n, dtype=np.int8)]


POSITION = {"contract": "contract", "side": "side", "contracts": "contracts",
            "entry": "entry_price", "leverage": "leverage", "margin": "margin",
            "mode": "mode"}


def _position_batch(required, **cols):
    b = Batch(**cols)
    b.mark_empty(*required)
    return b


# ---------------------------------------------------------------------- functions


def notional(contract, contracts, price, tiers=None) -> Result:
    """Position value: contracts * size * price (USDT) or contracts * face / price (coin)."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "contracts", "price"),
                        contract=contract, contracts=contracts, price=price)
    out, s = _out(b)
    notional_nb(t.compile(), b.contracts(t), b.floats("contracts"), b.floats("price"), out, s)
    return finish(b, out, s, {"contract": "contract", "contracts": "contracts",
                              "price": "price"}, t)


def initial_margin(contract, contracts, price, leverage, tiers=None) -> Result:
    """Initial margin: position value / leverage."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "contracts", "price", "leverage"), contract=contract,
                        contracts=contracts, price=price, leverage=leverage)
    out, s = _out(b)
    initial_margin_nb(t.compile(), b.contracts(t), b.floats("contracts"), b.floats("price"),
                      b.floats("leverage"), out, s)
    return finish(b, out, s, {"contract": "contract", "contracts": "contracts",
                              "price": "price", "leverage": "leverage"}, t)


def tier(contract, leverage, net_contracts, mode=None, tiers=None) -> dict[str, Result]:
    """HTX ladder number, adjustment factor and MMR for a net position (keys ``ladder``,
    ``adjust_factor``, ``mmr``)."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "leverage", "net_contracts"), contract=contract,
                        leverage=leverage, net_contracts=net_contracts, mode=mode)
    lad, af, mmr, s = _out(b, 3)
    tier_nb(t.compile(), b.contracts(t), b.modes(), b.floats("leverage"),
            b.floats("net_contracts"), lad, af, mmr, s)
    names = {"contract": "contract", "leverage": "leverage", "contracts": "net_contracts",
             "mode": "mode"}
    first = finish(b, lad, s, names, t)
    return {"ladder": first,
            "adjust_factor": first.alike(af), "mmr": first.alike(mmr)}


def maint_margin(contract, contracts, price, leverage, mode=None, tiers=None) -> Result:
    """Maintenance margin: MMR (tier at ``contracts``) * position value at ``price``."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "contracts", "price", "leverage"), contract=contract,
                        contracts=contracts, price=price, leverage=leverage, mode=mode)
    out, s = _out(b)
    maint_margin_nb(t.compile(), b.contracts(t), b.modes(), b.floats("contracts"),
                    b.floats("price"), b.floats("leverage"), out, s)
    return finish(b, out, s, {"contract": "contract", "contracts": "contracts",
                              "price": "price", "leverage": "leverage", "mode": "mode"}, t)


def pnl(contract, side, contracts, entry_price, price, tiers=None, leverage=None) -> Result:
    """Unrealized PnL at ``price``; with ``leverage``, the ROE (PnL / initial margin)."""
    t = resolve_tiers(tiers)
    required = ("contract", "side", "contracts", "entry_price", "price")
    cols = dict(contract=contract, side=side, contracts=contracts, entry_price=entry_price,
                price=price)
    if leverage is not None:
        cols["leverage"] = leverage
        required += ("leverage",)
    b = _position_batch(required, **cols)
    lev = b.floats("leverage") if leverage is not None else np.full(b.n, NAN)
    out, s = _out(b)
    pnl_nb(t.compile(), b.contracts(t), b.sides(), b.floats("contracts"),
           b.floats("entry_price"), b.floats("price"), lev, out, s)
    return finish(b, out, s, {**POSITION, "price": "price"}, t)


def roe(contract, side, contracts, entry_price, price, leverage, tiers=None) -> Result:
    """Return on equity: PnL at ``price`` / initial margin at entry."""
    return pnl(contract, side, contracts, entry_price, price, tiers, leverage=leverage)


def margin_ratio(contract, side, contracts, entry_price, mark_price, leverage, margin=None,
                 tiers=None, mode=None) -> dict[str, Result]:
    """Margin ratio MM / equity at the mark (1 = liquidation) and equity (keys
    ``margin_ratio``, ``equity``)."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "side", "contracts", "entry_price", "mark_price",
                            "leverage"), contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, mark_price=mark_price, leverage=leverage,
                        margin=margin, mode=mode)
    ratio, eq, s = _out(b, 2)
    margin_ratio_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                    b.floats("entry_price"), b.floats("mark_price"), b.floats("leverage"),
                    b.floats("margin", default=NAN), ratio, eq, s)
    eq_ok = np.isfinite(eq)
    r = finish(b, ratio, s, {**POSITION, "price": "mark_price"}, t)
    eq_status = np.where((r.status == st.LIQUIDATED) & eq_ok, st.OK, r.status).astype(np.int16)
    return {"margin_ratio": r,
            "equity": Result(np.where(eq_status == st.OK, eq, NAN), eq_status, r.messages)}


def _isolated_price(kernel, contract, side, contracts, entry_price, leverage, margin, tiers,
                    mode, with_mode: bool) -> Result:
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "side", "contracts", "entry_price", "leverage"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, leverage=leverage, margin=margin, mode=mode)
    out, s = _out(b)
    args = [t.compile(), b.contracts(t)] + ([b.modes()] if with_mode else []) + [
        b.sides(), b.floats("contracts"), b.floats("entry_price"), b.floats("leverage"),
        b.floats("margin", default=NAN), out, s]
    kernel(*args)
    return finish(b, out, s, POSITION, t)


def liq_price(contract, side, contracts, entry_price, leverage, margin=None, tiers=None,
              mode=None) -> Result:
    """Isolated liquidation price (first trigger) at the position's current tier."""
    return _isolated_price(liq_price_nb, contract, side, contracts, entry_price, leverage,
                           margin, tiers, mode, True)


def bankruptcy_price(contract, side, contracts, entry_price, leverage, margin=None,
                     tiers=None) -> Result:
    """Price where the isolated position's equity reaches 0."""
    return _isolated_price(bankruptcy_price_nb, contract, side, contracts, entry_price,
                           leverage, margin, tiers, None, False)


def target_price(contract, side, entry_price, leverage, target_roe, tiers=None) -> Result:
    """Exit price at which the ROE (PnL / initial margin) equals ``target_roe``."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "side", "entry_price", "leverage", "target_roe"),
                        contract=contract, side=side, entry_price=entry_price,
                        leverage=leverage, target_roe=target_roe)
    out, s = _out(b)
    target_price_nb(t.compile(), b.contracts(t), b.sides(), b.floats("entry_price"),
                    b.floats("leverage"), b.floats("target_roe"), out, s)
    return finish(b, out, s, {**POSITION, "target": "target_roe"}, t)


def cross_liq_price(contract, side, contracts, entry_price, mark_price, leverage, balance,
                    tiers=None) -> Result:
    """Liquidation price of each position of one cross-margin account (one margin asset),
    the others held at their marks."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "side", "contracts", "entry_price", "mark_price",
                            "leverage"), contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, mark_price=mark_price, leverage=leverage)
    bal = Batch(balance=balance)
    if bal.n != 1:
        raise ArgError("balance: expects a single cell (the cross account's balance)")
    balance_v = float(bal.floats("balance")[0])
    if bal.errors:
        raise ArgError(bal.errors[0].replace("#VALUE! ", ""))
    cid = b.contracts(t)
    out, s = _out(b)
    empty = b.empty_mask()
    live = ~empty & ~_mixed_assets(t, b, cid, empty)
    sub = lambda a: np.ascontiguousarray(a[live])  # noqa: E731 - only this account's rows
    s_live = np.empty(int(live.sum()), dtype=np.int8)
    o_live = np.empty(int(live.sum()), dtype=np.float64)
    cross_liq_price_nb(t.compile(), sub(cid), sub(b.sides()), sub(b.floats("contracts")),
                       sub(b.floats("entry_price")), sub(b.floats("mark_price")),
                       sub(b.floats("leverage")), balance_v, o_live, s_live)
    out[:] = NAN
    s[:] = st.OK
    out[live], s[live] = o_live, s_live
    return finish(b, out, s, {**POSITION, "price": "mark_price"}, t)


def _mixed_assets(t: TierTable, b: Batch, cid: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Rows margined in another asset than most of the account: errors, left out of it
    (one cross account holds one margin asset)."""
    assets: dict[str, list[int]] = {}
    for i in np.flatnonzero((cid >= 0) & ~empty):
        assets.setdefault(t.contracts[t.codes[cid[i]]].margin_asset, []).append(int(i))
    alien = np.zeros(b.n, dtype=bool)
    if len(assets) > 1:
        main = max(assets, key=lambda a: len(assets[a]))
        for asset, rows in assets.items():
            if asset != main:
                alien[rows] = True
                for i in rows:
                    b.errors.setdefault(i, f"#VALUE! contract {b.value('contract', i)} is "
                                           f"margined in {asset}, the account in {main}: "
                                           "one cross account holds one margin asset")
    return alien


# ------------------------------------------------------------ liquidation process

LADDER_COLUMNS = ("step", "trigger_price", "contracts_before", "contracts_after",
                  "tier_before", "tier_after", "margin_after")


@dataclass
class Ladder:
    """Liquidation ladders: 2-D arrays ``(rows, max_steps)`` per column of
    ``LADDER_COLUMNS[1:]``, ``n_steps`` per row, and the row status/messages."""

    columns: dict[str, np.ndarray]
    n_steps: np.ndarray
    result: Result

    def table(self, i: int = 0) -> list[list]:
        """Row ``i``'s ladder as a header plus one row per step (what Excel spills)."""
        if self.result.status[i] != st.OK:
            return [[self.result.cell(i)]]
        out: list[list] = [list(LADDER_COLUMNS)]
        for k in range(int(self.n_steps[i])):
            row = [k + 1] + [float(self.columns[c][i, k]) for c in LADDER_COLUMNS[1:]]
            for j in (2, 3, 4, 5):
                row[j] = int(row[j])
            out.append(row)
        return out


def max_ladder_steps(table: TierTable) -> int:
    """Most steps any position can take: one per ladder of its group."""
    g_start = table.compile()[2]
    return int(np.diff(g_start).max()) if g_start.shape[0] > 1 else 1


def _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode, **extra):
    return _position_batch(("contract", "side", "contracts", "entry_price", "leverage",
                                  *extra), contract=contract, side=side, contracts=contracts,
                           entry_price=entry_price, leverage=leverage, margin=margin,
                           mode=mode, **extra)


def liq_ladder(contract, side, contracts, entry_price, leverage, margin=None, tiers=None,
               mode=None) -> Ladder:
    """HTX's tiered liquidation ladder per position (SPEC 2.4)."""
    t = resolve_tiers(tiers)
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode)
    steps = max_ladder_steps(t)
    cols = {c: np.empty((b.n, steps)) for c in LADDER_COLUMNS[1:]}
    n_steps = np.empty(b.n, dtype=np.int64)
    s = np.empty(b.n, dtype=np.int8)
    liq_ladder_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                  b.floats("entry_price"), b.floats("leverage"),
                  b.floats("margin", default=NAN), *cols.values(), n_steps, s)
    res = finish(b, cols["trigger_price"][:, 0].copy(), s, POSITION, t)
    n_steps[~res.ok] = 0
    return Ladder(cols, n_steps, res)


def after_liq(contract, side, contracts, entry_price, leverage, price, margin=None,
              tiers=None, mode=None) -> dict[str, Result]:
    """Contracts left, margin ratio and equity if the mark reaches ``price`` (keys
    ``contracts``, ``margin_ratio``, ``equity``)."""
    t = resolve_tiers(tiers)
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      price=price)
    left, ratio, eq, s = _out(b, 3)
    after_liq_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                 b.floats("entry_price"), b.floats("leverage"),
                 b.floats("margin", default=NAN), b.floats("price"), left, ratio, eq, s)
    first = finish(b, left, s, {**POSITION, "price": "price"}, t)
    ratio_status = np.where(first.ok & ~np.isfinite(ratio), st.LIQUIDATED,
                            first.status).astype(np.int16)
    msgs = dict(first.messages)
    for i in np.flatnonzero(ratio_status == st.LIQUIDATED):
        msgs.setdefault(int(i), status_message(st.LIQUIDATED, b, int(i), POSITION, t))
    return {"contracts": first,
            "margin_ratio": Result(np.where(ratio_status == st.OK, ratio, NAN), ratio_status,
                                   msgs),
            "equity": first.alike(eq)}


def add_margin(contract, side, contracts, entry_price, leverage, target_liq_price,
               margin=None, tiers=None, mode=None) -> Result:
    """Margin to add (negative: removable) so the liquidation price becomes the target."""
    t = resolve_tiers(tiers)
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      target_liq_price=target_liq_price)
    out, s = _out(b)
    add_margin_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                  b.floats("entry_price"), b.floats("leverage"),
                  b.floats("target_liq_price"), b.floats("margin", default=NAN), out, s)
    return finish(b, out, s, {**POSITION, "target": "target_liq_price"}, t)


def leverage_for_distance(contract, side, contracts, entry_price, distance, tiers=None,
                          mode=None) -> dict[str, Result]:
    """Highest published leverage whose initial margin keeps the liquidation price at
    least ``distance`` (fraction of entry) away, with that margin (keys ``leverage``,
    ``margin``)."""
    t = resolve_tiers(tiers)
    b = _position_batch(("contract", "side", "contracts", "entry_price", "distance"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, distance=distance, mode=mode)
    lev, m, s = _out(b, 2)
    leverage_for_distance_nb(t.compile(), b.contracts(t), b.modes(), b.sides(),
                             b.floats("contracts"), b.floats("entry_price"),
                             b.floats("distance"), lev, m, s)
    names = {**POSITION, "target": "distance", "leverage": "distance"}
    first = finish(b, lev, s, names, t)
    return {"leverage": first, "margin": first.alike(m)}


def max_open(contract, equity, price, leverage, margin_ladders=None, tiers=None, mode=None,
             position_limit=None) -> dict[str, Result]:
    """Available margin under HTX's tiered margin and the max contracts that can be
    opened (keys ``contracts``, ``available``)."""
    t = resolve_tiers(tiers)
    lm = resolve_margin_ladders(margin_ladders, t).compile(t)
    b = _position_batch(("contract", "equity", "price", "leverage"), contract=contract,
                        equity=equity, price=price, leverage=leverage, mode=mode,
                        position_limit=position_limit)
    avail, n, s = _out(b, 2)
    max_open_nb(t.compile(), lm, b.contracts(t), b.modes(), b.floats("equity"),
                b.floats("price"), b.floats("leverage"),
                b.floats("position_limit", default=NAN), avail, n, s)
    names = {"contract": "contract", "balance": "equity", "price": "price",
             "leverage": "leverage", "contracts": "position_limit"}
    first = finish(b, n, s, names, t)
    return {"contracts": first, "available": first.alike(avail)}


def insurance(contract, side, contracts, entry_price, leverage, exec_price, margin=None,
              fee_rate=None, tiers=None, fund_balance=None, mode=None) -> dict[str, Result]:
    """Insurance-fund change when the position is fully liquidated and executed at
    ``exec_price`` (keys ``change``, ``uncovered`` (needs ``fund_balance``),
    ``bankruptcy_price``)."""
    t = resolve_tiers(tiers)
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      exec_price=exec_price, fee_rate=fee_rate, fund_balance=fund_balance)
    change, unc, pb, s = _out(b, 3)
    insurance_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                 b.floats("entry_price"), b.floats("leverage"), b.floats("exec_price"),
                 b.floats("margin", default=NAN), b.floats("fee_rate", default=0.0),
                 b.floats("fund_balance", default=NAN), change, unc, pb, s)
    first = finish(b, change, s, {**POSITION, "price": "exec_price", "fee": "fee_rate",
                                  "balance": "fund_balance"}, t)
    return {"change": first,
            "uncovered": first.alike(unc), "bankruptcy_price": first.alike(pb)}


def adl_rank(pnl, margin, notional) -> Result:
    """ADL priority per position (1 = deleveraged first)."""
    b = Batch(pnl=pnl, margin=margin, notional=notional)
    b.mark_empty("pnl", "margin", "notional")
    out, s = _out(b)
    vals = [b.floats(k) for k in ("pnl", "margin", "notional")]
    live = ~b.empty_mask()
    live[list(b.errors)] = False  # unreadable rows take no rank
    cols = [np.ascontiguousarray(v[live]) for v in vals]
    o, ss = np.empty(int(live.sum())), np.empty(int(live.sum()), dtype=np.int8)
    adl_rank_nb(*cols, o, ss)
    out[:], s[:] = NAN, st.OK
    out[live], s[live] = o, ss
    return finish(b, out, s, {"target": "pnl", "margin": "margin", "contracts": "notional"},
                  snapshot())
