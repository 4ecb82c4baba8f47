"""Tier (ladder) lookup on a compiled tier table.

Two systems of tiers, one per contract (``c_sys``):

* **adjustment-factor ladders** (``SYS_ADJUST``; coin-margined futures, and USDT-margined
  ones before HTX's 2026 migration): per (contract, margin mode, leverage) up to five
  ladders ``[min_size, max_size] -> adjust_factor`` over the *net position in contracts*
  (HTX "Tiered Adjustment Factor of USDT-Margined Contracts"; API
  ``/linear-swap-api/v1/swap_adjustfactor``). ``MMR = adjust_factor / leverage``; a
  position above the lowest ladder is liquidated step by step (``htxcore.liquidation``).
* **risk-limit tiers** (``SYS_RISK``; HTX's USDT-M trading system since 2026 and its
  Multi-Assets Collateral mode; API ``/v5/market/risk/limit``): per (contract, margin
  mode) tiers ``[min_volume, max_volume] -> MMR`` with a maximum leverage per tier, taken
  on each position side's own contracts. Their groups carry leverage 0, a wildcard that
  matches any leverage; a leverage above the tier's ``max_lever`` is refused.

Array conventions (the named record ``TierArrays`` built and validated, in one place,
by ``xlhtx.reference.tiers.TierTable.compile``; kernels read its fields by name). The
layout is packed so the hot loop gathers as few values per row, through as short a chain
of dependent loads, as it can: every ladder of group ``g`` sits in row ``g * SLOTS + j``
(``SLOTS`` = 5, HTX's most ladders per group), sizes and leverage caps are whole numbers
held as int32 halves of int64 words, a contract's kind is the sign of its size, and the
tables indexed by a ladder or group row are 1-D or column-major, so a row's address is a
shift, not a multiplication by a stride.

=========  =======  =========  =======================================================
name       dtype    shape      meaning
=========  =======  =========  =======================================================
g_key      int64    G          ``contract * 2 + mode`` (mode 0 isolated, 1 cross)
g_lever    float64  G          leverage of the group (whole numbers); 0 = any leverage
g_len      int64    G          the group's ladder count (1 to ``SLOTS``)
g_lut      int32    2C, N      group of ``(key, leverage column)``; the last column is
                               the key's any-leverage group (Multi-Assets), also taken
                               by fractional and unlisted leverages; -1 = none
l_col      None                dense tables: column ``w`` is whole leverage ``w``
                               (N = the highest + 2), no load needed
           int32    W          large tables: the column of each whole leverage below W
                               (the highest + 1) among the N - 1 distinct ones;
                               leverages without a group share the last column
g_mins     int64    2, G       minimums of ladders 1-4 in whole contracts, two int32
                               per word (low half first), padded with ``UNBOUNDED``
lad        float64  4, G*SLOTS per ladder row (columns ``LAD_*``): min_size (as looked
                               up: a boundary contract a risk-limit tier shares with
                               the tier below starts one higher), max_size
                               (``inf`` = unbounded), MMR (a / L of the group, or as
                               given), maximum leverage (``inf`` = no limit); NaN padding
l_bound    int64    G*SLOTS    ``(max_size + 1) << 32 | max_leverage``, whole numbers,
                               ``UNBOUNDED`` in a half for no bound
l_ladder   int64    G*SLOTS    HTX's ladder number (0 = lowest); -1 padding
c_size     float64  C          contract size in coin (linear, > 0) / minus the face
                               value in USD (inverse, < 0)
c_sys      int8     C          the contract's system: ``SYS_ADJUST`` or ``SYS_RISK``
=========  =======  =========  =======================================================

Groups are sorted by ``(g_key, g_lever)``. HTX publishes whole leverages, so the group
is one load from ``g_lut`` when the table is dense (every real HTX table: a column per
whole leverage up to the highest), two when a dense table would be too large (thousands
of contracts at thousands x: then ``l_col`` maps a leverage to one of the distinct
columns first; the kernels are compiled once for each kind, the choice made where
``l_col is None`` is tested, at compile time). The ladder is a branch-free count of the
group's minimums passed (two int64 loads, four integer comparisons), and one int64 holds
both bounds the status checks. On random books this beats binary searches, whose
mispredicted branches cost more than the rest of a liquidation price, and it vectorizes
on AVX2 as on AVX-512 (``benchmarks/kernels.py``). Row-level helpers that take arrays
are straight-line code (no branches, preconditions checked by the caller): Numba then
prunes the reference counting of their array arguments, which otherwise costs more per
row than the whole computation. They take the arrays they need, never the whole ``tt``
record.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from htxcore import status as st

MODE_ISOLATED = 0
MODE_CROSS = 1
KIND_LINEAR = 0
KIND_INVERSE = 1
# a contract's system of tiers (``c_sys``)
SYS_ADJUST = 0   # adjustment-factor ladders: MMR = a / L, net position, partial liquidation
SYS_RISK = 1     # risk-limit tiers: MMR per tier, position side's contracts, leverage caps
# rows of ``lad`` (column-major: ``lad[LAD_MMR, k]``)
LAD_MIN, LAD_MAX, LAD_MMR, LAD_MAXLEV = 0, 1, 2, 3
# the compiled tier table: one named record, its fields read by name in every kernel
TierArrays = namedtuple("TierArrays", ["g_key", "g_lever", "g_len", "g_lut", "l_col",
                                       "g_mins", "lad", "l_bound", "l_ladder", "c_size",
                                       "c_sys"])
MAX_LADDERS = 5   # HTX publishes up to five ladders (HTX API swap_adjustfactor)
SLOTS = MAX_LADDERS
# a half of a packed word meaning "no bound"; sizes and caps must stay below it
UNBOUNDED = 2**31 - 1
LOW = 2**32 - 1


@njit(error_model="numpy")
def contract_nb(c_size, c):
    """``(kind, size)`` of contract ``c``: the sign of ``c_size`` is the kind."""
    sz = c_size[c]
    return np.int8(sz < 0.0), abs(sz)


@njit(error_model="numpy")
def risk_limit_nb(c_sys, c):
    """True when contract ``c`` follows risk-limit tiers (``SYS_RISK``)."""
    return c_sys[c] == SYS_RISK


@njit(error_model="numpy")
def column_nb(l_col, n_cols, lever):
    """Column of ``g_lut`` for a finite leverage > 0: its own for a whole leverage the
    table lists, else the last (any-leverage) column."""
    last = n_cols - 1
    if l_col is None:   # dense: decided when the kernel is compiled, not per row
        li = np.int64(min(lever, last - 1))
        col = li
    else:
        li = np.int32(min(lever, l_col.shape[0] - 1))
        col = l_col[li]
    # the column by arithmetic, not ``a if whole else b``: that select kept the
    # liquidation loop from vectorizing (4x slower)
    return last + (col - last) * np.int64(li == lever)


@njit(error_model="numpy")
def group_of_nb(g_lut, l_col, key, lever):
    """Group of ``(key, lever)``, or -1. Needs a valid key and a finite leverage > 0."""
    return g_lut[key, column_nb(l_col, g_lut.shape[1], lever)]


@njit(error_model="numpy")
def whole_nb(net):
    """``net`` in whole contracts, clamped below ``UNBOUNDED`` (NaN clamps high): what
    the packed minimums are compared with. For whole minimums ``m``,
    ``net >= m`` exactly when ``whole_nb(net) >= m``."""
    x = net if net < UNBOUNDED - 1.0 else UNBOUNDED - 1.0
    x = x if x > -1.0 else -1.0
    return np.int32(x)


@njit(error_model="numpy")
def halves_nb(word):
    """``(low, high)`` int32 halves of a packed int64 word (both halves are >= 0)."""
    return word & LOW, word >> 32


@njit(error_model="numpy")
def find_ladder_nb(g_mins, g, net):
    """Ladder row of group ``g`` (>= 0) holding ``net`` contracts: the last ladder whose
    ``min_size <= net``, the lowest for a net below every minimum (whether ``net`` is
    above the row's ``max_size`` is for the caller to check)."""
    n = whole_nb(net)
    m1, m2 = halves_nb(g_mins[0, g])
    m3, m4 = halves_nb(g_mins[1, g])
    return g * SLOTS + (m1 <= n) + (m2 <= n) + (m3 <= n) + (m4 <= n)


@njit(error_model="numpy")
def bounds_nb(bound):
    """``(max_size + 1, max_leverage)`` of a packed ``l_bound`` word (``inf`` = none)."""
    lo, hi = halves_nb(bound)
    return ((np.inf if hi == UNBOUNDED else float(np.int32(hi))),
            (np.inf if lo == UNBOUNDED else float(np.int32(lo))))


@njit(error_model="numpy")
def tier_status_nb(g, net, bound, lever, mmr):
    """Status of a resolved tier. Bounds are inclusive and sizes whole contracts, so a
    fractional size between ``max_size`` and the next ``min_size`` stays in the lower
    ladder."""
    above, max_lever = bounds_nb(bound)
    if g < 0:
        return st.ERR_NO_TIER
    if net >= above:
        return st.ERR_SIZE_ABOVE_TIERS
    if lever > max_lever:
        return st.ERR_LEVER_ABOVE_TIER
    if not (mmr >= 0.0 and mmr < 1.0):
        return st.ERR_TIER_VALUE
    return st.OK


@njit(error_model="numpy")
def lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, contract, mode, lever, net):
    """``(ladder row, MMR, status)`` of ``(contract, mode, leverage, net contracts)``.

    Preconditions (checked by the kernels): a known contract, mode 0 or 1, a finite
    leverage > 0. The ladder row and MMR mean something only when the status is OK.
    """
    g = group_of_nb(g_lut, l_col, contract * 2 + mode, lever)
    k = find_ladder_nb(g_mins, max(g, 0), net)
    mmr = lad[LAD_MMR, k]
    s = tier_status_nb(g, net, l_bound[k], lever, mmr)
    return k, mmr, s


@njit(error_model="numpy")
def group_rows_nb(g_lut, l_col, g_len, contract, mode, lever):
    """``(start, stop)`` of the ladder rows of a position's group, ``(0, 0)`` if none."""
    g = group_of_nb(g_lut, l_col, contract * 2 + mode, lever)
    valid = g >= 0
    start = max(g, 0) * SLOTS
    return start * valid, (start + g_len[max(g, 0)]) * valid
