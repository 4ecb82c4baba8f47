"""Cross-margin liquidation prices (SPEC 2.3, HTX "Liquidation Rules for Futures Trading").

In one cross account (one margin asset) equity is ``balance + sum(PnL_i)`` and the
maintenance margin ``sum(MMR_i * V_i)``, each position at its own contract's tier, the
tier taken at the contract's *net* position ``|sum(long) - sum(short)|`` (hedge mode).
The liquidation price of position j holds every other position at its mark; with the
others folded into an effective margin ``X = balance + sum_{i!=j}(PnL_i - MM_i)`` it is
the isolated formula with margin X (``position.solve_price_nb``).

Array conventions: as ``htxcore.position``; all rows form one account, ``balance`` is a
float64 scalar. Isolated positions and frozen order margin are not part of the input.
One invalid row makes the account's totals unknown: that row gets its own status and
every other row ``ERR_ACCOUNT``.
"""

import numpy as np
from numba import njit

from htxcore import status as st
from htxcore.position import (check_position_nb, pnl_row_nb, positive_nb,
                              solve_price_nb, value_nb)
from htxcore.tiers import MODE_CROSS, lookup_tier_nb


@njit(cache=True, error_model="numpy")
def cross_liq_price_nb(tt, contract, side, q, entry, mark, lever, balance, out, status):
    """Liquidation price of each position of one cross account."""
    g_key, g_lever, g_start, g_lut, g_any, g_mins, lad, l_ladder, c_kind, c_size = tt
    n = out.shape[0]
    net = np.zeros(c_kind.shape[0])
    mmr = np.zeros(n)
    pnl = np.zeros(n)
    mm = np.zeros(n)
    for i in range(n):
        out[i] = np.nan
        s = check_position_nb(c_kind.shape[0], contract[i], side[i], q[i], entry[i],
                              lever[i])
        if s == st.OK and not positive_nb(mark[i]):
            s = st.ERR_PRICE
        if s == st.OK and not np.abs(balance) < np.inf:
            s = st.ERR_BALANCE
        status[i] = s
        if s == st.OK:
            net[contract[i]] += side[i] * q[i]
    bad = False
    for i in range(n):
        if status[i] == st.OK:
            c = contract[i]
            k, mmr[i], status[i] = lookup_tier_nb(g_lut, g_any, g_mins, g_start, lad, c,
                                                  MODE_CROSS, lever[i], np.abs(net[c]))
            pnl[i] = pnl_row_nb(c_kind[c], c_size[c], side[i], q[i], entry[i], mark[i])
            mm[i] = mmr[i] * value_nb(c_kind[c], c_size[c], q[i], mark[i])
        bad = bad or status[i] != st.OK
    if bad:
        for i in range(n):
            if status[i] == st.OK:
                status[i] = st.ERR_ACCOUNT
        return
    total = balance + pnl.sum() - mm.sum()
    for i in range(n):
        c = contract[i]
        x = total - pnl[i] + mm[i]
        out[i], status[i] = solve_price_nb(c_kind[c], c_size[c], side[i], q[i], entry[i],
                                           mmr[i], x)
