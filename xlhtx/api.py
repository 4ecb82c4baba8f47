"""The Python API over the kernels: sequences, NumPy arrays or pandas columns in,
``Result`` (values, status codes, messages for bad rows) out.

The Excel functions, the CLI and Python users all call these; each is one coercion step,
one kernel call and one pass that words the rows that have no number.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from htxcore import status as st
from htxcore.account import account_nb
from htxcore.insurance import adl_rank_nb, insurance_nb
from htxcore.liquidation import (add_margin_nb, after_liq_nb, leverage_for_distance_nb,
                                 liq_ladder_nb)
from htxcore.liqmap import (HIST_ROWS, LONG_E, LONG_Q, LONG_V, SHORT_E, SHORT_Q, SHORT_V,
                            liq_map_nb)
from htxcore.maxopen import max_open_nb
from htxcore.position import (bankruptcy_price_nb, initial_margin_nb, liq_price_nb,
                              liq_distance_nb, maint_margin_nb, margin_ratio_nb, notional_nb,
                              pnl_nb, roe_nb, target_price_nb, tier_nb, MAX_INPUT)
from xlhtx.coerce import ArgError, Batch, describe, is_blank
from xlhtx.errors import XlhtxError
from xlhtx.messages import fold, status_message
from xlhtx.reference import locked_margin
from xlhtx.reference.collateral import collateral_value
from xlhtx.reference.tables import TableError
from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.tiers import TierTable
from xlhtx.reference.snapshot import snapshot, snapshot_name

# the boundary's own statuses (an empty row, an unreadable cell, an overflow) are in the
# status table with the kernels'
from xlhtx.statuses import EMPTY, RANGE, is_error

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

    @property
    def is_error(self) -> np.ndarray:
        """Per row: an error (from its status, never from its text), as opposed to a
        number, a result without one ("no liquidation") or an empty row."""
        return is_error(self.status)

    def cell(self, i: int) -> float | str | None:
        """Row ``i`` as a spreadsheet cell: the number, the message, or empty."""
        if self.status[i] == st.OK:
            return float(self.values[i])
        if self.status[i] == EMPTY:
            return None
        return self.messages[i]

    def words(self) -> list[str]:
        """Per row: "" where there is a number (or the row is empty), else its message;
        one pass, for tables of many rows."""
        out = [""] * len(self)
        for i in np.flatnonzero((self.status != st.OK) & (self.status != EMPTY)).tolist():
            out[i] = self.messages.get(i, "")
        return out

    def alike(self, values: np.ndarray) -> "Result":
        """Another output column of the same rows: ``values`` where this one is OK, the
        same status and messages elsewhere."""
        return Result(np.where(self.ok, values, NAN), self.status, self.messages)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(result)``: the values, NaN where a row has no number."""
        return self.values if dtype is None else self.values.astype(dtype)

    def __float__(self) -> float:
        """A one-row result as a number; a row without one raises its message."""
        if len(self) != 1:
            raise XlhtxError(f"float() takes a one-row result; this one has {len(self)} rows")
        if self.status[0] != st.OK:
            raise XlhtxError(self.messages.get(0, "the row is empty"))
        return float(self.values[0])

    def to_series(self, name: str | None = None, index: Any = None):
        """A pandas Series of the values (NaN where a row has no number); the messages of
        the other rows are in ``.messages``."""
        import pandas as pd
        return pd.Series(self.values, index=index, name=name)

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


# handle -> table (``tier_handle``): a workbook's cells pass the handle, not the range
_HANDLES: OrderedDict = OrderedDict()
HANDLE = re.compile(r"^tiers ([0-9a-f]{16})\b")


def tier_handle(tiers: Any) -> str:
    """A short text naming ``tiers`` (a range, parsed once per distinct content) for the
    ``tiers`` argument of every other call: in a workbook the table then crosses from
    Excel to Python once per recalculation (the cell holding the handle), not once per
    call. The handle is the content's hash, so an edited table gets a new one."""
    table = resolve_tiers(tiers)
    digest = hashlib.blake2b(repr((table.source, table.as_of, sorted(table.contracts.items()),
                                   table.ladders)).encode(), digest_size=8).hexdigest()
    _HANDLES[digest] = table
    _HANDLES.move_to_end(digest)
    while len(_HANDLES) > _TIER_CACHE_SIZE:
        _HANDLES.popitem(last=False)
    return f"tiers {digest}: {len(table.ladders):,} tier rows, as of {table.as_of or '?'}"


def handle_digest(text: str) -> str | None:
    """The hash a tier handle names, or None for text that is no handle."""
    m = HANDLE.match(text.strip())
    return m.group(1) if m else None


def unknown_handle(text: str) -> bool:
    """True for a tier handle this session has not loaded."""
    digest = handle_digest(text)
    return digest is not None and digest not in _HANDLES


