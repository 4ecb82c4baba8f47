"""HTX's locked-margin optimization: which accounts charge a hedged pair's margin once.

HTX "Announcement on the Launch of Huobi Futures Locked Margin Optimization Function"
(support article 900001259343): coin-margined delivery futures from 2020-06-12 17:00
(GMT+8) waive the smaller of a contract's long and short position margin in full, and of
what then remains long and short across a coin's contracts, half.
"[Notice] Huobi Coin-Margined Swaps Now Support Locked Margin Optimization Function"
(support article 900003126443): coin-margined swaps from 2020-10-15 16:00 (GMT+8), the
smaller side of a contract in full. USDT-margined futures were never announced with it:
both legs are charged (and HTX's new USDT-M system tiers each side on its own).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from xlhtx.errors import XlhtxError
from xlhtx.reference.contracts import Contract, is_coin_delivery

GMT8 = timezone(timedelta(hours=8))
DELIVERY_FROM = datetime(2020, 6, 12, 17, 0, tzinfo=GMT8)
SWAP_FROM = datetime(2020, 10, 15, 16, 0, tzinfo=GMT8)
NONE = (0.0, 0.0)
SWAP = (1.0, 0.0)          # per contract 100%
DELIVERY = (1.0, 0.5)      # per contract 100%, across a coin's contracts 50%


def moment(as_of: Any) -> datetime:
    """``as_of`` as a time: None = now; a datetime or date; an HTX ``ts`` in milliseconds
    since 1970; an ISO date text."""
    if as_of is None:
        return datetime.now(timezone.utc)
    if isinstance(as_of, datetime):
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)
    if isinstance(as_of, date):
        return datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    if isinstance(as_of, (int, float)) and not isinstance(as_of, bool) and \
            0 < as_of < 1e14:
        return datetime.fromtimestamp(as_of / 1000, timezone.utc)
    if isinstance(as_of, str):
        try:
            return moment(datetime.fromisoformat(as_of.strip()))
        except ValueError:
            pass
    raise XlhtxError(f"as_of = {as_of!r}: give a date (2020-10-15), a datetime or HTX's ts "
                     "in milliseconds")


def ratios(contracts: Iterable[Contract], as_of: Any = None) -> tuple[float, float]:
    """The locked-margin ratios (per contract, across contracts) of an account holding
    ``contracts`` at ``as_of``."""
    cs = list(contracts)
    if not cs or any(c.kind != "inverse" for c in cs):
        return NONE
    when = moment(as_of)
    if all(is_coin_delivery(c.code) for c in cs):
        return DELIVERY if when >= DELIVERY_FROM else NONE
    if not any(is_coin_delivery(c.code) for c in cs):
        return SWAP if when >= SWAP_FROM else NONE
    return NONE    # swaps and delivery futures are separate accounts at HTX
