"""Kernel status codes -> short messages for a person.

Errors of input start with ``#VALUE!``, failed look-ups with ``#N/A`` (so Excel users
recognise them and ``ISERROR``-style checks on text still read naturally); results that
have no number but are not mistakes ("no liquidation") carry no prefix. Each message
names the argument (``htxcore.status.ARGUMENT``: each input error belongs to one), the
value given and what would be valid.
"""

from __future__ import annotations

from typing import Any, Callable

from htxcore import status as st
import numpy as np

from xlhtx.coerce import Batch, Categorical, describe
from xlhtx.reference.tiers import RISK_LIMIT
from xlhtx.statuses import EMPTY, INPUT, RULES, TABLE

# a margin ratio with no equity left is +inf: a cell cannot show it, so it says so
NO_EQUITY = "past liquidation: no equity left (margin ratio infinite)"

# the rules and fixed words of every status are in one table, xlhtx.statuses; this
# module only puts a row's argument and value into them


def status_message(code: int, batch: Batch, i: int, table: Any) -> str:
    """The message for row ``i`` of ``batch`` whose kernel status is ``code``."""
    fixed = TABLE.get(code)
    if fixed is not None and fixed.words:   # the same words on every row (the table's)
        return fixed.words
    if code == st.ERR_CONTRACT:
        return _unknown_contract(batch.value("contract", i), table)
    name = st.ARGUMENT.get(code)
    if name is not None:
        value = f" = {describe(batch.value(name, i))}" if name in batch.raw else ""
        return f"#VALUE! {name}{value}: {RULES[code]}"
    return _OTHER.get(code, _generic)(code, batch, i, table)


class Wording:
    """``status_message`` for many rows of one batch, each distinct message built once
    (a million rows with the same unknown contract word it once, not a million times)."""

    def __init__(self, batch: Batch, table: Any):
        self.batch, self.table = batch, table
        self.cache: dict[tuple, str] = {}

    def __call__(self, code: int, i: int) -> str:
        try:
            key = (code, *(self.batch.value(c, i) for c in self._columns(code)))
            hit = self.cache.get(key)
        except TypeError:            # an unhashable cell: word it without the cache
            return status_message(code, self.batch, i, self.table)
        if hit is None:
            hit = self.cache[key] = status_message(code, self.batch, i, self.table)
        return hit

    def rows(self, code: int, rows: np.ndarray) -> np.ndarray:
        """The messages of ``rows`` that share ``code``: one per distinct key. A key read
        from one text column of codes (``Categorical``) is grouped without a per-row loop."""
        cols = self._columns(code)
        out = np.empty(rows.shape[0], dtype=object)
        if not cols:
            out[:] = self(code, int(rows[0]))
            return out
        col = self.batch.raw[cols[0]]
        if len(cols) == 1 and isinstance(col, Categorical) and len(col) == self.batch.n:
            keys, first = np.unique(col.codes[rows], return_index=True)
            for k, j in zip(keys.tolist(), first.tolist()):
                out[col.codes[rows] == k] = self(code, int(rows[j]))
            return out
        for j, i in enumerate(rows.tolist()):
            out[j] = self(code, i)
        return out

    def _columns(self, code: int) -> tuple[str, ...]:
        """The cells a message reads (see ``status_message`` and its helpers)."""
        raw = self.batch.raw
        fixed = TABLE.get(code)
        if fixed is not None and fixed.words:
            return ()
        if code == st.ERR_CONTRACT:
            return ("contract",)
        if code in st.ARGUMENT:
            return (st.ARGUMENT[code],) if st.ARGUMENT[code] in raw else ()
        return tuple(c for c in ("contract", "mode", "leverage", "contracts", "net_contracts")
                     if c in raw)