def _from_handle(text: str) -> TierTable | None:
    digest = handle_digest(text)
    if digest is None:
        return None
    table = _HANDLES.get(digest)
    if table is None:
        raise TableError(f"tiers = {text!r}: this tier table handle is not loaded in this "
                         "Python session, and no open workbook's TierTables holds that "
                         "table: press Ctrl+Alt+F9 so the HTX_TIERSET cell loads it again")
    return table


def resolve_tiers(tiers: Any = None) -> TierTable:
    """``None`` -> the bundled snapshot of today's HTX; ``"legacy"`` / ``"today"`` -> that
    bundled snapshot; a handle (``tier_handle``) -> its table; a ``TierTable`` as is; an
    Excel range (header + rows: the Tiers and RiskLimits tables, alone or side by side)
    parsed once per distinct content."""
    if tiers is None:
        return snapshot()
    if isinstance(tiers, TierTable):
        return tiers
    if isinstance(tiers, (list, tuple)) and len(tiers) == 1 and \
            isinstance(tiers[0], (list, tuple)) and len(tiers[0]) == 1:
        tiers = tiers[0][0]      # one cell (Excel passes ranges as rows of cells)
    if isinstance(tiers, str):
        handled = _from_handle(tiers)
        if handled is not None:
            return handled
        if snapshot_name(tiers) is None:
            raise TableError(f"tiers = {tiers!r}: give a tier range (Tiers and RiskLimits "
                             "tables), or the name of a bundled snapshot: today or legacy")
        return snapshot(tiers)
    return _cached_parse(tiers, "tiers", _tier_rows)


def _tier_rows(rows: list) -> TierTable:
    """A Tiers range; contracts it gives no size for take the bundled contract sizes."""
    return TierTable.from_rows(rows, snapshot().contracts)


def tiers_for(tiers: Any, b: Batch) -> TierTable:
    """The tier table a call reads: ``resolve_tiers(tiers)`` with the contract codes of
    ``b`` resolved (``TierTable.resolving``). Everything compiled against the table
    (contract ids) must use this one."""
    return resolve_tiers(tiers).resolving(b.texts())


def resolve_margin_ladders(ladders: Any, table: TierTable) -> MarginLadders:
    """``None`` -> the tier table's (or the snapshot's) ladders; rows parsed and cached."""
    if ladders is None:
        return table.ladder_margin or snapshot().ladder_margin or MarginLadders([])
    if isinstance(ladders, MarginLadders):
        return ladders
    return _cached_parse(ladders, "margin ladders", MarginLadders.from_rows)


# ------------------------------------------------------------------------ helpers


def finish(batch: Batch, values: np.ndarray, status: np.ndarray, table: TierTable,
           *, infinite_ok: bool = False) -> Result:
    """Fold coercion errors and empty rows into the kernel's status; word bad rows.
    ``infinite_ok``: +inf is a result (a margin ratio with no equity left)."""
    status = status.astype(np.int16)
    # a number that overflowed is no result: say so rather than show inf
    bad_number = np.isnan(values) | (values == -np.inf) if infinite_ok else \
        ~np.isfinite(values)
    status[(status == st.OK) & bad_number] = RANGE
    status, messages = fold(batch, status, table)
    values[status != st.OK] = NAN
    return Result(values, status, messages)


def _out(batch: Batch, k: int = 1) -> list[np.ndarray]:
    return [np.empty(batch.n, dtype=np.float64) for _ in range(k)] + \
           [np.empty(batch.n, dtype=np.int8)]


def _position_batch(required, **cols):
    b = Batch(**cols)
    b.mark_empty(*required)
    return b


# ---------------------------------------------------------------------- functions


def notional(contract, contracts, price, *, tiers=None) -> Result:
    """Position value: contracts * size * price (USDT) or contracts * face / price (coin)."""
    b = _position_batch(("contract", "contracts", "price"),
                        contract=contract, contracts=contracts, price=price)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    notional_nb(t.compile(), b.contracts(t), b.floats("contracts"), b.floats("price"), out, s)
    return finish(b, out, s, t)


def margin_asset(contract, *, tiers=None) -> "TextResult":
    """The margin asset of each contract (USDT, or the coin of a coin-margined one)."""
    b = _position_batch(("contract",), contract=contract)
    t = tiers_for(tiers, b)
    cid = b.contracts(t)
    status = np.where(cid >= 0, st.OK, st.ERR_CONTRACT).astype(np.int8)
    res = finish(b, np.zeros(b.n), status, t)
    texts = [t.contracts[t.codes[c]].margin_asset if ok else None
             for c, ok in zip(cid.tolist(), res.ok.tolist())]
    return TextResult(texts, res.status, res.messages)


