"""Contract and tier tables: parsing, validation, compiling.

A contract follows one of two systems (docs/maths.md "Tiers" and "HTX's USDT-M system
since 2026"): **adjustment-factor ladders** per leverage (coin-margined futures; USDT-M
before the 2026 migration) or **risk-limit tiers** (USDT-M today, Multi-Assets): an MMR
per tier for any leverage up to the tier's maximum. In a ``Ladder`` the second has
``lever`` 0. One table may hold both, each contract in one of them.

Shapes read:
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
* Risk-limit tiers: HTX's ``/v5/market/risk/limit`` JSON, or rows with its columns
  ``contract_code, margin_mode, tier, min_volume, max_volume, max_lever,
  maintenance_margin_rate`` (``mmr`` also accepted; optional ``contract_size``).
* Several of these tables side by side in one range, an empty column between them (the
  workbook's Tiers and RiskLimits tables, passed to a function as one range).

``TierTable.compile()`` turns a table into the flat arrays of ``htxcore.tiers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Sequence

import numpy as np

from htxcore.tiers import (KIND_INVERSE, MAX_LADDERS, MODE_CROSS, MODE_ISOLATED, SLOTS,
                           SYS_ADJUST, SYS_RISK, UNBOUNDED, TierArrays)
from xlhtx.reference.contracts import (KINDS, Contract, default_size, infer_contract, infer_kind,
                                       parse_contract_info)
from xlhtx.reference.tables import TableError, api_data, norm_header, number, records, text

MODES = {"isolated": MODE_ISOLATED, "cross": MODE_CROSS}
INF = math.inf
# how messages, HTX_VERSION and the Guide name the two systems
RISK_LIMIT = "risk-limit tiers"
ADJUST_FACTOR = "adjustment-factor ladders"


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

    @property
    def risk_limit(self) -> bool:
        """A risk-limit tier (no leverage of its own: any leverage up to its maximum)."""
        return self.lever == 0


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
                 contracts: dict[str, Contract] | None = None,
                 risk_limit: Any = None) -> "TierTable":
        """HTX JSON: ``swap_adjustfactor`` ladders and/or ``/v5/market/risk/limit`` tiers;
        contract sizes from ``contract_info``, else ``contracts``."""
        contracts = dict(contracts or {})
        if contract_info is not None:
            contracts.update(parse_contract_info(contract_info))
        ladders = parse_adjustfactor(adjustfactor, default_mode) if adjustfactor else []
        if risk_limit is not None:
            ladders += parse_risk_limit(risk_limit)
        return cls(_with_inferred(contracts, ladders), ladders, source, as_of).validated()

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]], contracts: dict[str, Contract] | None = None,
                  *, source: str = "worksheet", as_of: str = "") -> "TierTable":
        """Plain, Multi-Assets or risk-limit rows, told apart by their header; several
        tables side by side (an empty column between them) are read each by its own
        header. Contract sizes come from a ``contract_size`` column, else ``contracts``."""
        return cls.from_tables(side_by_side(list(rows)), contracts, source=source,
                               as_of=as_of)

    @classmethod
    def from_tables(cls, tables: Iterable[list], contracts: dict[str, Contract] | None = None,
                    *, source: str = "worksheet", as_of: str = "") -> "TierTable":
        """Several tier tables (each a header row plus rows, any shape ``from_rows``
        reads) as one table: the workbook's Tiers and RiskLimits."""
        ladders, sizes = [], {}
        for block in tables:
            lads, sz = _parse_block(block)
            ladders += lads
            for code, size in sz.items():
                _one_size(sizes, code, size, "tiers")
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
        self._check_systems()
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
                # HTX's own risk-limit tables share one boundary contract between tiers
                # (BTC-USDT tier 4 ends and tier 5 starts at 120,000): it stays in the
                # lower tier, whose max_lever HTX allows up to its max_volume
                shared = lever == 0 and b.min_size == a.max_size
                if b.min_size <= a.max_size and not shared:
                    raise TableError(f"{where}: ladder {b.ladder} ({b.min_size:g}-) overlaps "
                                     f"ladder {a.ladder} (-{a.max_size:g})")
                if b.min_size > a.max_size + 1:
                    raise TableError(f"{where}: a gap: ladder {a.ladder} ends at "
                                     f"{a.max_size:g} contracts and ladder {b.ladder} starts "
                                     f"at {b.min_size:g}; positions between have no ladder")
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

    def _check_systems(self) -> None:
        """One system per contract: risk-limit tiers or adjustment-factor ladders."""
        seen: dict[str, Ladder] = {}
        for lad in self.ladders:
            other = seen.setdefault(lad.contract, lad)
            if other.risk_limit != lad.risk_limit:
                raise TableError(
                    f"tiers {lad.contract}: the table mixes {RISK_LIMIT} (no leverage, an "
                    f"MMR per tier) and {ADJUST_FACTOR} (per leverage) for one contract; a "
                    "contract follows one system: keep the rows of one")

    @cached_property
    def systems(self) -> dict[str, str]:
        """Contract code -> ``RISK_LIMIT`` or ``ADJUST_FACTOR`` (contracts with tiers)."""
        return {lad.contract: RISK_LIMIT if lad.risk_limit else ADJUST_FACTOR
                for lad in self.ladders}

    def system_summary(self) -> str:
        """The systems of the table in words: ``risk-limit tiers: BTC-USDT, ETH-USDT;
        adjustment-factor ladders: BTC-USD``."""
        parts = []
        for name in (RISK_LIMIT, ADJUST_FACTOR):
            codes = sorted(c for c, s in self.systems.items() if s == name)
            if codes:
                shown = ", ".join(codes[:6]) + (f" and {len(codes) - 6} more"
                                                if len(codes) > 6 else "")
                parts.append(f"{name}: {shown}")
        return "; ".join(parts)

    def tier_at(self, code: str, mode: str, size: float, lever: float) -> Ladder | None:
        """The ladder or tier holding ``size`` contracts at ``lever`` (for messages), as
        the kernels' own lookup finds it, or None."""
        from htxcore.position import tier_nb
        c = self.contract_id(code)
        if c < 0 or mode not in MODES:
            return None
        one = lambda v, t=np.float64: np.array([v], dtype=t)  # noqa: E731
        ladder, af, mmr, s = one(np.nan), one(np.nan), one(np.nan), one(0, np.int8)
        tier_nb(self.compile(), one(c, np.int32), one(MODES[mode], np.int8), one(lever),
                one(size), ladder, af, mmr, s)
        if np.isnan(ladder[0]):
            return None
        key = (self.codes[c], mode, ladder[0])
        return self._rungs.get((*key, lever)) or self._rungs.get((*key, 0))

    @cached_property
    def _rungs(self) -> dict[tuple, Ladder]:
        """(contract, mode, ladder, lever) -> its row: a message per row of a big book
        looks its tier up without scanning every ladder."""
        out: dict[tuple, Ladder] = {}
        for x in self.ladders:
            out.setdefault((x.contract, x.mode, x.ladder, x.lever), x)
        return out

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

    def resolving(self, codes: Iterable[Any]) -> "TierTable":
        """The one resolver of contract codes: this table with the contracts of ``codes``
        it lacks but HTX's codes define (``infer_contract``: coin-margined swaps and
        delivery futures, USDT-margined delivery futures of a known swap). Such a contract
        has no tiers here: figures that need them want HTX's adjustment factor or a tier
        table with the contract. Codes nothing defines stay unknown."""
        new: dict[str, Contract] = {}
        for v in codes:
            if isinstance(v, str) and v.strip() and self.contract_id(v) < 0:
                c = infer_contract(v, self.contract)
                if c is not None:
                    new[c.code] = c
        if not new:
            return self
        key = frozenset(new)
        cache = self.__dict__.setdefault("_resolving", {})
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[key] = self.with_contracts(new)
        return cache[key]

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

    def to_rows(self, risk_limit: bool | None = None) -> list[list[Any]]:
        """Header + rows in the plain shape (what the workbook's Tiers table holds): both
        systems (a risk-limit tier has no lever_rate, its mmr and max_leverage), or only
        the risk-limit tiers (``True``) or the adjustment-factor ladders (``False``)."""
        head = ["contract_code", "margin_mode", "lever_rate", "ladder", "min_size",
                "max_size", "adjust_factor", "mmr", "max_leverage", "contract_size"]
        out: list[list[Any]] = [head]
        for lad in sorted((x for x in self.ladders if risk_limit in (None, x.risk_limit)),
                          key=lambda x: (x.contract, x.mode, x.lever, x.min_size)):
            out.append([lad.contract, lad.mode, lad.lever or None, lad.ladder, lad.min_size,
                         None if lad.max_size == INF else lad.max_size,
                         None if math.isnan(lad.adjust_factor) else lad.adjust_factor,
                         None if math.isnan(lad.mmr) else lad.mmr,
                         None if lad.max_leverage == INF else lad.max_leverage,
                         self.contracts[lad.contract].size])
        if risk_limit is False:   # adjustment-factor ladders: no mmr, no max_leverage
            keep = [j for j, h in enumerate(head) if h not in ("mmr", "max_leverage")]
            out = [[row[j] for j in keep] for row in out]
        return out

    def risk_rows(self) -> list[list[Any]]:
        """Header + the risk-limit tiers with HTX's column names (the workbook's
        RiskLimits table; ``/v5/market/risk/limit``)."""
        out: list[list[Any]] = [list(RISK_COLUMNS) + ["contract_size"]]
        for lad in sorted((x for x in self.ladders if x.risk_limit),
                          key=lambda x: (x.contract, x.mode, x.min_size)):
            out.append([lad.contract, lad.mode, lad.ladder, lad.min_size,
                        None if lad.max_size == INF else lad.max_size,
                        None if lad.max_leverage == INF else lad.max_leverage, lad.mmr,
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
        high = -1
        for j, x in enumerate(lads[g_start[g]:g_start[g + 1]]):
            k = g * SLOTS + j
            # a boundary contract two risk-limit tiers share belongs to the lower one
            low = max(_whole(x.min_size, "min_size", x, top), high + 1)
            high = _whole(x.max_size, "max_size", x, top)
            cap = _whole(x.max_leverage, "max_leverage", x, UNBOUNDED - 1)
            if j:
                mins[g, j - 1] = low
            l_bound[k] = ((high + 1 if high != UNBOUNDED else UNBOUNDED) << 32) | cap
            # MMR at the group's leverage: a / L, or the MMR a Multi-Assets row gives
            mmr = x.mmr if not math.isnan(x.mmr) else x.adjust_factor / x.lever
            lad[k] = (low, x.max_size, mmr, x.max_leverage)   # the minimum the lookup uses
            l_ladder[k] = x.ladder
    systems = table.systems
    c_sys = np.array([SYS_RISK if systems.get(c) == RISK_LIMIT else SYS_ADJUST
                      for c in table.codes], dtype=np.int8)
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
        l_bound=l_bound, l_ladder=l_ladder, c_size=np.asarray(sizes, dtype=np.float64),
        c_sys=c_sys)


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
        _one_size(sizes, code, number(r, "contract_size", "tiers", blank=0.0, minimum=0),
                  f"tiers row {r['_row']}")
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
            _one_size(sizes, code, number(r, "contract_size", "multi-assets tiers",
                                          blank=0.0, minimum=0),
                      f"multi-assets tiers row {r['_row']}")
    return ladders, sizes


# the columns of HTX's /v5/market/risk/limit, as a table's header
RISK_COLUMNS = ("contract_code", "margin_mode", "tier", "min_volume", "max_volume",
                "max_lever", "maintenance_margin_rate")
# volume units HTX may state for a risk-limit row: whole contracts ("cont")
CONTRACT_UNITS = ("", "cont", "conts", "contract", "contracts")


def parse_risk_limit(payload: Any) -> list[Ladder]:
    """HTX ``/v5/market/risk/limit`` JSON (``{"code": 200, "data": [...]}``) -> tiers.

    Rows of delivery futures (``contract_type`` other than ``swap``) are refused by
    name: their codes differ from the swap's and HTX publishes them per expiry.
    """
    if isinstance(payload, dict) and payload.get("code") not in (None, 200, "200"):
        raise TableError(f"HTX returned an error for the risk limits: {payload.get('code')} "
                         f"{payload.get('message') or payload.get('msg') or ''}".strip())
    if isinstance(payload, dict):
        payload = payload.get("data")
    if not isinstance(payload, list):
        raise TableError("risk limits: expected HTX's response shape "
                         "{'code': 200, 'data': [...]} (/v5/market/risk/limit)")
    rows = [_obj(r, f"risk limits: entry {n}") for n, r in enumerate(payload, start=1)]
    for r in rows:
        kind = str(r.get("contract_type") or "swap").strip().lower()
        if kind != "swap":
            raise TableError(f"risk limits {r.get('contract_code')}: contract_type {kind!r}; "
                             "xlhtx reads the perpetual swaps' tiers (contract_type swap)")
    return _risk_ladders([dict(r, _row=n) for n, r in enumerate(rows, start=1)],
                         "risk limits")[0]


def parse_risk_rows(rows: Iterable[Sequence[Any]]) -> tuple[list[Ladder], dict[str, float]]:
    """Risk-limit rows with HTX's column names (``mmr`` for the rate also accepted)."""
    rows = list(rows)
    head = [norm_header(h) for h in rows[0]] if rows else []
    if "mmr" in head and "maintenance_margin_rate" not in head:
        rows = [[("maintenance_margin_rate" if norm_header(h) == "mmr" else h) for h in rows[0]],
                *rows[1:]]
    recs = records(rows, "risk limits", ("contract_code", "tier", "min_volume", "max_volume",
                                          "max_lever", "maintenance_margin_rate"),
                   ("margin_mode", "contract_size", "volume_unit", "contract_type"))
    return _risk_ladders(recs, "risk limits")


def _risk_ladders(recs: list[dict], table: str) -> tuple[list[Ladder], dict[str, float]]:
    ladders, sizes = [], {}
    for r in recs:
        where = f"{table} row {r['_row']}"
        code = text(r, "contract_code", table).upper()
        unit = str(r.get("volume_unit") or "").strip().lower()
        if unit not in CONTRACT_UNITS:
            raise TableError(f"{where}: volume_unit = {r.get('volume_unit')!r}; xlhtx reads "
                             "tiers counted in contracts (cont)")
        lever = number(r, "max_lever", table, minimum=0)
        if not lever >= 1:
            raise TableError(f"{where}: max_lever = {r.get('max_lever')!r}; a maximum "
                             "leverage is a number >= 1")
        ladders.append(Ladder(
            code, mode_name(r.get("margin_mode") or "cross", where), 0.0,
            int(number(r, "tier", table, minimum=0)), number(r, "min_volume", table, minimum=0),
            number(r, "max_volume", table, blank=INF, minimum=0), math.nan,
            number(r, "maintenance_margin_rate", table, minimum=0), lever))
        _one_size(sizes, code, number(r, "contract_size", table, blank=0.0, minimum=0),
                  f"{where}")
    return ladders, sizes


def _one_size(sizes: dict[str, float], code: str, size: float, where: str) -> None:
    """Record a row's contract size: one contract has one size, so a second, different
    one is refused rather than the last row winning."""
    if size <= 0:
        return
    if code in sizes and sizes[code] != size:
        raise TableError(f"{where}: {code} contract_size {size:g} differs from "
                         f"{sizes[code]:g} given above; a contract has one size")
    sizes[code] = size


def side_by_side(rows: list) -> list[list[list]]:
    """A range holding tables side by side (an empty header cell between them) -> one
    block of rows per table, each trimmed to its own columns."""
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in rows]
    if not rows:
        return [rows]
    head = rows[0]
    spans, start = [], None
    for j, h in enumerate(head + [None]):
        named = h is not None and str(h).strip() != ""
        if named and start is None:
            start = j
        elif not named and start is not None:
            spans.append((start, j))
            start = None
    if len(spans) <= 1:
        return [rows]
    return [[r[a:b] for r in rows] for a, b in spans]


def _parse_block(rows: list) -> tuple[list[Ladder], dict[str, float]]:
    header = {norm_header(h) for h in (rows[0] if rows else []) if h is not None}
    if "position_limit" in header:
        return parse_multi_assets_rows(rows)
    if header & {"max_lever", "min_volume", "max_volume", "maintenance_margin_rate"}:
        return parse_risk_rows(rows)
    return parse_tier_rows(rows)
