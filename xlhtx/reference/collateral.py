"""Multi-Assets Collateral: an account's equity from the assets it holds (HTX "How to
Calculate Margin Ratio in Multi-Assets Collateral Mode"; rates from
``/v5/market/multi_assets_margin``).

Each asset counts at ``amount x index price x collateral rate`` (the rate is one minus
HTX's haircut, 90-95% for most coins; 1 for USDT); a negative amount is a liability and
counts in full, at its index price, with no haircut. The sum is the account's balance
before the positions' unrealized PnL: give balances without PnL (HTX's wallet
balances), since the account kernel adds the PnL of the positions it is given. HTX
also subtracts the potential loss of open orders; that is not computed here (add it as
a negative USDT row).

A collateral range is a header row (``currency, amount`` and optional ``index_price``,
``collateral_rate``) plus one row per asset.
"""

from __future__ import annotations

from typing import Any, Sequence

from xlhtx.reference.tables import TableError, number, records, text

COLUMNS = ("currency", "amount")
OPTIONAL = ("index_price", "collateral_rate")
STABLE = ("USDT",)   # counted at 1 USDT per unit when no index price is given


def collateral_value(rows: Sequence[Sequence[Any]], asset: str = "USDT") -> float | None:
    """The account balance in ``asset`` that the collateral rows are worth; None for a
    range with no asset (a header and empty rows: no collateral)."""
    recs = records(rows, "collateral", COLUMNS, OPTIONAL)
    if not recs:
        return None
    total = 0.0
    for r in recs:
        where = f"collateral row {r['_row']}"
        coin = text(r, "currency", "collateral").upper()
        amount = number(r, "amount", "collateral")
        # USDT counts at 1; any other coin needs its index price (0 stands for "none")
        default_price = 1.0 if coin in (asset, *STABLE) else 0.0
        price = number(r, "index_price", "collateral", blank=default_price, minimum=0)
        if not price > 0:
            raise TableError(f"{where}: {coin} has no index_price; give its price in {asset} "
                             "(> 0)")
        rate = number(r, "collateral_rate", "collateral", blank=1.0, minimum=0)
        if rate > 1:
            raise TableError(f"{where}: collateral_rate = {rate:g}; a rate is from 0 to 1 "
                             "(1 - HTX's haircut, e.g. 0.95)")
        total += amount * price * (rate if amount > 0 else 1.0)
    return total