class TextResult(Result):
    """A column of text results (``values`` holds the texts)."""

    def __init__(self, texts: list, status: np.ndarray, messages: dict[int, str]):
        super().__init__(np.zeros(len(texts)), status, messages)
        self.texts = texts

    def cell(self, i: int) -> Any:
        return self.texts[i] if self.status[i] == st.OK else super().cell(i)

    def to_list(self) -> list:
        return [self.cell(i) for i in range(len(self.texts))]


def initial_margin(contract, contracts, price, leverage, *, tiers=None) -> Result:
    """Initial margin: position value / leverage."""
    b = _position_batch(("contract", "contracts", "price", "leverage"), contract=contract,
                        contracts=contracts, price=price, leverage=leverage)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    initial_margin_nb(t.compile(), b.contracts(t), b.floats("contracts"), b.floats("price"),
                      b.whole("leverage"), out, s)
    return finish(b, out, s, t)


def tier(contract, leverage, net_contracts, *, mode=None, tiers=None) -> dict[str, Result]:
    """HTX ladder number, adjustment factor and MMR for a net position (keys ``ladder``,
    ``adjust_factor``, ``mmr``)."""
    b = _position_batch(("contract", "leverage", "net_contracts"), contract=contract,
                        leverage=leverage, net_contracts=net_contracts, mode=mode)
    t = tiers_for(tiers, b)
    lad, af, mmr, s = _out(b, 3)
    tier_nb(t.compile(), b.contracts(t), b.modes(), b.whole("leverage"),
            b.floats("net_contracts"), lad, af, mmr, s)
    first = finish(b, lad, s, t)
    return {"ladder": first, "adjust_factor": not_applicable(first, af, b, t),
            "mmr": first.alike(mmr)}


def not_applicable(first: Result, values: np.ndarray, b: Batch, t: TierTable) -> Result:
    """``first.alike(values)``, where a computed row's value is NaN because its contract
    is on risk-limit tiers (no adjustment factor, no risk rate): ``NOT_APPLICABLE``."""
    res = first.alike(values)
    gone = np.flatnonzero(res.ok & np.isnan(values))
    if gone.size == 0:
        return res
    status, messages = res.status.copy(), dict(res.messages)
    status[gone] = st.NOT_APPLICABLE
    for i in gone.tolist():
        messages[i] = status_message(st.NOT_APPLICABLE, b, i, t)
    return Result(res.values, status, messages)


def maint_margin(contract, contracts, price, leverage, *, mode=None, tiers=None) -> Result:
    """Maintenance margin: MMR (tier at ``contracts``) * position value at ``price``."""
    b = _position_batch(("contract", "contracts", "price", "leverage"), contract=contract,
                        contracts=contracts, price=price, leverage=leverage, mode=mode)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    maint_margin_nb(t.compile(), b.contracts(t), b.modes(), b.floats("contracts"),
                    b.floats("price"), b.whole("leverage"), out, s)
    return finish(b, out, s, t)


def pnl(contract, side, contracts, entry_price, price, *, tiers=None) -> Result:
    """Unrealized PnL at ``price`` (USDT linear, coin inverse)."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "price"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, price=price)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    pnl_nb(t.compile(), b.contracts(t), b.sides(), b.floats("contracts"),
           b.floats("entry_price"), b.floats("price"), out, s)
    return finish(b, out, s, t)


def roe(contract, side, contracts, entry_price, price, leverage, *, tiers=None) -> Result:
    """Return on equity: PnL at ``price`` / initial margin at entry."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "price", "leverage"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, price=price, leverage=leverage)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    roe_nb(t.compile(), b.contracts(t), b.sides(), b.floats("contracts"),
           b.floats("entry_price"), b.floats("price"), b.whole("leverage"), out, s)
    return finish(b, out, s, t)


def margin_ratio(contract, side, contracts, entry_price, mark_price, leverage, *, margin=None,
                 tiers=None, mode=None) -> dict[str, Result]:
    """Margin ratio MM / equity at the mark (1 = liquidation) and equity (keys
    ``margin_ratio``, ``equity``)."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "mark_price",
                            "leverage"), contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, mark_price=mark_price, leverage=leverage,
                        margin=margin, mode=mode)
    t = tiers_for(tiers, b)
    ratio, eq, s = _out(b, 2)
    margin_ratio_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                    b.floats("entry_price"), b.floats("mark_price"), b.whole("leverage"),
                    b.floats("margin", default=NAN), ratio, eq, s)
    eq_ok = np.isfinite(eq)
    r = finish(b, ratio, s, t, infinite_ok=True)
    eq_status = np.where((r.status == st.LIQUIDATED) & eq_ok, st.OK, r.status).astype(np.int16)
    return {"margin_ratio": r,
            "equity": Result(np.where(eq_status == st.OK, eq, NAN), eq_status, r.messages)}


def _isolated_price(kernel, contract, side, contracts, entry_price, leverage, margin, tiers,
                    mode) -> Result:
    """A price kernel over isolated positions (its arguments: the tier table, contract
    ids, modes, sides, sizes, entries, leverages, margins, out, status)."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "leverage"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, leverage=leverage, margin=margin, mode=mode)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    kernel(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
           b.floats("entry_price"), b.whole("leverage"), b.floats("margin", default=NAN), out,
           s)
    return finish(b, out, s, t)