def fold(batch: Batch, status: np.ndarray, table: Any) -> tuple[np.ndarray, dict[int, str]]:
    """Every row's final status and words: a cell that could not be read is ``INPUT`` with
    the coercion's words (naming the cell), a row with nothing in it ``EMPTY`` without
    words, any other row keeps its kernel code, worded from the status table. The one
    place a result's statuses are settled: the API's functions and ``xlhtx calc`` both
    end here."""
    status = np.asarray(status, dtype=np.int16).copy()
    if batch.errors:
        status[np.fromiter(batch.errors, dtype=np.int64)] = INPUT
    bad = status != st.OK
    if not bad.any():
        return status, {}
    empty = bad & batch.empty_mask()
    status[empty] = EMPTY
    messages = {i: text for i, text in batch.errors.items() if not empty[i]}
    rest = bad & ~empty & (status != INPUT)
    words = Wording(batch, table)
    for code in np.unique(status[rest]).tolist():
        rows = np.flatnonzero(rest & (status == code))
        messages.update(zip(rows.tolist(), words.rows(code, rows).tolist()))
    return status, messages


def _unknown_contract(v: Any, table: Any) -> str:
    known = ", ".join(table.codes[:8]) + (", ..." if len(table.codes) > 8 else "")
    return f"#N/A contract {describe(v)} is not in the contract table (known: {known})"


def _where(batch: Batch, i: int) -> tuple[str, str, Any]:
    code = str(batch.value("contract", i)).strip().upper()
    mode = "isolated"
    if "mode" in batch.raw:
        m = batch.value("mode", i)
        mode = str(m).strip().lower() if isinstance(m, str) and m.strip() else "isolated"
    return code, mode, batch.value("leverage", i)


def _no_tier(code: int, batch: Batch, i: int, table: Any) -> str:
    contract, mode, lev = _where(batch, i)
    if table.systems.get(contract) == RISK_LIMIT:
        other = sorted({x.mode for x in table.ladders if x.contract == contract} - {mode})
        has = f" (it has {' and '.join(other)})" if other else ""
        return f"#N/A no {mode} risk-limit tiers for {contract} in the tier table{has}"
    published = [x for x in table.leverages(contract, mode) if x]
    levs = ", ".join(f"{x:g}" for x in published)
    have = (f"; leverages with ladders: {levs}" if levs
            else f"; the table has no {mode} ladders for it")
    try:
        lev_f = float(lev)
    except (TypeError, ValueError):
        lev_f = float("nan")
    below = [x for x in published if x < lev_f]
    above = [x for x in published if x > lev_f]
    if below and above:
        have += f" (nearest: {below[-1]:g}x and {above[0]:g}x)"
    return f"#N/A no tier ladder for {contract} {mode} at {describe(lev)}x{have}"


def _above(code: int, batch: Batch, i: int, table: Any) -> str:
    contract, mode, lev = _where(batch, i)
    col = "net_contracts" if "net_contracts" in batch.raw else "contracts"
    q = describe(batch.value(col, i))
    return f"#N/A {q} contracts is above the last ladder of {contract} {mode} {describe(lev)}x"


def _lever_above(code: int, batch: Batch, i: int, table: Any) -> str:
    contract, mode, lev = _where(batch, i)
    col = "net_contracts" if "net_contracts" in batch.raw else "contracts"
    try:
        size = float(batch.value(col, i)) if col in batch.raw else 0.0
        tier = table.tier_at(contract, mode, size, float(lev))
    except (TypeError, ValueError):
        tier = None
    if tier is None or tier.max_leverage == float("inf"):
        return (f"#VALUE! leverage = {describe(lev)}: above the maximum leverage of the "
                f"{contract} tier for this position size")
    top = f"{tier.max_size:,.0f}" if tier.max_size != float("inf") else "any"
    return (f"#VALUE! leverage = {describe(lev)}: {contract} {mode} tier {tier.ladder} "
            f"({tier.min_size:,.0f} to {top} contracts) allows at most "
            f"{tier.max_leverage:g}x; lower the leverage or the size")


def _tier_value(code: int, batch: Batch, i: int, table: Any) -> str:
    contract, mode, lev = _where(batch, i)
    return (f"#VALUE! the {contract} {mode} {describe(lev)}x ladder gives a maintenance "
            "margin rate of 100% or more (adjust factor >= leverage): check the Tiers table")


def _generic(code: int, batch: Batch, i: int, table: Any) -> str:
    return f"#VALUE! cannot compute this row (status {code})"


_OTHER: dict[int, Callable[..., str]] = {
    st.ERR_NO_TIER: _no_tier,
    st.ERR_SIZE_ABOVE_TIERS: _above,
    st.ERR_LEVER_ABOVE_TIER: _lever_above,
    st.ERR_TIER_VALUE: _tier_value,
}
