"""Tier (ladder) lookup on a compiled tier table.

HTX publishes, per (contract, margin mode, leverage), up to five ladders
``[min_size, max_size] -> adjust_factor`` over the *net position in contracts*
(HTX "Tiered Adjustment Factor of USDT-Margined Contracts"; API
``/linear-swap-api/v1/swap_adjustfactor``). ``MMR = adjust_factor / leverage``.
Multi-Assets tables give the MMR directly plus a maximum leverage per tier; their
groups carry leverage 0, a wildcard that matches any leverage.

Array conventions (the tuple ``tt`` built by ``xlhtx.tiers.TierTable.compile``):

=============  =======  ======  ====================================================
name           dtype    length  meaning
=============  =======  ======  ====================================================
g_key          int64    G       ``contract * 2 + mode`` (mode 0 isolated, 1 cross)
g_lever        float64  G       leverage of the group; 0 = any leverage
g_start        int64    G + 1   ladder rows of group g are ``g_start[g]:g_start[g+1]``
l_min          float64  K       ladder min_size, ascending within a group
l_max          float64  K       ladder max_size, ``inf`` = unbounded
l_af           float64  K       adjust factor, NaN where the row gives an MMR
l_mmr          float64  K       MMR, NaN where the row gives an adjust factor
l_maxlev       float64  K       maximum leverage of the tier, ``inf`` = no limit
l_ladder       int64    K       HTX's ladder number (0 = lowest)
c_kind         int8     C       0 linear (USDT-margined), 1 inverse (coin-margined)
c_size         float64  C       contract size in coin (linear) / face value in USD
=============  =======  ======  ====================================================

Groups are sorted by ``(g_key, g_lever)``; lookups are binary searches.
"""

import numpy as np
from numba import njit

from htxcore import status as st

MODE_ISOLATED = 0
MODE_CROSS = 1
KIND_LINEAR = 0
KIND_INVERSE = 1


@njit(cache=True, error_model="numpy")
def find_group_nb(g_key, g_lever, key, lever):
    """Index of the group for ``(key, lever)``, else the key's wildcard group, else -1."""
    lo, hi = 0, g_key.shape[0]
    while lo < hi:  # first group with g_key >= key
        mid = (lo + hi) >> 1
        if g_key[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    first = lo
    hi = g_key.shape[0]
    while lo < hi:  # first group of this key with g_lever >= lever
        mid = (lo + hi) >> 1
        if g_key[mid] == key and g_lever[mid] < lever:
            lo = mid + 1
        else:
            hi = mid
    if lo < g_key.shape[0] and g_key[lo] == key and g_lever[lo] == lever:
        return lo
    if first < g_key.shape[0] and g_key[first] == key and g_lever[first] == 0.0:
        return first
    return -1


@njit(cache=True, error_model="numpy")
def find_ladder_nb(l_min, l_max, start, stop, net):
    """Ladder row holding ``net`` contracts in rows ``start:stop``, or -1 above the table.

    The ladder is the last one whose ``min_size <= net`` (the lowest for a net below
    every minimum); bounds are inclusive and sizes whole contracts, so a fractional
    size between ``max_size`` and the next ``min_size`` stays in the lower ladder.
    """
    lo, hi = start, stop
    while lo < hi:  # first row with l_min > net
        mid = (lo + hi) >> 1
        if l_min[mid] <= net:
            lo = mid + 1
        else:
            hi = mid
    k = lo - 1 if lo > start else start
    if net >= l_max[k] + 1.0:
        return -1
    return k


@njit(cache=True, error_model="numpy")
def ladder_mmr_nb(l_af, l_mmr, k, lever):
    """Maintenance margin rate of ladder row ``k`` at ``lever``: a / L, or the MMR given."""
    m = l_mmr[k]
    if np.isnan(m):
        m = l_af[k] / lever
    return m


@njit(cache=True, error_model="numpy")
def lookup_tier_nb(tt, contract, mode, lever, net):
    """Resolve ``(contract, mode, leverage, net contracts)`` to ``(ladder row, MMR, status)``."""
    g_key, g_lever, g_start, l_min, l_max, l_af, l_mmr, l_maxlev, l_ladder, c_kind, c_size = tt
    g = find_group_nb(g_key, g_lever, contract * 2 + mode, lever)
    if g < 0:
        return -1, np.nan, st.ERR_NO_TIER
    k = find_ladder_nb(l_min, l_max, g_start[g], g_start[g + 1], net)
    if k < 0:
        return -1, np.nan, st.ERR_SIZE_ABOVE_TIERS
    if lever > l_maxlev[k]:
        return k, np.nan, st.ERR_LEVER_ABOVE_TIER
    m = ladder_mmr_nb(l_af, l_mmr, k, lever)
    if not (m >= 0.0 and m < 1.0):
        return k, np.nan, st.ERR_TIER_VALUE
    return k, m, st.OK


@njit(cache=True, error_model="numpy")
def group_rows_nb(tt, contract, mode, lever):
    """``(start, stop)`` of the ladder rows for a position's group, ``(0, 0)`` if none."""
    g_key, g_lever, g_start = tt[0], tt[1], tt[2]
    g = find_group_nb(g_key, g_lever, contract * 2 + mode, lever)
    if g < 0:
        return 0, 0
    return g_start[g], g_start[g + 1]