def _bankruptcy_any_mode(tt, contract_ids, modes, *rest) -> None:
    """``bankruptcy_price_nb`` in the shape of the other price kernels: the price where
    equity reaches 0 does not depend on the tier, so not on its mode."""
    bankruptcy_price_nb(tt, contract_ids, *rest)


def liq_price(contract, side, contracts, entry_price, leverage, *, margin=None, tiers=None,
              mode=None) -> Result:
    """Isolated liquidation price (first trigger) at the position's current tier."""
    return _isolated_price(liq_price_nb, contract, side, contracts, entry_price, leverage,
                           margin, tiers, mode)


def equity(contract, side, contracts, entry_price, mark_price, leverage, *, margin=None,
           tiers=None, mode=None) -> Result:
    """Isolated equity at the mark: margin balance (default: initial margin) + PnL."""
    return margin_ratio(contract, side, contracts, entry_price, mark_price, leverage, margin=margin,
                        tiers=tiers, mode=mode)["equity"]


def liq_distance(contract, side, contracts, entry_price, mark_price, leverage, *, margin=None,
                 tiers=None, mode=None) -> Result:
    """How far the mark may move against the position before its liquidation price, as a
    fraction of the mark (negative: already past it)."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "mark_price",
                         "leverage"), contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, mark_price=mark_price, leverage=leverage,
                        margin=margin, mode=mode)
    t = tiers_for(tiers, b)
    liq, liq_s = _out(b)
    liq_price_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                 b.floats("entry_price"), b.whole("leverage"), b.floats("margin", default=NAN),
                 liq, liq_s)
    out, s = _out(b)   # a row without a liquidation price keeps its status and its words
    liq_distance_nb(b.sides(), b.floats("mark_price"), liq, liq_s, out, s)
    return finish(b, out, s, t)


def bankruptcy_price(contract, side, contracts, entry_price, leverage, *, margin=None,
                     tiers=None) -> Result:
    """Price where the isolated position's equity reaches 0."""
    return _isolated_price(_bankruptcy_any_mode, contract, side, contracts, entry_price,
                           leverage, margin, tiers, None)


def target_price(contract, side, entry_price, leverage, target_roe, *, tiers=None) -> Result:
    """Exit price at which the ROE (PnL / initial margin) equals ``target_roe``."""
    b = _position_batch(("contract", "side", "entry_price", "leverage", "target_roe"),
                        contract=contract, side=side, entry_price=entry_price,
                        leverage=leverage, target_roe=target_roe)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    target_price_nb(t.compile(), b.contracts(t), b.sides(), b.floats("entry_price"),
                    b.whole("leverage"), b.floats("target_roe"), out, s)
    return finish(b, out, s, t)


def _account_scalar(value: Any, name: str, what: str, *, default: float | None = None) -> float:
    """One cell that belongs to the whole account (its balance, its mode)."""
    one = Batch(**{name: value})
    if one.n != 1:
        raise ArgError(f"{name}: expects a single cell ({what})")
    v = float(one.floats(name, default=default)[0])
    if one.errors:
        raise ArgError(one.errors[0].replace("#VALUE! ", ""))
    return v


