"""Contract and tier (adjustment-factor ladder) tables: parsing, validation, compiling.

Shapes read (docs/maths.md "Tiers"):
* HTX's ``swap_adjustfactor`` / ``swap_cross_adjustfactor`` JSON: data -> contract ->
  list -> lever_rate -> ladders (ladder, min_size, max_size (null = unbounded),
  adjust_factor).
* HTX's ``swap_contract_info`` JSON: contract_code, contract_size.
* Plain rows as an Excel range arrives: header ``contract_code, margin_mode, lever_rate,
  ladder, min_size, max_size, adjust_factor`` with optional ``mmr``, ``contract_size``,
  ``max_leverage``.
* Multi-Assets Collateral rows: ``contract_code, tier, max_leverage, position_limit,
  mmr`` (optional ``margin_mode``, default cross): the MMR is given, any leverage up to
  the tier's maximum.

``TierTable.compile()`` turns a table into the flat arrays of ``htxcore.tiers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Sequence

import numpy as np

from htxcore.tiers import (KIND_INVERSE, MAX_LADDERS, MODE_CROSS, MODE_ISOLATED, SLOTS, UNBOUNDED,
                           TierArrays)
from xlhtx.reference.contracts import (KINDS, Contract, default_size, infer_kind,
                                       parse_contract_info)
from xlhtx.reference.tables import TableError, api_data, number, records, text

MODES = {"isolated": MODE_ISOLATED, "cross": MODE_CROSS}
INF = math.inf


@dataclass(frozen=True)
class Ladder:
    contract: str
    mode: str
    lever: float           # 0 = any leverage (Multi-Assets tables)
    ladder: int
    min_size: float
    max_size: float        # inf = unbounded
    adjust_factor: float   # nan where an MMR is given
    mmr: float = math.nan
    max_leverage: float = INF


def mode_name(v: Any, where: str) -> str:
    m = str(v or "").strip().lower()
    if m not in MODES:
        raise TableError(f"{where}: margin_mode = {v!r}; use isolated or cross")
    return m


@dataclass
class TierTable:
    contracts: dict[str, Contract]
    ladders: list[Ladder]
    source: str = ""
    as_of: str = ""
    ladder_margin: Any = None   # xlhtx.reference.ladder_margin.MarginLadders, when loaded
    _compiled: Any = field(default=None, repr=False, compare=False)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_api(cls, adjustfactor: Any, contract_info: Any = None, *,
                 default_mode: str = "isolated", source: str = "", as_of: str = "",
                 contracts: dict[str, Contract] | None = None) -> "TierTable":
        """HTX JSON; contract sizes from ``contract_info``, else ``contracts``."""
        contracts = dict(contracts or {})
        if contract_info is not None:
            contracts.update(parse_contract_info(contract_info))
        ladders = parse_adjustfactor(adjustfactor, default_mode)
        return cls(_with_inferred(contracts, ladders), ladders, source, as_of).validated()

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]], contracts: dict[str, Contract] | None = None,
                  *, source: str = "worksheet", as_of: str = "") -> "TierTable":
        """Plain rows or Multi-Assets rows, told apart by their header. Contract sizes
        come from a ``contract_size`` column, else ``contracts``."""
        rows = list(rows)
        header = {str(h).strip().lower() for h in (rows[0] if rows else []) if h is not None}
        if "position_limit" in header:
            ladders, sizes = parse_multi_assets_rows(rows)
        else:
            ladders, sizes = parse_tier_rows(rows)
        contracts = dict(contracts or {})
        for code, size in sizes.items():
            kind = contracts[code].kind if code in contracts else infer_kind(code)
            contracts[code] = Contract(code, kind, size)
        return cls(_with_inferred(contracts, ladders), ladders, source, as_of).validated()

    def validated(self) -> "TierTable":
        if not self.ladders:
            raise TableError("tiers: the table has a header but no ladders; give at least "
                             "one row (contract_code, margin_mode, lever_rate, ladder, "
                             "min_size, max_size, adjust_factor)")
        groups: dict[tuple, list[Ladder]] = {}
        for lad in self.ladders:
            groups.setdefault((lad.contract, lad.mode, lad.lever), []).append(lad)
        for (code, mode, lever), lads in groups.items():
            where = _group_name(code, mode, lever)
            if lever != int(lever) or lever > 10_000:
                raise TableError(f"{where}: lever_rate must be a whole number up to 10,000 "
                                 "(HTX publishes whole leverages)")
            lads.sort(key=lambda x: x.min_size)
            if len(lads) > MAX_LADDERS:
                raise TableError(f"{where}: {len(lads)} ladders; HTX publishes at most "
                                 f"{MAX_LADDERS} per contract and leverage")
            for a, b in zip(lads, lads[1:]):
                if b.min_size <= a.max_size:
                    raise TableError(f"{where}: ladder {b.ladder} ({b.min_size:g}-) overlaps "
                                     f"ladder {a.ladder} (-{a.max_size:g})")
            for lad in lads:
                _check_rate(lad, where)
                if lad.max_size < lad.min_size:
                    raise TableError(f"{where}: ladder {lad.ladder} has max_size "
                                     f"{lad.max_size:g} < min_size {lad.min_size:g}")
        for code in {lad.contract for lad in self.ladders}:
            if code not in self.contracts:
                raise TableError(f"tiers: contract {code} has no contract size; add a "
                                 "contract_size column or a Contracts row")
        self.compile()   # a table the kernels cannot read is refused when it is loaded
        return self

    # ---------------------------------------------------------------- compiling
    @cached_property
    def codes(self) -> list[str]:
        return sorted(self.contracts)

    @cached_property
    def index(self) -> dict[str, int]:
        """Contract code (upper case) -> contract id of the compiled arrays."""
        return {c.upper(): i for i, c in enumerate(self.codes)}

    def compile(self) -> TierArrays:
        """The flat arrays ``tt`` of ``htxcore.tiers`` (computed once)."""
        if self._compiled is None:
            self._compiled = _compile(self)
        return self._compiled

    def contract_id(self, code: Any) -> int:
        return self.index.get(str(code).strip().upper(), -1) if isinstance(code, str) else -1

    def contract(self, code: str) -> Contract | None:
        i = self.contract_id(code)
        return self.contracts[self.codes[i]] if i >= 0 else None

    def leverages(self, code: str, mode: str) -> list[float]:
        """Leverages with ladders for a contract and mode (for messages and drop-downs)."""
        c = self.contract(code)
        if c is None:
            return []
        return sorted({lad.lever for lad in self.ladders
                       if lad.contract == c.code and lad.mode == mode})

    def with_contracts(self, contracts: dict[str, Contract]) -> "TierTable":
        """The same ladders with ``contracts`` added (replacing those of the same code)."""
        return TierTable({**self.contracts, **contracts}, self.ladders, self.source,
                         self.as_of, self.ladder_margin)

    def to_rows(self) -> list[list[Any]]:
        """Header + rows in the plain shape (what the workbook's Tiers sheet holds)."""
        head = ["contract_code", "margin_mode", "lever_rate", "ladder", "min_size",
                "max_size", "adjust_factor", "mmr", "contract_size"]
        out: list[list[Any]] = [head]
        for lad in sorted(self.ladders, key=lambda x: (x.contract, x.mode, x.lever, x.min_size)):
            out.append([lad.contract, lad.mode, lad.lever or None, lad.ladder, lad.min_size,
                         None if lad.max_size == INF else lad.max_size,
                         None if math.isnan(lad.adjust_factor) else lad.adjust_factor,
                         None if math.isnan(lad.mmr) else lad.mmr,
                         self.contracts[lad.contract].size])
        return out


def _check_rate(lad: Ladder, where: str) -> None:
    """A maintenance margin rate must stay below the initial margin rate ``1/L``: at or
    above it a position is liquidated the moment it opens, and its liquidation price lies
    beyond its entry. HTX's adjustment factors are below 1."""
    if not math.isnan(lad.adjust_factor) and not 0 <= lad.adjust_factor < 1:
        raise TableError(f"{where}: ladder {lad.ladder} adjust_factor = {lad.adjust_factor:g}; "
                         "HTX's factors are from 0 to below 1 (MMR = factor / leverage must "
                         "stay below the initial margin rate 1 / leverage)")
    if not math.isnan(lad.mmr):
        cap = 1 / lad.max_leverage if lad.max_leverage != INF else 1.0
        if lad.lever:
            cap = min(cap, 1 / lad.lever)
        if not 0 <= lad.mmr < cap:
            raise TableError(f"{where}: ladder {lad.ladder} mmr = {lad.mmr:g}; it must be "
                             f"from 0 to below {cap:g} (the initial margin rate 1 / leverage)")


def _with_inferred(contracts: dict[str, Contract], ladders: list[Ladder]) -> dict[str, Contract]:
    out = dict(contracts)
    for lad in ladders:
        if lad.contract not in out:
            kind = infer_kind(lad.contract)
            size = default_size(lad.contract, kind)
            if size is not None:
                out[lad.contract] = Contract(lad.contract, kind, size)
    return out


def group_offsets(keys: list[tuple[int, float]]) -> tuple[list, list, list]:
    """Sorted ``(key, lever)`` per row -> each group's key, lever and first row, plus the
    end (the ``g_key, g_lever, g_start`` layout of ``htxcore.tiers``)."""
    g_key, g_lever, g_start = [], [], []
    for j, k in enumerate(keys):
        if j == 0 or k != keys[j - 1]:
            g_key.append(k[0])
            g_lever.append(k[1])
            g_start.append(j)
    g_start.append(len(keys))
    return g_key, g_lever, g_start


def _group_name(code: str, mode: str, lever: float) -> str:
    """How messages name a ladder group: ``tiers BTC-USDT isolated 125x`` (no leverage
    for an any-leverage group)."""
    return f"tiers {code} {mode} {lever:g}x" if lever else f"tiers {code} {mode}"


def _whole(x: float, name: str, lad: Ladder, top: int) -> int:
    """``x`` as a whole number for the packed layout (``UNBOUNDED`` for ``inf``)."""
    if x == INF:
        return UNBOUNDED
    if not (0 <= x <= top and x == int(x)):
        where = _group_name(lad.contract, lad.mode, lad.lever)
        raise TableError(f"{where}: ladder {lad.ladder} {name} = {x:g}; it must be a whole "
                         f"number from 0 to {top:,} (HTX counts sizes in whole contracts "
                         "and publishes whole leverages)")
    return int(x)


# the largest group table with a column per whole leverage (16 MB of int32): every
# real HTX table is far below it; beyond it columns are the distinct leverages only
DENSE_CELLS = 1 << 22


def _group_columns(g_key: list, g_lever: list, n_keys: int) -> tuple:
    """``(g_lut, l_col)`` of the layout: one column per whole leverage up to the highest
    (``l_col`` None) while that stays within ``DENSE_CELLS``, else one per distinct
    leverage with ``l_col`` mapping a leverage to its column, so a 20,000-contract table
    at 10,000x stays small. The last column is each key's any-leverage group."""
    levers = sorted({int(x) for x in g_lever if x})
    top = int(max(g_lever, default=0))
    if n_keys * (top + 2) <= DENSE_CELLS:
        l_col, n_cols = None, top + 2
        col = {w: w for w in levers}
    else:
        l_col = np.full(top + 1, len(levers), dtype=np.int32)
        l_col[levers] = np.arange(len(levers), dtype=np.int32)
        n_cols = len(levers) + 1
        col = {w: j for j, w in enumerate(levers)}
    g_lut = np.full((n_keys, n_cols), -1, dtype=np.int32)
    for g, (key, lever) in enumerate(zip(g_key, g_lever)):
        if lever == 0:
            g_lut[key, :] = g
    for g, (key, lever) in enumerate(zip(g_key, g_lever)):
        if lever:
            g_lut[key, col[int(lever)]] = g
    return g_lut, l_col


def _compile(table: TierTable) -> TierArrays:
    """The packed layout of ``htxcore.tiers``: the one place it is built and checked."""
    cid = {c: i for i, c in enumerate(table.codes)}
    lads = sorted(table.ladders, key=lambda x: (cid[x.contract] * 2 + MODES[x.mode],
                                                 x.lever, x.min_size))
    g_key, g_lever, g_start = group_offsets(
        [(cid[x.contract] * 2 + MODES[x.mode], x.lever) for x in lads])
    n_g, n_keys = len(g_key), 2 * max(len(table.codes), 1)
    g_lut, l_col = _group_columns(g_key, g_lever, n_keys)
    # sizes below UNBOUNDED - 1 so that max_size + 1 and a clamped net stay below it
    top = UNBOUNDED - 2
    mins = np.full((n_g, 4), UNBOUNDED, dtype=np.int64)
    lad = np.full((n_g * SLOTS, 4), np.nan)
    l_bound = np.zeros(n_g * SLOTS, dtype=np.int64)
    l_ladder = np.full(n_g * SLOTS, -1, dtype=np.int64)
    for g in range(n_g):
        for j, x in enumerate(lads[g_start[g]:g_start[g + 1]]):
            k = g * SLOTS + j
            low = _whole(x.min_size, "min_size", x, top)
            high = _whole(x.max_size, "max_size", x, top)
            cap = _whole(x.max_leverage, "max_leverage", x, UNBOUNDED - 1)
            if j:
                mins[g, j - 1] = low
            l_bound[k] = ((high + 1 if high != UNBOUNDED else UNBOUNDED) << 32) | cap
            # MMR at the group's leverage: a / L, or the MMR a Multi-Assets row gives
            mmr = x.mmr if not math.isnan(x.mmr) else x.adjust_factor / x.lever
            lad[k] = (x.min_size, x.max_size, mmr, x.max_leverage)
            l_ladder[k] = x.ladder
    sizes = []
    for c in table.codes:
        size = table.contracts[c].size
        if not 0 < size < INF:
            raise TableError(f"contracts: {c} contract_size = {size:g}; it must be a number > 0")
        sizes.append(-size if KINDS[table.contracts[c].kind] == KIND_INVERSE else size)
    return TierArrays(
        g_key=np.asarray(g_key, dtype=np.int64), g_lever=np.asarray(g_lever, dtype=np.float64),
        g_len=np.diff(np.asarray(g_start, dtype=np.int64)), g_lut=g_lut, l_col=l_col,
        g_mins=np.ascontiguousarray((mins[:, 0::2] | (mins[:, 1::2] << 32)).T),
        lad=np.ascontiguousarray(lad.T),
        l_bound=l_bound, l_ladder=l_ladder, c_size=np.asarray(sizes, dtype=np.float64))


# -------------------------------------------------------------------- parsers


def parse_adjustfactor(payload: Any, default_mode: str = "isolated") -> list[Ladder]:
    """HTX ``swap_adjustfactor`` / ``swap_cross_adjustfactor`` JSON -> ladders."""
    out = []
    for n, item in enumerate(api_data(payload, "adjust factors"), start=1):
        item = _obj(item, f"adjust factors: entry {n}")
        code = str(item.get("contract_code", "")).strip().upper()
        if not code:
            raise TableError(f"adjust factors: entry {n} has no contract_code")
        mode = mode_name(item.get("margin_mode") or default_mode, f"adjust factors {code}")
        for lev in _list(item.get("list"), f"adjust factors {code}: 'list'"):
            lev = _obj(lev, f"adjust factors {code}: an entry of 'list'")
            lever = number(dict(lev, _row=code), "lever_rate", "adjust factors", minimum=0)
            if not lever > 0:
                raise TableError(f"adjust factors {code}: lever_rate = {lever:g}; a leverage "
                                 "is a number > 0")
            where = f"adjust factors {code} {lever:g}x"
            for j, lad in enumerate(_list(lev.get("ladders"), f"{where}: 'ladders'")):
                rec = dict(_obj(lad, f"{where}: ladder {j}"), _row=f"{code} {lever:g}x ladder {j}")
                out.append(Ladder(
                    code, mode, lever, int(number(rec, "ladder", where, blank=j)),
                    number(rec, "min_size", where, minimum=0),
                    number(rec, "max_size", where, blank=INF),
                    number(rec, "adjust_factor", where, minimum=0)))
    return out


def _obj(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise TableError(f"{where}: expected an object with named fields, got "
                         f"{type(v).__name__}")
    return v


def _list(v: Any, where: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise TableError(f"{where}: expected a list, got {type(v).__name__}")
    return v


TIER_COLUMNS = ("contract_code", "margin_mode", "lever_rate", "ladder", "min_size",
                "max_size", "adjust_factor")


def parse_tier_rows(rows: Iterable[Sequence[Any]]) -> tuple[list[Ladder], dict[str, float]]:
    """Plain tier rows -> ladders and the contract sizes some rows carry."""
    recs = records(rows, "tiers", TIER_COLUMNS[:6],
                   (*TIER_COLUMNS[6:], "mmr", "contract_size", "max_leverage"))
    ladders, sizes = [], {}
    for r in recs:
        code = text(r, "contract_code", "tiers").upper()
        af = number(r, "adjust_factor", "tiers", blank=math.nan, minimum=0)
        mmr = number(r, "mmr", "tiers", blank=math.nan, minimum=0)
        if math.isnan(af) and math.isnan(mmr):
            raise TableError(f"tiers row {r['_row']}: give adjust_factor or mmr")
        lever = number(r, "lever_rate", "tiers", blank=0.0, minimum=0)
        if lever == 0 and math.isnan(mmr):
            raise TableError(f"tiers row {r['_row']}: lever_rate is empty; an adjust_factor "
                             "row needs a leverage (only an mmr row may leave it empty)")
        ladders.append(Ladder(
            code, mode_name(r.get("margin_mode"), f"tiers row {r['_row']}"), lever,
            int(number(r, "ladder", "tiers", minimum=0)),
            number(r, "min_size", "tiers", minimum=0), number(r, "max_size", "tiers", blank=INF),
            af, mmr, number(r, "max_leverage", "tiers", blank=INF, minimum=0)))
        size = number(r, "contract_size", "tiers", blank=0.0, minimum=0)
        if size > 0:
            sizes[code] = size
    return ladders, sizes


def parse_multi_assets_rows(rows: Iterable[Sequence[Any]]) -> tuple[list[Ladder], dict[str, float]]:
    """Multi-Assets rows (tier, max_leverage, position_limit, mmr) -> ladders.

    ``position_limit`` is the tier's upper bound in contracts; a tier starts one contract
    above the previous tier's limit.
    """
    recs = records(rows, "multi-assets tiers",
                   ("contract_code", "tier", "max_leverage", "position_limit", "mmr"),
                   ("margin_mode", "contract_size"))
    by_code: dict[tuple, list[dict]] = {}
    for r in recs:
        key = (text(r, "contract_code", "multi-assets tiers").upper(),
               mode_name(r.get("margin_mode") or "cross", f"multi-assets tiers row {r['_row']}"))
        by_code.setdefault(key, []).append(r)
    ladders, sizes = [], {}
    for (code, mode), rs in by_code.items():
        rs.sort(key=lambda r: number(r, "tier", "multi-assets tiers"))
        lo = 0.0
        for j, r in enumerate(rs):
            hi = number(r, "position_limit", "multi-assets tiers", blank=INF, minimum=0)
            ladders.append(Ladder(code, mode, 0.0, j, lo, hi, math.nan,
                                  number(r, "mmr", "multi-assets tiers", minimum=0),
                                  number(r, "max_leverage", "multi-assets tiers", minimum=0)))
            lo = hi + 1
            size = number(r, "contract_size", "multi-assets tiers", blank=0.0, minimum=0)
            if size > 0:
                sizes[code] = size
    return ladders, sizes
