"""HTX's tiered (partial) liquidation and the margin top-up solver (docs/maths.md "Tiered liquidation"; HTX
support pages "Partial Liquidation" and "Liquidation Rules for Futures Trading").

When the margin ratio reaches 100% at a trigger price P, a position above the lowest
ladder is reduced to the ``max_size`` of the nearest lower ladder whose maintenance
margin at P is below the equity (the smallest reduction that works); the closed
contracts realize their PnL at P (equity unchanged, no fee). From the lowest ladder, or
when no lower ladder helps, everything left is liquidated. The next trigger is the
liquidation price of what is left, with its new margin balance.

Risk-limit contracts (``htxcore.tiers.SYS_RISK``, HTX's USDT-M system since 2026): HTX
has published no partial liquidation for them, so the whole position is taken to be
liquidated at its first trigger (an assumption, stated in docs/maths.md): the ladder has
one step.

Array conventions: as ``htxcore.position``. Ladder outputs are 2-D ``(n, max_steps)``
float64 arrays filled with NaN past a row's ``n_steps``; tiers are HTX ladder numbers,
``-1`` after a full liquidation.
"""

import numpy as np
from numba import njit, prange

from htxcore import status as st
from htxcore.position import (check_tiered_nb, equity_nb, margin_or_default_nb,
                              pnl_row_nb, positive_nb, ratio_nb, solve_leg_nb, value_nb)
from htxcore.tiers import (KIND_LINEAR, LAD_MAX, LAD_MMR, contract_nb, group_rows_nb,
                           lookup_tier_nb, risk_limit_nb)


@njit(error_model="numpy")
def next_step_nb(g_lut, l_col, g_len, g_mins, lad, l_bound, l_ladder, kind, size, contract,
                 mode, side, q, entry, lever, margin, partial):
    """The next liquidation step of a valid position holding ``q`` contracts; ``partial``
    False (a risk-limit contract): no reduction to a lower tier, the step is the full
    liquidation.

    Returns ``(trigger, q_after, ladder_before, ladder_after, margin_after, status)``;
    ``q_after = 0`` is a full liquidation (``ladder_after = -1``, margin 0). Status
    ``NO_LIQUIDATION`` when no price liquidates what is left.
    """
    k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, contract, mode, lever, q)
    if s != st.OK:
        return np.nan, np.nan, -1, -1, np.nan, s
    p, s = solve_leg_nb(kind, size, side, q, entry, mmr, margin)
    if s != st.OK:
        return np.nan, np.nan, -1, -1, np.nan, s
    equity = equity_nb(kind, size, side, q, entry, p, margin)
    start, stop = group_rows_nb(g_lut, l_col, g_len, contract, mode, lever)
    start = start if partial else k
    for j in range(k - 1, start - 1, -1):  # nearest lower ladder first
        q_j = lad[LAD_MAX, j]
        if q_j < q and lad[LAD_MMR, j] * value_nb(kind, size, q_j, p) < equity:
            realized = pnl_row_nb(kind, size, side, q - q_j, entry, p)
            return p, q_j, l_ladder[k], l_ladder[j], margin + realized, st.OK
    return p, 0.0, l_ladder[k], -1, 0.0, st.OK


@njit(error_model="numpy")
def walk_nb(tt, contract, mode, side, q, entry, lever, margin, stop_price):
    """Walk the ladder of one position while the trigger is reached by ``stop_price``
    (NaN: down to the full liquidation). Returns ``(contracts left, margin balance,
    status)``; a position no price liquidates stops with status OK."""
    g_lut, l_col, g_len, g_mins, lad, l_bound, l_ladder = (
        tt.g_lut, tt.l_col, tt.g_len, tt.g_mins, tt.lad, tt.l_bound, tt.l_ladder)
    kind, size = contract_nb(tt.c_size, contract)
    partial = not risk_limit_nb(tt.c_sys, contract)
    while q > 0.0:
        p, qa, kb, ka, ma, s = next_step_nb(g_lut, l_col, g_len, g_mins, lad, l_bound,
                                            l_ladder, kind, size, contract, mode, side, q,
                                            entry, lever, margin, partial)
        if s == st.NO_LIQUIDATION:
            return q, margin, st.OK
        if s != st.OK:
            return q, margin, s
        if not np.isnan(stop_price) and side * (stop_price - p) > 0.0:
            break
        if np.isnan(stop_price) and qa == 0.0:
            break  # stop at the full liquidation: the caller wants what is taken over
        q, margin = qa, ma
    return q, margin, st.OK


@njit(error_model="numpy")
def ladder_start_nb(c_size, contract, mode, side, q, entry, lever, margin):
    """``(margin balance, status)`` of a position about to enter the ladder."""
    s = check_tiered_nb(c_size.shape[0], contract, mode, side, q, entry, lever)
    if s != st.OK:
        return np.nan, s
    kind, size = contract_nb(c_size, contract)
    return margin_or_default_nb(kind, size, q, entry, lever, margin)


