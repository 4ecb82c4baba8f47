"""Tier (ladder) lookup on a compiled tier table.

HTX publishes, per (contract, margin mode, leverage), up to five ladders
``[min_size, max_size] -> adjust_factor`` over the *net position in contracts*
(HTX "Tiered Adjustment Factor of USDT-Margined Contracts"; API
``/linear-swap-api/v1/swap_adjustfactor``). ``MMR = adjust_factor / leverage``.
Multi-Assets tables give the MMR directly plus a maximum leverage per tier; their
groups carry leverage 0, a wildcard that matches any leverage.

Array conventions (the named record ``TierArrays`` built by
``xlhtx.reference.tiers.TierTable.compile``; kernels read its fields by name):

=========  =======  =======  =========================================================
name       dtype    shape    meaning
=========  =======  =======  =========================================================
g_key      int64    G        ``contract * 2 + mode`` (mode 0 isolated, 1 cross)
g_lever    float64  G        leverage of the group (whole numbers); 0 = any leverage
g_start    int64    G + 1    ladder rows of group g are ``g_start[g]:g_start[g+1]``
l_col      int32    W        column of ``g_lut`` for each whole leverage below W (the
                             table's highest + 1); leverages without a group share
                             the last column
g_lut      int32    2C, K+1  group of ``(key, leverage column)`` over the K distinct
                             leverages; the key's any-leverage group where there is
                             no exact one (and in the last column); -1 = none
g_any      int32    2C       the key's any-leverage group (Multi-Assets), -1 = none
g_mins     float64  G, 5     the group's ladder minimums, ascending, padded with inf
lad        float64  K, 4     per ladder row: min_size, max_size (``inf`` =
                             unbounded), MMR (a / L of the group, or as given),
                             maximum leverage (``inf`` = no limit)
l_ladder   int64    K        HTX's ladder number (0 = lowest)
c_kind     int8     C        0 linear (USDT-margined), 1 inverse (coin-margined)
c_size     float64  C        contract size in coin (linear) / face value in USD
=========  =======  =======  =========================================================

Groups are sorted by ``(g_key, g_lever)``. HTX publishes whole leverages, so the group
is two loads (``l_col`` then ``g_lut``, sized by the distinct leverages, not the
highest); the ladder is a branch-free count of the group's
minimums passed (a fixed four comparisons: five ladders at most). On random books both beat binary searches, whose mispredicted
branches cost more than the rest of a liquidation price (``benchmarks/kernels.py``).
Row-level helpers that take arrays are straight-line code (no branches, preconditions
checked by the caller): Numba then prunes the reference counting of their array
arguments, which otherwise costs more per row than the whole computation. They take
the arrays they need, never the whole ``tt`` record.
"""

from collections import namedtuple

from numba import njit

from htxcore import status as st

MODE_ISOLATED = 0
MODE_CROSS = 1
KIND_LINEAR = 0
KIND_INVERSE = 1
# columns of ``lad``
LAD_MIN, LAD_MAX, LAD_MMR, LAD_MAXLEV = 0, 1, 2, 3
# the compiled tier table: one named record, its fields read by name in every kernel
TierArrays = namedtuple("TierArrays", ["g_key", "g_lever", "g_start", "g_lut", "l_col",
                                       "g_any", "g_mins", "lad", "l_ladder", "c_kind",
                                       "c_size"])
MAX_LADDERS = 5   # width of g_mins: HTX publishes up to five ladders (HTX API swap_adjustfactor)


@njit(error_model="numpy")
def group_of_nb(g_lut, l_col, g_any, key, lever):
    """Group of ``(key, lever)``, or -1. Needs a valid key and a finite leverage > 0."""
    li = int(min(lever, l_col.shape[0] - 1))
    whole = li == lever
    return g_lut[key, l_col[li]] * whole + g_any[key] * (1 - whole)


@njit(error_model="numpy")
def find_ladder_nb(g_mins, g_start, g, net):
    """Ladder row of group ``g`` (>= 0) holding ``net`` contracts: the last ladder whose
    ``min_size <= net``, the lowest for a net below every minimum (whether ``net`` is
    above the row's ``max_size`` is for the caller to check)."""
    return (g_start[g] + (g_mins[g, 1] <= net) + (g_mins[g, 2] <= net) + (g_mins[g, 3] <= net)
            + (g_mins[g, 4] <= net))


@njit(error_model="numpy")
def tier_status_nb(g, net, max_size, lever, max_lever, mmr):
    """Status of a resolved tier. Bounds are inclusive and sizes whole contracts, so a
    fractional size between ``max_size`` and the next ``min_size`` stays in the lower
    ladder."""
    if g < 0:
        return st.ERR_NO_TIER
    if net >= max_size + 1.0:
        return st.ERR_SIZE_ABOVE_TIERS
    if lever > max_lever:
        return st.ERR_LEVER_ABOVE_TIER
    if not (mmr >= 0.0 and mmr < 1.0):
        return st.ERR_TIER_VALUE
    return st.OK


@njit(error_model="numpy")
def lookup_tier_nb(g_lut, l_col, g_any, g_mins, g_start, lad, contract, mode, lever, net):
    """``(ladder row, MMR, status)`` of ``(contract, mode, leverage, net contracts)``.

    Preconditions (checked by the kernels): a known contract, mode 0 or 1, a finite
    leverage > 0. The ladder row and MMR mean something only when the status is OK.
    """
    g = group_of_nb(g_lut, l_col, g_any, contract * 2 + mode, lever)
    k = find_ladder_nb(g_mins, g_start, max(g, 0), net)
    mmr = lad[k, LAD_MMR]
    s = tier_status_nb(g, net, lad[k, LAD_MAX], lever, lad[k, LAD_MAXLEV], mmr)
    return k, mmr, s


@njit(error_model="numpy")
def group_rows_nb(g_lut, l_col, g_any, g_start, contract, mode, lever):
    """``(start, stop)`` of the ladder rows of a position's group, ``(0, 0)`` if none."""
    g = group_of_nb(g_lut, l_col, g_any, contract * 2 + mode, lever)
    valid = g >= 0
    return g_start[max(g, 0)] * valid, g_start[max(g, 0) + 1] * valid
