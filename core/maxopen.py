"""Available margin under HTX's tiered margin and the maximum open size (docs/maths.md "Available margin";
HTX API ``/linear-swap-api/v1/swap_ladder_margin``).

Above a threshold of equity only a fraction of further equity is available to open
positions at a given leverage. A band maps margin balance ``[b_min, b_max]`` linearly
to available margin ``[a_min, a_max]``; an unbounded top band continues at ``rate``
per unit of balance. Max open contracts = ``floor(available * L / margin per contract
value)``, capped by the position limit.

Risk-limit contracts (HTX's USDT-M system since 2026, ``/v5/market/risk/limit``): a
leverage is allowed up to its tier's ``max_lever``, so the leverage caps the size: at
most the ``max_volume`` of the highest tier whose ``max_lever`` is at least ``L``
(``ERR_LEVER_ABOVE_TIER`` when no tier allows ``L``). The new system publishes no margin
bands: unless the user gives some, all equity is available (HTX's ``available_margin``
is equity - initial margin).

Array conventions: as ``htxcore.position``; ``lm`` is the compiled margin-ladder record
``MarginArrays(g_key, g_lever, g_start, b_min, b_max, a_min, a_max, rate)`` grouped like
the tier table (``htxcore.tiers``); a contract/leverage without bands has all equity available.
``limit`` NaN = no position limit.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from htxcore import status as st
from htxcore.position import nonneg_nb, positive_nb, value_nb
from htxcore.tiers import (LAD_MAX, LAD_MAXLEV, contract_nb, group_of_nb, group_rows_nb,
                           risk_limit_nb)

# the compiled margin ladders, read by field name
MarginArrays = namedtuple("MarginArrays", ["g_key", "g_lever", "g_start", "b_min", "b_max",
                                           "a_min", "a_max", "rate"])

# tolerance for floor(): 67,500 * 30 / (0.001 * 50,000) must give 40,500, not 40,499
FLOOR_EPS = 1e-9


@njit(error_model="numpy")
def find_group_nb(g_key, g_lever, key, lever):
    """Band group of ``(key, lever)`` by binary search over ``(g_key, g_lever)``, or -1."""
    lo, hi = 0, g_key.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if g_key[mid] < key or (g_key[mid] == key and g_lever[mid] < lever):
            lo = mid + 1
        else:
            hi = mid
    if lo < g_key.shape[0] and g_key[lo] == key and g_lever[lo] == lever:
        return lo
    return -1


@njit(error_model="numpy")
def available_nb(lm, key, lever, equity):
    """Available margin for ``equity`` on the bands of group ``(key, lever)``."""
    g_start, b_min, b_max, a_min, a_max, rate = (lm.g_start, lm.b_min, lm.b_max, lm.a_min,
                                                 lm.a_max, lm.rate)
    g = find_group_nb(lm.g_key, lm.g_lever, key, lever)
    if g < 0:
        return equity
    j, stop = g_start[g], g_start[g + 1]
    if equity < b_min[j]:
        return equity
    while j + 1 < stop and b_min[j + 1] <= equity:
        j += 1
    if b_max[j] == np.inf:
        return a_min[j] + (equity - b_min[j]) * rate[j]
    if equity > b_max[j]:  # above the last bounded band: continue at its rate
        return a_max[j] + (equity - b_max[j]) * rate[j]
    w = b_max[j] - b_min[j]
    return a_min[j] + (equity - b_min[j]) * ((a_max[j] - a_min[j]) / w if w > 0.0 else 0.0)


@njit(error_model="numpy")
def floor_count_nb(x):
    k = np.floor(x)
    if x - k > 1.0 - FLOOR_EPS * max(1.0, x):
        k += 1.0
    return k


@njit(error_model="numpy")
def leverage_cap_nb(lad, start, stop, lever):
    """Most contracts a risk-limit group allows at ``lever``: the largest ``max_size``
    of its tiers whose maximum leverage is at least ``lever`` (-1: none allows it)."""
    cap = -1.0
    for k in range(start, stop):
        if lad[LAD_MAXLEV, k] >= lever:
            cap = max(cap, lad[LAD_MAX, k])
    return cap


@njit(cache=True, error_model="numpy")
def max_open_nb(tt, lm, contract, mode, equity, price, lever, limit, out_available,
                out_contracts, status):
    """Available margin and the maximum contracts that can be opened per row."""
    c_size = tt.c_size
    for i in range(equity.shape[0]):
        out_available[i] = np.nan
        out_contracts[i] = np.nan
        c = contract[i]
        s = st.OK
        if c < 0 or c >= c_size.shape[0]:
            s = st.ERR_CONTRACT
        elif not nonneg_nb(equity[i]):
            s = st.ERR_EQUITY
        elif not positive_nb(price[i]):
            s = st.ERR_PRICE
        elif not positive_nb(lever[i]):
            s = st.ERR_LEVERAGE
        elif not (np.isnan(limit[i]) or nonneg_nb(limit[i])):
            s = st.ERR_LIMIT
        elif mode[i] != 0 and mode[i] != 1:
            s = st.ERR_MODE
        elif group_of_nb(tt.g_lut, tt.l_col, c * 2 + mode[i], lever[i]) < 0:
            s = st.ERR_NO_TIER   # a leverage HTX does not offer for this contract
        cap = np.inf
        if s == st.OK and risk_limit_nb(tt.c_sys, c):
            start, stop = group_rows_nb(tt.g_lut, tt.l_col, tt.g_len, c, mode[i], lever[i])
            cap = leverage_cap_nb(tt.lad, start, stop, lever[i])
            if cap < 0.0:
                s = st.ERR_LEVER_ABOVE_TIER
        status[i] = s
        if s != st.OK:
            continue
        avail = available_nb(lm, c * 2 + mode[i], lever[i], equity[i])
        kind, size = contract_nb(c_size, c)
        per_contract = value_nb(kind, size, 1.0, price[i]) / lever[i]
        n = floor_count_nb(avail / per_contract)
        if not np.isnan(limit[i]):
            n = min(n, limit[i])
        n = min(n, cap)
        out_available[i] = avail
        out_contracts[i] = n
