"""Insurance fund and auto-deleveraging (docs/maths.md "Insurance fund"; HTX "Liquidation Rules for Futures
Trading").

A fully liquidated position is taken over at its bankruptcy price and executed in the
market. Better than bankruptcy: the surplus, less the liquidation fee, goes to the
insurance fund; worse: the fund pays the shortfall, and what the fund cannot pay goes
to ADL, which closes profitable opposite positions ranked by
``PnL ratio * effective leverage`` (highest first).

The position taken over is what is left after HTX's tiered liquidation steps
(``htxcore.liquidation``), with the margin balance it has then.

Array conventions: as ``htxcore.position``; ``fee_rate`` a fraction of the value at the
execution price (0.0005 = 0.05%), ``fund_balance`` NaN when unknown.
"""

import numpy as np
from numba import njit

from htxcore import status as st
from htxcore.liquidation import ladder_start_nb, walk_nb
from htxcore.tiers import contract_nb
from htxcore.position import (finite_nb, nonneg_nb, pnl_row_nb, positive_nb, solve_leg_nb,
                              value_nb)


@njit(cache=True, error_model="numpy")
def insurance_nb(tt, contract, mode, side, q, entry, lever, exec_price, margin, fee_rate,
                 fund_balance, out_change, out_uncovered, out_bankruptcy, status):
    """Insurance-fund change (+ surplus / - shortfall), the shortfall the fund cannot
    cover (needs ``fund_balance``) and the bankruptcy price of the position taken over."""
    c_size = tt.c_size
    for i in range(q.shape[0]):
        out_change[i] = np.nan
        out_uncovered[i] = np.nan
        out_bankruptcy[i] = np.nan
        c = contract[i]
        m, s = ladder_start_nb(c_size, c, mode[i], side[i], q[i], entry[i], lever[i],
                               margin[i])
        if s == st.OK and not positive_nb(exec_price[i]):
            s = st.ERR_EXEC_PRICE
        if s == st.OK and not (fee_rate[i] >= 0.0 and fee_rate[i] < 1.0):
            s = st.ERR_FEE
        if s == st.OK and not (np.isnan(fund_balance[i]) or nonneg_nb(fund_balance[i])):
            s = st.ERR_FUND
        if s != st.OK:
            status[i] = s
            continue
        # the tiered steps first: what is left at the full liquidation is taken over
        qq, m, s = walk_nb(tt, c, mode[i], side[i], q[i], entry[i], lever[i], m, np.nan)
        status[i] = s
        if s != st.OK:
            continue
        kind, size = contract_nb(c_size, c)
        pb, s = solve_leg_nb(kind, size, side[i], qq, entry[i], 0.0, m)
        status[i] = s
        if s != st.OK:
            continue
        surplus = pnl_row_nb(kind, size, side[i], qq, pb, exec_price[i])
        if surplus > 0.0:
            fee = fee_rate[i] * value_nb(kind, size, qq, exec_price[i])
            change = max(surplus - fee, 0.0)
        else:
            change = surplus
        out_change[i] = change
        out_bankruptcy[i] = pb
        if not np.isnan(fund_balance[i]):
            out_uncovered[i] = max(-change - max(fund_balance[i], 0.0), 0.0)


@njit(error_model="numpy")
def adl_score_nb(pnl, margin):
    """PnL ratio * effective leverage; ``notional`` multiplies in the caller."""
    equity = margin + pnl
    if equity <= 0.0:
        return -np.inf
    return (pnl / margin) / equity


@njit(cache=True, error_model="numpy")
def adl_rank_nb(pnl, margin, notional, out_rank, status):
    """ADL priority per position, 1 = deleveraged first.

    Profitable positions by ``(pnl / margin) * (notional / (margin + pnl))``, highest
    first; losing or flat positions after them, in the same order of score. Ties keep
    row order. Invalid rows get no rank; ranks of valid rows are 1..n_valid.
    """
    n = pnl.shape[0]
    score = np.empty(n)
    valid = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        out_rank[i] = np.nan
        s = st.OK
        if not finite_nb(pnl[i]):
            s = st.ERR_PNL
        elif not positive_nb(margin[i]):
            s = st.ERR_MARGIN
        elif not positive_nb(notional[i]):
            s = st.ERR_NOTIONAL
        status[i] = s
        if s == st.OK:
            valid[i] = True
            score[i] = adl_score_nb(pnl[i], margin[i]) * notional[i]
        else:
            score[i] = -np.inf
    order = np.argsort(-score, kind="mergesort")
    r = 1.0
    for profitable in (True, False):  # every profitable position before any other
        for j in range(n):
            i = order[j]
            if valid[i] and (pnl[i] > 0.0) == profitable:
                out_rank[i] = r
                r += 1.0