def accounts(account, modes, balances, contract, side, contracts, cost, mark_price,
             leverage, *, adjust_factor=None, frozen_margin=None, tiers=None,
             as_of=None) -> dict[str, Result]:
    """Margin accounts (docs/maths.md "Margin accounts"): per leg the liquidation price of
    its contract (legs of one contract move together, tiered on the net position), and
    the account's margin ratio, risk rate and equity (keys ``liq_price``,
    ``margin_ratio``, ``risk_rate``, ``equity``).

    ``account`` numbers each row's account ``0..A-1``; ``modes`` (0 isolated, 1 cross)
    and ``balances`` (static balance, before unrealized PnL) are per account. A hedged
    pair's margin is locked as HTX locked it at ``as_of`` (default now;
    ``xlhtx.reference.locked_margin``).
    """
    # each row's margin mode is its account's (messages name it)
    row_mode = np.array(["isolated", "cross"])[np.asarray(modes, dtype=np.int64) % 2][
        np.asarray(account, dtype=np.int64)]
    b = _position_batch(
        ("contract", "side", "contracts", "entry_price", "mark_price", "leverage"),
        contract=contract, side=side, contracts=contracts, entry_price=cost,
        mark_price=mark_price, leverage=leverage, adjust_factor=adjust_factor,
        frozen_margin=frozen_margin, mode=row_mode.tolist())
    t = tiers_for(tiers, b)
    cid = b.contracts(t).copy()
    liq, ratio, risk, eq, root, s = _out(b, 5)
    acc_s = np.empty(b.n, dtype=np.int8)
    account = np.ascontiguousarray(np.broadcast_to(np.asarray(account, dtype=np.int64), b.n))
    # a row margined in another asset belongs to another account: left out, with a message
    live = ~(b.empty_mask() | _mixed_assets(t, b, cid, account))
    # a row that could not be read is invalid for the kernel too, so its account's totals
    # are not computed without it
    cid[list(b.errors)] = -1
    sub = lambda a: np.ascontiguousarray(a[live])  # noqa: E731 - the rows that take part
    outs = [np.empty(int(live.sum())) for _ in range(4)] + \
           [np.empty(int(live.sum()), dtype=np.int8) for _ in range(2)] + \
           [np.empty(int(live.sum()))]
    account_nb(t.compile(), sub(account), np.asarray(modes, dtype=np.int8),
               np.asarray(balances, dtype=np.float64),
               _locks(t, cid, account, live, len(modes), as_of), sub(cid), sub(b.sides()),
               sub(b.floats("contracts")), sub(b.floats("entry_price")),
               sub(b.floats("mark_price")), sub(b.whole("leverage")),
               sub(b.floats("adjust_factor", default=NAN)),
               sub(b.floats("frozen_margin", default=NAN)), *outs)
    for arr, o in zip((liq, ratio, risk, eq, s, acc_s, root), outs):
        arr[:] = st.OK if arr.dtype.kind == "i" else NAN
        arr[live] = o
    acc_s[~live] = st.ERR_ACCOUNT
    first = finish(b, liq, s, t)
    # the account's figures exist wherever the account computed, liquidation price or not
    acc_status = np.where((acc_s == st.OK) & (first.status < EMPTY), st.OK,
                          first.status).astype(np.int16)
    acc_msgs = {i: m for i, m in first.messages.items() if acc_status[i] != st.OK}
    acc = Result(np.zeros(b.n), acc_status, acc_msgs)
    return {"liq_price": first, "margin_ratio": acc.alike(ratio),
            "risk_rate": not_applicable(acc, risk, b, t), "equity": acc.alike(eq),
            "liq_root": acc.alike(root)}


def account(contract, side, contracts, entry_price, mark_price, leverage, *, margin_static=None,
            mode=None, frozen_margin=None, adjust_factor=None, tiers=None,
            collateral=None, as_of=None) -> dict[str, Result]:
    """One margin account given as columns (what ``HTX_CROSSLIQPRICE`` and
    ``HTX_RISKRATE`` read): ``accounts`` with every row in it. ``entry_price`` is the cost
    basis; ``margin_static`` the account's balance before unrealized PnL (HTX's
    ``margin_static``, not ``margin_balance``, which holds the PnL already); ``mode`` one
    cell, cross by default; ``adjust_factor`` HTX's reported factor per row (it wins over
    the tier table's). ``collateral``: a Multi-Assets account's assets (a range with
    ``currency, amount[, index_price, collateral_rate]``), worth
    ``xlhtx.reference.collateral.collateral_value`` and added to ``margin_static``
    (which may then be empty)."""
    m = Batch(mode=mode)
    if m.n != 1:
        raise ArgError("mode: expects a single cell (isolated or cross for the account)")
    code = 1 if is_blank(m.value("mode", 0)) else int(m.modes()[0])   # cross by default
    if code not in (0, 1):
        raise ArgError(f"mode = {m.value('mode', 0)!r}: use isolated or cross")
    what = "the account's balance before unrealized PnL, HTX's margin_static"
    assets = None if collateral is None else \
        _cached_parse(collateral, "collateral", collateral_value)
    if assets is None:      # no collateral, or a collateral range with no asset in it
        bal = _account_scalar(margin_static, "margin_static", what)
    else:
        if code != 1:
            raise ArgError("collateral: a Multi-Assets account is a cross account; leave "
                           "mode empty or give cross")
        bal = _account_scalar(margin_static, "margin_static", what, default=0.0) + assets
    return accounts(0, [code], [bal], contract, side, contracts, entry_price, mark_price,
                    leverage, adjust_factor=adjust_factor, frozen_margin=frozen_margin, tiers=tiers, as_of=as_of)


