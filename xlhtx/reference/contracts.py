"""Contracts: code, kind (USDT-margined linear or coin-margined inverse) and size.

Linear contracts (``BTC-USDT``, ``BTC-USDT-211210``) have a contract size in the base
coin; inverse ones (``BTC-USD``, delivery ``BTC200710``) a face value in USD: 100 USD
for BTC, 10 USD for every other coin (HTX "Contract Specifications").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from htxcore.tiers import KIND_INVERSE, KIND_LINEAR
from xlhtx.reference.tables import TableError, api_data, number, records, text

KINDS = {"linear": KIND_LINEAR, "inverse": KIND_INVERSE}


@dataclass(frozen=True)
class Contract:
    code: str
    kind: str          # "linear" (USDT-margined) or "inverse" (coin-margined)
    size: float        # coin per contract (linear) or USD face value (inverse)

    @property
    def margin_asset(self) -> str:
        """USDT (or USDC) for linear contracts, the coin for inverse ones."""
        if self.kind != "linear":
            return coin_of(self.code)
        parts = self.code.upper().split("-")
        return parts[1] if len(parts) > 1 and parts[1] else "USDT"


def coin_of(code: str) -> str:
    """The coin of a contract code: ``BTC-USDT``, ``BTC-USD``, ``BTC-USDT-211210``,
    ``BTC200710`` (delivery), ``BTC_CQ`` -> ``BTC``."""
    return code.upper().split("-")[0].split("_")[0].rstrip("0123456789")


def infer_kind(code: str) -> str:
    """HTX codes: ``BTC-USDT`` (and USDC) are linear, ``BTC-USD`` inverse."""
    parts = code.upper().split("-")
    return "linear" if len(parts) > 1 and parts[1] in ("USDT", "USDC") else "inverse"


# HTX's contract codes (API references): coin-margined swaps BTC-USD; coin-margined
# delivery futures BTC200710 or BTC_CQ (this/next week, this/next quarter); USDT-margined
# delivery futures BTC-USDT-211210 or BTC-USDT-CQ
COIN_SWAP = re.compile(r"[A-Z][A-Z0-9]*-USD")
COIN_DELIVERY = re.compile(r"([A-Z][A-Z0-9]*?)(\d{6}|_(?:CW|NW|CQ|NQ))")
LINEAR_DELIVERY = re.compile(r"([A-Z][A-Z0-9]*-USD[TC])-(\d{6}|CW|NW|CQ|NQ)")


def is_coin_delivery(code: str) -> bool:
    """A coin-margined delivery futures code (``BTC200710``, ``BTC_CQ``)."""
    return COIN_DELIVERY.fullmatch(code.strip().upper()) is not None


def infer_contract(code: str, known: Any) -> Contract | None:
    """A contract HTX's code defines when a table lacks it (``known(code)`` gives a
    table's contract or None): a coin-margined swap or delivery code HTX's face value
    (100 USD BTC, 10 USD other coins, "Contract Specifications"); a USDT-margined
    delivery code its swap's size. None for anything else (a typo stays unknown)."""
    code = code.strip().upper()
    if COIN_SWAP.fullmatch(code) or COIN_DELIVERY.fullmatch(code):
        return Contract(code, "inverse", default_size(code, "inverse"))
    m = LINEAR_DELIVERY.fullmatch(code)
    swap = known(m.group(1)) if m else None
    return Contract(code, "linear", swap.size) if swap is not None else None


def default_size(code: str, kind: str) -> float | None:
    """Face value of coin-margined contracts: 100 USD for BTC, 10 USD otherwise."""
    if kind == "inverse":
        return 100.0 if coin_of(code) == "BTC" else 10.0
    return None


def parse_contract_info(payload: Any) -> dict[str, Contract]:
    """HTX ``swap_contract_info`` JSON -> contracts (``kind`` inferred from the code)."""
    out = {}
    for i, item in enumerate(api_data(payload, "contract info"), start=1):
        if not isinstance(item, dict):
            raise TableError(f"contract info row {i}: expected an object with named fields")
        rec = dict(item, _row=i)
        code = text(rec, "contract_code", "contract info").upper()
        kind = str(item.get("kind") or infer_kind(code))
        if kind not in KINDS:
            raise TableError(f"contract info row {i}: kind {kind!r}; use linear or inverse")
        out[code] = Contract(code, kind, number(rec, "contract_size", "contract info", minimum=0))
        if out[code].size <= 0:
            raise TableError(f"contract info row {i}: contract_size must be > 0")
    return out


def parse_contract_rows(rows: Iterable[Sequence[Any]]) -> dict[str, Contract]:
    """Contracts sheet rows: ``contract_code, contract_size`` with optional ``kind``."""
    out = {}
    for r in records(rows, "contracts", ("contract_code", "contract_size"), ("kind",)):
        code = text(r, "contract_code", "contracts").upper()
        kind = text(r, "kind", "contracts", default=infer_kind(code)).lower()
        if kind not in KINDS:
            raise TableError(f"contracts row {r['_row']}: kind {kind!r}; use linear or inverse")
        size = number(r, "contract_size", "contracts", minimum=0)
        if size <= 0:
            raise TableError(f"contracts row {r['_row']}: contract_size must be > 0")
        if code in out and (out[code].size, out[code].kind) != (size, kind):
            raise TableError(f"contracts row {r['_row']}: {code} again with contract_size "
                             f"{size:g} ({kind}), above {out[code].size:g} "
                             f"({out[code].kind}); a contract has one size")
        out[code] = Contract(code, kind, size)
    return out