@njit(cache=True, parallel=True, error_model="numpy")
def liq_ladder_nb(tt, contract, mode, side, q, entry, lever, margin, trigger, q_before,
                  q_after, tier_before, tier_after, margin_after, n_steps, status):
    """Full liquidation ladder per row (at most ``trigger.shape[1]`` steps)."""
    g_lut, l_col, g_len, g_mins, lad, l_bound, l_ladder, c_size = (
        tt.g_lut, tt.l_col, tt.g_len, tt.g_mins, tt.lad, tt.l_bound, tt.l_ladder, tt.c_size)
    for i in prange(q.shape[0]):
        trigger[i, :] = np.nan
        q_before[i, :] = np.nan
        q_after[i, :] = np.nan
        tier_before[i, :] = np.nan
        tier_after[i, :] = np.nan
        margin_after[i, :] = np.nan
        n_steps[i] = 0
        c = contract[i]
        m, s = ladder_start_nb(c_size, c, mode[i], side[i], q[i], entry[i], lever[i],
                               margin[i])
        status[i] = s
        if s != st.OK:
            continue
        qq = q[i]
        kind, size = contract_nb(c_size, c)
        partial = not risk_limit_nb(tt.c_sys, c)
        for step in range(trigger.shape[1]):
            p, qa, kb, ka, ma, s = next_step_nb(g_lut, l_col, g_len, g_mins, lad, l_bound,
                                                l_ladder, kind, size, c, mode[i], side[i], qq,
                                                entry[i], lever[i], m, partial)
            if s != st.OK:
                if step == 0:
                    status[i] = s
                break
            trigger[i, step] = p
            q_before[i, step] = qq
            q_after[i, step] = qa
            tier_before[i, step] = kb
            tier_after[i, step] = ka
            margin_after[i, step] = ma
            n_steps[i] = step + 1
            qq, m = qa, ma
            if qa == 0.0:
                break


@njit(cache=True, error_model="numpy")
def after_liq_nb(tt, contract, mode, side, q, entry, lever, margin, price,
                 out_q, out_ratio, out_equity, status):
    """Contracts left, margin ratio and equity if the mark moves to ``price``.

    The mark is taken to move there steadily, so every trigger on the way fires
    (a trigger fires when the mark reaches it: ``<=`` for a long, ``>=`` for a short).
    A fully liquidated position keeps nothing: 0 contracts, equity 0, no ratio.
    """
    g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in range(q.shape[0]):
        out_q[i] = np.nan
        out_ratio[i] = np.nan
        out_equity[i] = np.nan
        c = contract[i]
        m, s = ladder_start_nb(c_size, c, mode[i], side[i], q[i], entry[i], lever[i],
                               margin[i])
        if s == st.OK and not positive_nb(price[i]):
            s = st.ERR_PRICE
        if s == st.OK:
            qq, m, s = walk_nb(tt, c, mode[i], side[i], q[i], entry[i], lever[i], m, price[i])
        status[i] = s
        if s != st.OK:
            continue
        out_q[i] = qq
        if qq == 0.0:
            out_equity[i] = 0.0
            continue
        k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i], lever[i],
                                   qq)
        kind, size = contract_nb(c_size, c)
        eq = equity_nb(kind, size, side[i], qq, entry[i], price[i], m)
        out_equity[i] = eq
        out_ratio[i], _ = ratio_nb(mmr * value_nb(kind, size, qq, price[i]), eq)


@njit(error_model="numpy")
def margin_for_price_nb(kind, size, side, q, entry, mmr, price):
    """Margin balance whose liquidation price is ``price`` (inverse of solve_leg_nb).

    Linear ``M = q*size*(s*(E - P) + mmr*P)``; inverse ``M = q*size*((mmr + s)/P - s/E)``.
    """
    if kind == KIND_LINEAR:
        return q * size * (side * (entry - price) + mmr * price)
    return q * size * ((mmr + side) / price - side / entry)


@njit(cache=True, error_model="numpy")
def add_margin_nb(tt, contract, mode, side, q, entry, lever, target, margin, out, status):
    """Margin to add (negative: removable) so the liquidation price becomes ``target``."""
    g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in range(q.shape[0]):
        out[i] = np.nan
        c = contract[i]
        m, s = ladder_start_nb(c_size, c, mode[i], side[i], q[i], entry[i], lever[i],
                               margin[i])
        if s == st.OK and not positive_nb(target[i]):
            s = st.ERR_TARGET_PRICE
        mmr = np.nan
        if s == st.OK:
            k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i],
                                       lever[i], q[i])
        if s == st.OK:
            kind, size = contract_nb(c_size, c)
            need = margin_for_price_nb(kind, size, side[i], q[i], entry[i], mmr, target[i])
            if need > 0.0:
                out[i] = need - m
            else:
                s = st.UNREACHABLE
        status[i] = s


@njit(cache=True, error_model="numpy")
def leverage_for_distance_nb(tt, contract, mode, side, q, entry, distance, out_lever,
                             out_margin, status):
    """Highest published leverage whose default margin keeps the liquidation price at
    least ``distance`` (a fraction of entry) away, and that margin (initial margin)."""
    g_key, g_lever, g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_key, tt.g_lever, tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in range(q.shape[0]):
        out_lever[i] = np.nan
        out_margin[i] = np.nan
        s = check_tiered_nb(c_size.shape[0], contract[i], mode[i], side[i], q[i], entry[i],
                            1.0)
        if s == st.OK and not positive_nb(distance[i]):
            s = st.ERR_DISTANCE
        if s != st.OK:
            status[i] = s
            continue
        c = contract[i]
        kind, size = contract_nb(c_size, c)
        key = c * 2 + mode[i]
        s = st.ERR_NO_TIER
        for g in range(g_key.shape[0] - 1, -1, -1):  # highest leverage first
            if g_key[g] != key or g_lever[g] == 0.0:
                continue
            lev = g_lever[g]
            k, mmr, ts = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i], lev,
                                        q[i])
            if ts != st.OK:
                continue
            m = value_nb(kind, size, q[i], entry[i]) / lev
            p, ps = solve_leg_nb(kind, size, side[i], q[i], entry[i], mmr, m)
            far = ps == st.NO_LIQUIDATION or (ps == st.OK and
                                               side[i] * (entry[i] - p) >= distance[i] * entry[i])
            if far:
                out_lever[i] = lev
                out_margin[i] = m
                s = st.OK
                break
            s = st.UNREACHABLE
        status[i] = s
