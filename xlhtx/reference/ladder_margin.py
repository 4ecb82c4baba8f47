"""HTX tiered available margin (``swap_ladder_margin``): parsing and compiling.

JSON shape: data -> contract -> list -> lever_rate -> ladders of ``min_margin_balance,
max_margin_balance, min_margin_available, max_margin_available`` (null = unbounded).
Plain rows: ``contract_code, margin_mode, lever_rate, min_margin_balance,
max_margin_balance, min_margin_available, max_margin_available`` and optional ``ratio``.

The marginal rate of an unbounded top band is its ``ratio`` if given; otherwise the
slope of the band below it (1 when there is none). HTX's own examples (docs/maths.md "Available margin") give
the rate; the bundled snapshot carries it as ``ratio``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from htxcore.maxopen import MarginArrays

from xlhtx.reference.tables import TableError, api_data, number, records, text
from xlhtx.reference.tiers import MODES, TierTable, group_offsets, mode_name

INF = math.inf


@dataclass(frozen=True)
class Band:
    contract: str
    mode: str
    lever: float
    min_balance: float
    max_balance: float
    min_available: float
    max_available: float
    ratio: float = math.nan


class MarginLadders:
    def __init__(self, bands: list[Band]):
        self.bands = sorted(bands, key=lambda b: (b.contract, b.mode, b.lever, b.min_balance))
        self._compiled: tuple | None = None
        self._validate()

    @classmethod
    def from_api(cls, payload: Any, default_mode: str = "isolated") -> "MarginLadders":
        bands = []
        for item in api_data(payload, "ladder margin"):
            code = str(item.get("contract_code", "")).strip().upper()
            mode = mode_name(item.get("margin_mode") or default_mode, f"ladder margin {code}")
            for lev in item.get("list") or []:
                lever = number(dict(lev, _row=code), "lever_rate", "ladder margin", minimum=0)
                for j, lad in enumerate(lev.get("ladders") or []):
                    bands.append(_band(dict(lad, _row=f"{code} {lever:g}x band {j}"), code,
                                       mode, lever, "ladder margin"))
        return cls(bands)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> "MarginLadders":
        cols = ("contract_code", "margin_mode", "lever_rate", "min_margin_balance",
                "max_margin_balance", "min_margin_available", "max_margin_available")
        bands = []
        for r in records(rows, "margin ladders", cols, ("ratio",)):
            code = text(r, "contract_code", "margin ladders").upper()
            bands.append(_band(r, code, mode_name(r.get("margin_mode"),
                                                  f"margin ladders row {r['_row']}"),
                               number(r, "lever_rate", "margin ladders", minimum=0),
                               "margin ladders"))
        return cls(bands)

    def _validate(self) -> None:
        for a, b in zip(self.bands, self.bands[1:]):
            if (a.contract, a.mode, a.lever) == (b.contract, b.mode, b.lever) and \
                    b.min_balance < a.max_balance:
                raise TableError(f"margin ladders {a.contract} {a.mode} {a.lever:g}x: band "
                                 f"from {b.min_balance:g} overlaps the band up to "
                                 f"{a.max_balance:g}")

    def to_rows(self) -> list[list[Any]]:
        out: list[list[Any]] = [["contract_code", "margin_mode", "lever_rate",
                                 "min_margin_balance", "max_margin_balance",
                                 "min_margin_available", "max_margin_available", "ratio"]]
        none = lambda x: None if (math.isinf(x) or math.isnan(x)) else x  # noqa: E731
        for b in self.bands:
            out.append([b.contract, b.mode, b.lever, b.min_balance, none(b.max_balance),
                        b.min_available, none(b.max_available), none(b.ratio)])
        return out

    def compile(self, table: TierTable) -> MarginArrays:
        """The ``lm`` record of ``htxcore.maxopen`` with contract ids of ``table`` (the
        last one compiled is kept: a workbook recalculates against one tier table)."""
        if self._compiled is not None and self._compiled[0] is table:
            return self._compiled[1]
        bands = [b for b in self.bands if table.contract_id(b.contract) >= 0]
        bands.sort(key=lambda b: (table.contract_id(b.contract) * 2 + MODES[b.mode], b.lever,
                                  b.min_balance))
        keys = [(table.contract_id(b.contract) * 2 + MODES[b.mode], b.lever) for b in bands]
        g_key, g_lever, g_start = group_offsets(keys)
        rates = []
        for j, b in enumerate(bands):
            prev = bands[j - 1] if j and keys[j - 1] == keys[j] else None
            rates.append(_rate(b, prev))
        f64 = lambda xs: np.ascontiguousarray(xs, dtype=np.float64)  # noqa: E731
        lm = MarginArrays(
            g_key=np.asarray(g_key, dtype=np.int64), g_lever=f64(g_lever),
            g_start=np.asarray(g_start, dtype=np.int64),
            b_min=f64([b.min_balance for b in bands]), b_max=f64([b.max_balance for b in bands]),
            a_min=f64([b.min_available for b in bands]),
            a_max=f64([b.max_available for b in bands]), rate=f64(rates))
        self._compiled = (table, lm)
        return lm


def _slope(b: Band) -> float:
    w = b.max_balance - b.min_balance
    return (b.max_available - b.min_available) / w if w > 0 else 0.0


def _rate(b: Band, prev: Band | None) -> float:
    if not math.isnan(b.ratio):
        return b.ratio
    if math.isfinite(b.max_balance):
        return _slope(b)
    return _slope(prev) if prev is not None and math.isfinite(prev.max_balance) else 1.0


def _band(rec: dict, code: str, mode: str, lever: float, table: str) -> Band:
    b = Band(code, mode, lever,
             number(rec, "min_margin_balance", table, minimum=0),
             number(rec, "max_margin_balance", table, blank=INF),
             number(rec, "min_margin_available", table, minimum=0),
             number(rec, "max_margin_available", table, blank=INF),
             number(rec, "ratio", table, blank=math.nan, minimum=0))
    if b.max_balance < b.min_balance:
        raise TableError(f"{table} {rec['_row']}: max_margin_balance < min_margin_balance")
    if math.isfinite(b.max_balance) != math.isfinite(b.max_available):
        raise TableError(f"{table} {rec['_row']}: max_margin_balance and "
                         "max_margin_available must both be given or both be empty")
    return b
