"""Liquidation map of a book: contracts and notional force-closed per price bucket,
longs and shorts apart, following HTX's tiered liquidation (docs/maths.md "Liquidation
map"; HTX "Partial Liquidation").

Each position walks its ladder (``liquidation.next_step_nb``): every partial step closes
``contracts_before - contracts_after`` at its trigger price and lands in that price's
bucket; the full liquidation closes the rest at the final trigger (a risk-limit
contract: all of it at its liquidation price, ``htxcore.liquidation``). Buckets are
``[price_from + k*step, price_from + (k+1)*step)``; a trigger outside the range is not
counted. Histograms add up, so a book split into partitions gives the same map summed.

Array conventions: as ``htxcore.position`` (isolated positions; ``margin`` NaN = the
initial margin). ``hist`` is a float64 ``(HIST_ROWS, n_buckets)`` array the kernel adds
into: rows ``LONG_Q, SHORT_Q`` (contracts: whole numbers, summed exactly) and
``LONG_V, SHORT_V`` (notional) with ``LONG_E, SHORT_E``, the rounding error of each
notional sum (TwoSum): the map's notional is ``V + E``, the exact sum rounded once, so
any split into partitions or threads gives the same digits. Notional is in the quote
currency: ``q * size * P`` USDT for linear contracts, ``q * face value`` USD for
coin-margined ones. ``status`` per position as ``htxcore.status``.
"""

import numpy as np
from numba import njit, prange

from htxcore import status as st
from htxcore.liquidation import ladder_start_nb, next_step_nb
from htxcore.tiers import KIND_LINEAR, contract_nb, risk_limit_nb

LONG_Q, SHORT_Q, LONG_V, SHORT_V, LONG_E, SHORT_E = 0, 1, 2, 3, 4, 5
HIST_ROWS = 6


@njit(error_model="numpy")
def two_sum_nb(a, b):
    """``(s, e)`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(error_model="numpy")
def add_value_nb(hist, row, k, x):
    """Add ``x`` to notional row ``row`` (LONG_V / SHORT_V), keeping the rounding error."""
    hist[row, k], e = two_sum_nb(hist[row, k], x)
    hist[row + 2, k] += e


@njit(cache=True, error_model="numpy")
def merge_nb(into, part):
    """Add histogram ``part`` into ``into`` (contracts plainly, notional with TwoSum)."""
    for k in range(into.shape[1]):
        into[LONG_Q, k] += part[LONG_Q, k]
        into[SHORT_Q, k] += part[SHORT_Q, k]
        for row in (LONG_V, SHORT_V):
            into[row, k], e = two_sum_nb(into[row, k], part[row, k])
            into[row + 2, k] += e + part[row + 2, k]


@njit(error_model="numpy")
def bucket_nb(price, price_from, step, n_buckets):
    """Bucket of ``price``, or -1 outside the range."""
    k = np.floor((price - price_from) / step)
    if k >= 0.0 and k < n_buckets:
        return int(k)
    return -1


@njit(error_model="numpy")
def map_position_nb(tt, c, mode, side, q, entry, lever, margin, price_from, step, hist):
    """Add one position's liquidation steps into ``hist``; returns its status."""
    m, s = ladder_start_nb(tt.c_size, c, mode, side, q, entry, lever, margin)
    if s != st.OK:
        return s
    kind, size = contract_nb(tt.c_size, c)
    n_buckets = hist.shape[1]
    partial = not risk_limit_nb(tt.c_sys, c)
    qq = q
    while qq > 0.0:
        p, qa, kb, ka, ma, s = next_step_nb(tt.g_lut, tt.l_col, tt.g_len, tt.g_mins, tt.lad,
                                            tt.l_bound, tt.l_ladder, kind, size, c, mode,
                                            side, qq, entry, lever, m, partial)
        if s == st.NO_LIQUIDATION:
            return st.OK            # what is left is never liquidated: nothing to map
        if s != st.OK:
            return s
        closed = qq - qa
        k = bucket_nb(p, price_from, step, n_buckets)
        if k >= 0:
            value = closed * size * (p if kind == KIND_LINEAR else 1.0)
            row = LONG_Q if side > 0 else SHORT_Q
            hist[row, k] += closed
            add_value_nb(hist, row + 2, k, value)
        qq, m = qa, ma
    return st.OK


@njit(cache=True, parallel=True, error_model="numpy")
def liq_map_nb(tt, contract, mode, side, q, entry, lever, margin, price_from, step, hist,
               status, chunks):
    """Add the book's liquidation map into ``hist`` (see the module docstring); the rows
    are split into ``chunks`` (a few per thread), each with its own histogram."""
    n = q.shape[0]
    chunks = max(1, min(chunks, n))
    parts = np.zeros((chunks, hist.shape[0], hist.shape[1]))
    for j in prange(chunks):   # one histogram per chunk: no two threads add to one
        for i in range(j * n // chunks, (j + 1) * n // chunks):
            status[i] = map_position_nb(tt, contract[i], mode[i], side[i], q[i], entry[i],
                                        lever[i], margin[i], price_from, step, parts[j])
    for j in range(chunks):
        merge_nb(hist, parts[j])
