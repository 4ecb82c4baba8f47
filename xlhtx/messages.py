"""Kernel status codes -> short messages for a person.

Errors of input start with ``#VALUE!``, failed look-ups with ``#N/A`` (so Excel users
recognise them and ``ISERROR``-style checks on text still read naturally); results that
have no number but are not mistakes ("no liquidation") carry no prefix. Each message
names the argument, the value given and what would be valid.
"""

from __future__ import annotations

from typing import Any, Callable

from htxcore import status as st
from xlhtx.coerce import Batch, describe

# roles a status refers to -> the argument name used by the calling function
ROLE_OF = {
    st.ERR_CONTRACT: "contract", st.ERR_SIDE: "side", st.ERR_CONTRACTS: "contracts",
    st.ERR_ENTRY: "entry", st.ERR_PRICE: "price", st.ERR_LEVERAGE: "leverage",
    st.ERR_MARGIN: "margin", st.ERR_MODE: "mode", st.ERR_TARGET: "target",
    st.ERR_BALANCE: "balance", st.ERR_FEE: "fee", st.ERR_NET: "contracts",
}

RULES = {
    st.ERR_SIDE: "use long or short (buy/sell, 1/-1)",
    st.ERR_CONTRACTS: "must be a number > 0",
    st.ERR_ENTRY: "must be a price > 0",
    st.ERR_PRICE: "must be a price > 0",
    st.ERR_LEVERAGE: "must be a number > 0",
    st.ERR_MARGIN: "must be > 0 (leave it empty for the initial margin)",
    st.ERR_MODE: "use isolated or cross",
    st.ERR_TARGET: "must be a finite number",
    st.ERR_BALANCE: "must be a finite number",
    st.ERR_FEE: "must be a rate from 0 to below 1 (e.g. 0.0005)",
    st.ERR_NET: "must be a number >= 0",
}

NO_NUMBER = {
    st.NO_LIQUIDATION: "no liquidation: the margin covers the position at any price",
    st.LIQUIDATED: "liquidated: equity is 0 or below",
    st.UNREACHABLE: "#N/A the target needs a price <= 0: unreachable",
}


def status_message(code: int, batch: Batch, i: int, names: dict[str, str],
                   table: Any) -> str:
    """The message for row ``i`` of ``batch`` whose kernel status is ``code``."""
    if code in NO_NUMBER:
        return NO_NUMBER[code]
    role = ROLE_OF.get(code)
    if code == st.ERR_CONTRACT:
        return _unknown_contract(batch.value(names["contract"], i), table)
    if role is not None and role in names:
        name = names[role]
        return f"#VALUE! {name} = {describe(batch.value(name, i))}: {RULES[code]}"
    return _TIER_MESSAGES.get(code, _generic)(code, batch, i, names, table)


def _unknown_contract(v: Any, table: Any) -> str:
    known = ", ".join(table.codes[:8]) + (", ..." if len(table.codes) > 8 else "")
    return f"#N/A contract {describe(v)} is not in the contract table (known: {known})"


def _where(batch: Batch, i: int, names: dict[str, str]) -> tuple[str, str, Any]:
    code = str(batch.value(names["contract"], i)).strip().upper()
    mode = "isolated"
    if "mode" in names:
        m = batch.value(names["mode"], i)
        mode = str(m).strip().lower() if isinstance(m, str) and m.strip() else "isolated"
    return code, mode, batch.value(names["leverage"], i)


def _no_tier(code: int, batch: Batch, i: int, names: dict[str, str], table: Any) -> str:
    contract, mode, lev = _where(batch, i, names)
    levs = ", ".join(f"{x:g}" for x in table.leverages(contract, mode) if x)
    have = f"; leverages with ladders: {levs}" if levs else f"; the table has no {mode} ladders for it"
    return f"#N/A no tier ladder for {contract} {mode} at {describe(lev)}x{have}"


def _above(code: int, batch: Batch, i: int, names: dict[str, str], table: Any) -> str:
    contract, mode, lev = _where(batch, i, names)
    q = describe(batch.value(names["contracts"], i))
    return f"#N/A {q} contracts is above the last ladder of {contract} {mode} {describe(lev)}x"


def _lever_above(code: int, batch: Batch, i: int, names: dict[str, str], table: Any) -> str:
    contract, mode, lev = _where(batch, i, names)
    return (f"#VALUE! leverage = {describe(lev)}: above the maximum leverage of the "
            f"{contract} tier for this position size")


def _tier_value(code: int, batch: Batch, i: int, names: dict[str, str], table: Any) -> str:
    contract, mode, lev = _where(batch, i, names)
    return (f"#VALUE! the {contract} {mode} {describe(lev)}x ladder gives a maintenance "
            "margin rate of 100% or more (adjust factor >= leverage): check the Tiers table")


def _generic(code: int, batch: Batch, i: int, names: dict[str, str], table: Any) -> str:
    if code == st.ERR_ACCOUNT:
        return "#N/A another position of this cross account is invalid; fix that row first"
    return f"#VALUE! cannot compute this row (status {code})"


_TIER_MESSAGES: dict[int, Callable[..., str]] = {
    st.ERR_NO_TIER: _no_tier,
    st.ERR_SIZE_ABOVE_TIERS: _above,
    st.ERR_LEVER_ABOVE_TIER: _lever_above,
    st.ERR_TIER_VALUE: _tier_value,
}