def cross_liq_price(contract, side, contracts, entry_price, mark_price, leverage,
                    margin_static, *, tiers=None, adjust_factor=None) -> Result:
    """Liquidation price of each position of one cross-margin account (one margin asset):
    legs of one contract move together, every other contract held at its mark."""
    return account(contract, side, contracts, entry_price, mark_price, leverage,
                   margin_static=margin_static, mode="cross", adjust_factor=adjust_factor,
                   tiers=tiers)["liq_price"]


def risk_rate(contract, side, contracts, entry_price, mark_price, leverage, margin_static,
              *, mode=None, frozen_margin=None, tiers=None, adjust_factor=None) -> Result:
    """HTX's risk rate of one margin account (liquidation at <= 0), on every row."""
    return account(contract, side, contracts, entry_price, mark_price, leverage,
                   margin_static=margin_static, mode=mode, frozen_margin=frozen_margin, adjust_factor=adjust_factor, tiers=tiers)["risk_rate"]


def _locks(t: TierTable, cid: np.ndarray, account: np.ndarray, live: np.ndarray,
           n_accounts: int, as_of: Any) -> np.ndarray:
    """Per account its locked-margin ratios (``acc_lock`` of ``account_nb``)."""
    held: dict[int, set[int]] = {}
    for a, c in zip(account[live].tolist(), cid[live].tolist()):
        if c >= 0:
            held.setdefault(a, set()).add(c)
    out = np.zeros((n_accounts, 2))
    for a, cs in held.items():
        if 0 <= a < n_accounts:
            out[a] = locked_margin.ratios([t.contracts[t.codes[c]] for c in cs], as_of)
    return out


def _mixed_assets(t: TierTable, b: Batch, cid: np.ndarray, account: np.ndarray) -> np.ndarray:
    """Rows margined in another asset than most of their account: errors, left out of it
    (one account holds one margin asset)."""
    by_account: dict[int, dict[str, list[int]]] = {}
    for i in np.flatnonzero(cid >= 0):
        asset = t.contracts[t.codes[cid[i]]].margin_asset
        by_account.setdefault(int(account[i]), {}).setdefault(asset, []).append(int(i))
    alien = np.zeros(b.n, dtype=bool)
    for assets in by_account.values():
        if len(assets) < 2:
            continue
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
            if row[3] == 0:
                row[5] = "closed"   # fully liquidated: no tier after it
            out.append(row)
        return out


def max_ladder_steps(table: TierTable) -> int:
    """Most steps any position can take: one per ladder of its group."""
    g_len = table.compile().g_len
    return int(g_len.max()) if g_len.shape[0] else 1


def _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode, **extra):
    return _position_batch(("contract", "side", "contracts", "entry_price", "leverage",
                                  *extra), contract=contract, side=side, contracts=contracts,
                           entry_price=entry_price, leverage=leverage, margin=margin,
                           mode=mode, **extra)


def liq_ladder(contract, side, contracts, entry_price, leverage, *, margin=None, tiers=None,
               mode=None) -> Ladder:
    """HTX's tiered liquidation ladder per position (docs/maths.md "Tiered liquidation")."""
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode)
    t = tiers_for(tiers, b)
    steps = max_ladder_steps(t)
    cols = {c: np.empty((b.n, steps)) for c in LADDER_COLUMNS[1:]}
    n_steps = np.empty(b.n, dtype=np.int64)
    s = np.empty(b.n, dtype=np.int8)
    liq_ladder_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                  b.floats("entry_price"), b.whole("leverage"),
                  b.floats("margin", default=NAN), *cols.values(), n_steps, s)
    res = finish(b, cols["trigger_price"][:, 0].copy(), s, t)
    n_steps[~res.ok] = 0
    return Ladder(cols, n_steps, res)


def after_liq(contract, side, contracts, entry_price, leverage, price, *, margin=None,
              tiers=None, mode=None) -> dict[str, Result]:
    """Contracts left, margin ratio and equity if the mark reaches ``price`` (keys
    ``contracts``, ``margin_ratio``, ``equity``)."""
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      price=price)
    t = tiers_for(tiers, b)
    left, ratio, eq, s = _out(b, 3)
    after_liq_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                 b.floats("entry_price"), b.whole("leverage"),
                 b.floats("margin", default=NAN), b.floats("price"), left, ratio, eq, s)
    first = finish(b, left, s, t)
    ratio_status = np.where(first.ok & ~np.isfinite(ratio), st.LIQUIDATED,
                            first.status).astype(np.int16)
    msgs = dict(first.messages)
    for i in np.flatnonzero(ratio_status == st.LIQUIDATED):
        msgs.setdefault(int(i), status_message(st.LIQUIDATED, b, int(i), t))
    return {"contracts": first,
            "margin_ratio": Result(np.where(ratio_status == st.OK, ratio, NAN), ratio_status,
                                   msgs),
            "equity": first.alike(eq)}


def add_margin(contract, side, contracts, entry_price, leverage, target_liq_price,
               *, margin=None, tiers=None, mode=None) -> Result:
    """Margin to add (negative: removable) so the liquidation price becomes the target."""
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      target_liq_price=target_liq_price)
    t = tiers_for(tiers, b)
    out, s = _out(b)
    add_margin_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                  b.floats("entry_price"), b.whole("leverage"),
                  b.floats("target_liq_price"), b.floats("margin", default=NAN), out, s)
    return finish(b, out, s, t)


def leverage_for_distance(contract, side, contracts, entry_price, distance, *, tiers=None,
                          mode=None) -> dict[str, Result]:
    """Highest published leverage whose initial margin keeps the liquidation price at
    least ``distance`` (fraction of entry) away, with that margin (keys ``leverage``,
    ``margin``)."""
    b = _position_batch(("contract", "side", "contracts", "entry_price", "distance"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, distance=distance, mode=mode)
    t = tiers_for(tiers, b)
    lev, m, s = _out(b, 2)
    leverage_for_distance_nb(t.compile(), b.contracts(t), b.modes(), b.sides(),
                             b.floats("contracts"), b.floats("entry_price"),
                             b.floats("distance"), lev, m, s)
    first = finish(b, lev, s, t)
    return {"leverage": first, "margin": first.alike(m)}


def max_open(contract, equity, price, leverage, *, margin_ladders=None, tiers=None, mode=None,
             position_limit=None) -> dict[str, Result]:
    """Available margin under HTX's tiered margin and the max contracts that can be
    opened (keys ``contracts``, ``available``)."""
    b = _position_batch(("contract", "equity", "price", "leverage"), contract=contract,
                        equity=equity, price=price, leverage=leverage, mode=mode,
                        position_limit=position_limit)
    t = tiers_for(tiers, b)
    # the bands take the contract ids of the table the kernel reads: the resolved one
    lm = resolve_margin_ladders(margin_ladders, t).compile(t)
    avail, n, s = _out(b, 2)
    max_open_nb(t.compile(), lm, b.contracts(t), b.modes(), b.floats("equity"),
                b.floats("price"), b.whole("leverage"),
                b.floats("position_limit", default=NAN), avail, n, s)
    first = finish(b, n, s, t)
    return {"contracts": first, "available": first.alike(avail)}


def insurance(contract, side, contracts, entry_price, leverage, exec_price, *, margin=None,
              fee_rate=None, tiers=None, fund_balance=None, mode=None) -> dict[str, Result]:
    """Insurance-fund change when the position is fully liquidated and executed at
    ``exec_price`` (keys ``change``, ``uncovered`` (needs ``fund_balance``),
    ``bankruptcy_price``)."""
    b = _ladder_batch(contract, side, contracts, entry_price, leverage, margin, mode,
                      exec_price=exec_price, fee_rate=fee_rate, fund_balance=fund_balance)
    t = tiers_for(tiers, b)
    change, unc, pb, s = _out(b, 3)
    insurance_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
                 b.floats("entry_price"), b.whole("leverage"), b.floats("exec_price"),
                 b.floats("margin", default=NAN), b.floats("fee_rate", default=0.0),
                 b.floats("fund_balance", default=NAN), change, unc, pb, s)
    first = finish(b, change, s, t)
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
    return finish(b, out, s, snapshot())


# ------------------------------------------------------------------ liquidation map

LIQMAP_COLUMNS = ("bucket_low", "bucket_high", "long_contracts", "short_contracts",
                  "long_notional", "short_notional", "cumulative_notional")
MAX_BUCKETS = 100_000


@dataclass
class LiqMap:
    """A liquidation map: per bucket ``[low, high)`` the contracts and notional
    force-closed, longs and shorts apart (``hist`` rows as ``htxcore.liqmap``); ``mark``
    the price the cumulative column counts from; ``result`` the per-position statuses."""

    price_from: float
    step: float
    hist: np.ndarray
    mark: float
    result: Result

    @property
    def lows(self) -> np.ndarray:
        return self.price_from + self.step * np.arange(self.hist.shape[1])

    def cumulative(self) -> np.ndarray:
        """Notional force-closed if the price moves from the mark to the bucket: longs
        summed from the mark down, shorts from the mark up."""
        lows = self.lows
        below = lows + self.step <= self.mark
        above = lows >= self.mark
        long_v, short_v = self.notional("long"), self.notional("short")
        out = np.zeros_like(long_v)
        out[below] = np.cumsum(long_v[below][::-1])[::-1]
        out[above] = np.cumsum(short_v[above])
        inside = ~below & ~above          # the bucket holding the mark: both sides
        out[inside] = long_v[inside] + short_v[inside]
        return out

    def notional(self, side: str) -> np.ndarray:
        """The notional per bucket: the sum plus its rounding error, rounded once."""
        if side == "long":
            return self.hist[LONG_V] + self.hist[LONG_E]
        return self.hist[SHORT_V] + self.hist[SHORT_E]

    def columns(self) -> dict[str, np.ndarray]:
        lows = self.lows
        return {"bucket_low": lows, "bucket_high": lows + self.step,
                "long_contracts": self.hist[LONG_Q], "short_contracts": self.hist[SHORT_Q],
                "long_notional": self.notional("long"),
                "short_notional": self.notional("short"),
                "cumulative_notional": self.cumulative()}

    def table(self) -> list[list]:
        """Header plus one row per bucket (what Excel spills)."""
        cols = self.columns()
        return [list(LIQMAP_COLUMNS)] + [[float(cols[c][k]) for c in LIQMAP_COLUMNS]
                                         for k in range(self.hist.shape[1])]


def map_buckets(price_from: float, price_to: float, step: float) -> int:
    """Number of buckets of a range, or an error naming the argument."""
    for name, v in (("price_from", price_from), ("price_to", price_to), ("step", step)):
        if not (isinstance(v, float) and 0 < v < MAX_INPUT):
            raise ArgError(f"{name} = {v!r}: must be a price > 0")
    if price_to <= price_from:
        raise ArgError(f"price_to = {price_to:g} must be above price_from = {price_from:g}")
    buckets = np.ceil((price_to - price_from) / step - 1e-9)   # inf for a tiny step
    if not buckets <= MAX_BUCKETS:
        least = (price_to - price_from) / MAX_BUCKETS
        raise ArgError(f"step = {step:g} makes more than {MAX_BUCKETS:,} buckets from "
                       f"{price_from:g} to {price_to:g}: take a step of at least {least:.6g}")
    return int(buckets)


def _one_contract(cid: np.ndarray, t: Any, map_contract: Any) -> np.ndarray:
    """``cid`` with every row of another contract than the map's set to -1 (no position)."""
    present = [t.codes[c] for c in np.unique(cid[cid >= 0]).tolist()]
    one = Batch(map_contract=map_contract)
    if one.n != 1:
        raise ArgError("map_contract: expects a single cell (the contract to map)")
    map_contract = one.value("map_contract", 0)
    if is_blank(map_contract):
        if len(present) > 1:
            listed = ", ".join(present[:6]) + (", ..." if len(present) > 6 else "")
            raise XlhtxError(f"the range holds {listed}: a map adds up contracts of one "
                             "contract; give map_contract (one map per contract)")
        return cid
    want = t.contract_id(str(map_contract).strip()) if isinstance(map_contract, str) else -1
    if want < 0:
        raise XlhtxError(f"map_contract = {describe(map_contract)}: not a contract of the "
                         f"tier table (the range holds {', '.join(present[:6]) or 'none'})")
    return np.where(cid == want, cid, -1)


def liq_map(contract, side, contracts, entry_price, leverage, margin, price_from, price_to,
            step, *, tiers=None, mark_price=None, mode=None, map_contract=None) -> LiqMap:
    """The liquidation map of a book of isolated positions (docs/maths.md), of one
    contract: ``map_contract``, or the only one the book holds. A map adds up contracts,
    and 0.001 BTC (BTC-USDT) and 100 USD (BTC-USD) contracts do not add: a book of
    several without ``map_contract`` is refused; with it, other rows add nothing."""
    lo = _account_scalar(price_from, "price_from", "the lowest price of the map")
    hi = _account_scalar(price_to, "price_to", "the highest price of the map")
    st_ = _account_scalar(step, "step", "the width of a price bucket")
    n = map_buckets(lo, hi, st_)
    mark = _account_scalar(mark_price, "mark_price", "the price the cumulative column "
                           "counts from", default=NAN)
    mark = (lo + hi) / 2 if np.isnan(mark) else mark
    b = _position_batch(("contract", "side", "contracts", "entry_price", "leverage"),
                        contract=contract, side=side, contracts=contracts,
                        entry_price=entry_price, leverage=leverage, margin=margin, mode=mode)
    t = tiers_for(tiers, b)
    cid = b.contracts(t).copy()
    cid[list(b.errors)] = -1   # an unreadable row is no position: it adds nothing
    cid = _one_contract(cid, t, map_contract)
    hist = np.zeros((HIST_ROWS, n))
    s = np.empty(b.n, dtype=np.int8)
    liq_map_nb(t.compile(), cid, b.modes(), b.sides(), b.floats("contracts"),
               b.floats("entry_price"), b.whole("leverage"), b.floats("margin", default=NAN),
               lo, st_, hist, s, numba.get_num_threads() * 4)
    res = finish(b, np.zeros(b.n), s, t)
    return LiqMap(lo, st_, hist, mark, res)
