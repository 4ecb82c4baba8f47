"""Margin accounts as HTX's servers compute them (docs/maths.md "Margin accounts"; HTX
API ``swap_account_position_info``, ``swap_cross_account_position_info``,
``contract_account_position_info``; HTX "Partial Liquidation" for the risk rates).

An account is a static balance (HTX's ``margin_static``) and legs. Per contract, the legs
(a hedge pair: a long and a short) move with one price and are tiered on the net
position (adjustment-factor ladders) or each on its own contracts (risk-limit tiers,
HTX's USDT-M system since 2026, whose tiers are per position side); the liquidation
price solves equity = maintenance margin with only that contract's price moving, every
other contract of the account held at its current PnL and maintenance margin
(``position.solve_price_nb``, the one solver). An isolated single position is the one-leg
account.

Array conventions
-----------------
* One row per leg; ``account`` (int64) numbers the rows' accounts ``0..A-1`` in any
  order. Per account: ``acc_mode`` (int8, 0 isolated, 1 cross), ``acc_balance``
  (float64, the static balance, without unrealized PnL) and ``acc_lock`` (float64,
  shape ``(A, 2)``): HTX's locked-margin optimization ratios, column 0 for the long and
  short legs of one contract, column 1 across the account's contracts (0 = both legs
  charged in full; HTX's coin-margined swaps 1, 0; coin-margined delivery 1, 0.5).
* Per row: ``contract`` (int32, -1 unknown), ``side`` (int8 +1/-1), ``q`` contracts
  (>= 0; 0 = a row that only carries frozen order margin), ``cost`` the cost basis,
  ``mark`` the current price, ``lever``, ``adjust`` (the adjustment factor HTX reports;
  NaN = from the tier table at the net position), ``frozen`` (order margin; NaN = 0).
* Outputs per row: ``out_liq`` the liquidation price of the row's contract,
  ``out_ratio`` the account's margin ratio (MM / equity), ``out_risk`` HTX's risk rate of
  the account (NaN for an account holding a risk-limit contract: HTX's new system
  reports the margin ratio instead), ``out_equity`` the account's equity (HTX's
  ``margin_balance``);
  ``status`` is the liquidation price's status, ``acc_status`` OK when the account's
  figures (ratio, risk rate, equity) are valid; ``out_root`` the unchecked root of the
  liquidation equation (HTX's new USDT-M system prints it even when negative).
* An invalid row makes its account's totals unknown: that row gets its own status and
  every other row of the account ``ERR_ACCOUNT``.
"""

import numpy as np
from numba import njit

from htxcore import status as st
from htxcore.position import (check_position_nb, checked_price_nb, finite_nb, nonneg_nb,
                              pnl_row_nb, positive_nb, root_nb, value_nb)
from htxcore.tiers import KIND_LINEAR, MODE_CROSS, contract_nb, lookup_tier_nb, risk_limit_nb


@njit(error_model="numpy")
def check_leg_nb(n_contracts, mode, contract, side, q, cost, mark, lever, adjust, frozen):
    """Status of one leg's inputs."""
    if mode != 0 and mode != 1:
        return st.ERR_MODE
    if not nonneg_nb(q):
        return st.ERR_CONTRACTS
    s = check_position_nb(n_contracts, contract, side, max(q, 1.0), cost, lever)
    if s != st.OK:
        return s
    if not positive_nb(mark):
        return st.ERR_MARK
    if not (np.isnan(adjust) or (adjust >= 0.0 and adjust < lever)):
        return st.ERR_ADJUST
    if not (np.isnan(frozen) or nonneg_nb(frozen)):
        return st.ERR_FROZEN
    return st.OK


@njit(cache=True, error_model="numpy")
def account_nb(tt, account, acc_mode, acc_balance, acc_lock, contract, side, q, cost, mark,
               lever, adjust, frozen, out_liq, out_ratio, out_risk, out_equity, status, acc_status,
               out_root):
    """Per-contract liquidation price, margin ratio and risk rate of margin accounts."""
    g_lut, l_col, g_mins, lad, l_bound, c_size, c_sys = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size, tt.c_sys)
    n = q.shape[0]
    n_c = c_size.shape[0]
    out_liq[:] = np.nan
    out_ratio[:] = np.nan
    out_risk[:] = np.nan
    out_equity[:] = np.nan
    out_root[:] = np.nan
    # rows of one account, and within it of one contract, next to each other
    key = account * (n_c + 1) + np.minimum(np.maximum(contract, -1), n_c - 1) + 1
    order = np.argsort(key, kind="mergesort")
    mmr = np.zeros(n)
    a0 = 0
    while a0 < n:
        a = account[order[a0]]
        a1 = a0
        while a1 < n and account[order[a1]] == a:
            a1 += 1
        account_rows_nb(c_size, c_sys, g_lut, l_col, g_mins, lad, l_bound, order[a0:a1],
                        acc_mode[a], acc_balance[a], acc_lock[a, 0], acc_lock[a, 1],
                        contract, side, q, cost, mark, lever, adjust, frozen, mmr, out_liq,
                        out_ratio, out_risk, out_equity, status, acc_status, out_root)
        a0 = a1


@njit(error_model="numpy")
def account_rows_nb(c_size, c_sys, g_lut, l_col, g_mins, lad, l_bound, rows, mode, balance,
                    lock, lock_all, contract, side, q, cost, mark, lever, adjust, frozen, mmr,
                    out_liq, out_ratio, out_risk, out_equity, status, acc_status, out_root):
    """One account: ``rows`` are its legs, sorted by contract; ``lock``/``lock_all`` its
    locked-margin ratios (``locked_margin_nb``)."""
    n_c = c_size.shape[0]
    bad = False
    for i in rows:
        s = check_leg_nb(n_c, mode, contract[i], side[i], q[i], cost[i], mark[i], lever[i],
                         adjust[i], frozen[i])
        if s == st.OK and not finite_nb(balance):
            s = st.ERR_BALANCE
        status[i] = s
        bad = bad or s != st.OK
    if not bad:
        kind0 = contract_nb(c_size, contract[rows[0]])[0]
        for i in rows:
            if contract_nb(c_size, contract[i])[0] != kind0 or (mode != MODE_CROSS and
                                                contract[i] != contract[rows[0]]):
                bad = True   # one margin asset per account, one contract per isolated one
        if bad:
            for i in rows:
                status[i] = st.ERR_ISOLATED_CONTRACTS if mode != MODE_CROSS else st.ERR_ACCOUNT
    # per contract: net position, tier, PnL, maintenance and initial margin now
    m = rows.shape[0]
    c_first = np.empty(m, dtype=np.int64)   # first position in ``rows`` of each contract
    c_pnl = np.zeros(m)
    c_mm = np.zeros(m)
    c_x = np.zeros(m)          # the price variable now: mark (linear), 1 / mark (inverse)
    c_unit = np.zeros((m, 4))  # per unit of x: long MM, short MM, long IM, short IM
    n_groups = 0
    j = 0
    while j < m and not bad:
        c = contract[rows[j]]
        kind, size = contract_nb(c_size, c)
        k = j
        net = 0.0
        while k < m and contract[rows[k]] == c:
            net += side[rows[k]] * q[rows[k]]
            if mark[rows[k]] != mark[rows[j]] and q[rows[k]] > 0.0 and q[rows[j]] > 0.0:
                status[rows[k]] = st.ERR_MARKS_DIFFER   # one contract, one price
                bad = True
            k += 1
        per_side = risk_limit_nb(c_sys, c)
        for t in range(j, k):
            i = rows[t]
            if np.isnan(adjust[i]):
                size_tiered = q[i] if per_side else np.abs(net)
                _, mmr[i], s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode,
                                              lever[i], size_tiered)
                if s != st.OK:
                    status[i] = s
                    bad = True
            else:
                mmr[i] = adjust[i] / lever[i]
            c_pnl[n_groups] += pnl_row_nb(kind, size, side[i], q[i], cost[i], mark[i])
            c_mm[n_groups] += mmr[i] * value_nb(kind, size, q[i], mark[i])
            u = q[i] * size
            if u > 0.0:
                c_x[n_groups] = value_nb(kind, 1.0, 1.0, mark[i])
                k0 = 0 if side[i] > 0 else 1
                c_unit[n_groups, k0] += mmr[i] * u
                c_unit[n_groups, k0 + 2] += u / lever[i]
        c_first[n_groups] = j
        n_groups += 1
        j = k
    if bad:
        for i in rows:
            acc_status[i] = st.ERR_ACCOUNT
            if status[i] == st.OK:
                status[i] = st.ERR_ACCOUNT
        return
    equity = balance + c_pnl[:n_groups].sum()
    # HTX's locked-margin optimization: the hedged part of each contract, then of the
    # account's contracts together, charged at (1 - ratio)
    rem = c_unit[:n_groups].copy()
    locked = np.zeros(n_groups)   # per contract, MM per unit of x waived long against short
    lock_mm, lock_im = locked_margin_nb(rem, c_x[:n_groups], lock, lock_all, locked)
    for t in range(n_groups):
        c_mm[t] -= locked[t] * c_x[t]
    mm_contracts = c_mm[:n_groups].sum()
    mm = mm_contracts - lock_mm[1]
    risk = risk_rate_nb(c_size, c_sys, rows, mode, equity, contract, q, mark, lever, mmr,
                        frozen, lock_mm[0] + lock_mm[1], lock_im[0] + lock_im[1])
    ratio = mm / equity if equity > 0.0 else np.inf   # past liquidation: never NaN
    gone = not equity > mm   # at or past liquidation at the current prices
    for t in range(n_groups):
        j = c_first[t]
        k = c_first[t + 1] if t + 1 < n_groups else m
        c = contract[rows[j]]
        kind, size = contract_nb(c_size, c)
        others = equity - c_pnl[t] - (mm_contracts - c_mm[t])
        net, gross, basis_lin, basis_inv = 0.0, 0.0, 0.0, 0.0
        for u in range(j, k):
            i = rows[u]
            sqs = side[i] * (q[i] * size)
            net += sqs
            gross += mmr[i] * (q[i] * size)
            basis_lin += sqs * cost[i]
            basis_inv += sqs / cost[i]
        gross -= locked[t]
        if gross == 0.0 and net == 0.0:
            p, s, root = np.nan, st.NO_POSITION, np.nan
        else:
            p, s, root = hedged_price_nb(kind, net, gross, basis_lin, basis_inv, others,
                                         lock_all, rem, c_x[:n_groups], t)
            if gone:
                p, s = np.nan, st.LIQUIDATED
        for u in range(j, k):
            i = rows[u]
            out_liq[i] = p
            out_root[i] = root
            status[i] = s if q[i] > 0.0 or s != st.OK else st.NO_POSITION
            out_ratio[i] = ratio
            out_risk[i] = risk
            out_equity[i] = equity
            acc_status[i] = st.OK


@njit(error_model="numpy")
def locked_margin_nb(rem, x, lock, lock_all, locked):
    """HTX's locked-margin optimization (docs/maths.md "Locked margin"): per contract the
    smaller side's margin is waived at ``lock`` (100%: a hedged pair pays its larger
    side), then across the account's contracts the smaller of what remains long and short
    at ``lock_all`` (50% for a coin's delivery futures).

    ``rem`` (contracts x 4, per unit of the price variable ``x``: long MM, short MM, long
    IM, short IM) becomes what remains after the per-contract lock, and ``locked`` (per
    contract) the MM per unit of ``x`` that lock waived. Returns ``(mm, im)``, each
    ``[per-contract lock, cross-contract lock]`` at the current ``x``.
    """
    mm = np.zeros(2)
    im = np.zeros(2)
    tot = np.zeros(4)
    for t in range(rem.shape[0]):
        for k in (0, 2):
            both = lock * min(rem[t, k], rem[t, k + 1])
            rem[t, k] -= both
            rem[t, k + 1] -= both
            if k == 0:
                locked[t] = both
                mm[0] += both * x[t]
            else:
                im[0] += both * x[t]
        for k in range(4):
            tot[k] += rem[t, k] * x[t]
    mm[1] = lock_all * min(tot[0], tot[1])
    im[1] = lock_all * min(tot[2], tot[3])
    return mm, im


@njit(error_model="numpy")
def hedged_price_nb(kind, net, gross, basis_linear, basis_inverse, margin, lock_all, rem, x,
                    t):
    """``solve_price_nb`` for contract ``t`` of an account whose contracts lock margin
    across each other (``lock_all``): the waived part ``lock_all * min(long, short)`` is
    piecewise linear in the price, so each branch is solved and the root where it holds,
    nearest the current price, is the liquidation price. Returns ``(price, status,
    root)``, the root unchecked on the branch that holds now."""
    if lock_all == 0.0:
        p, c0, c1 = root_nb(kind, net, gross, basis_linear, basis_inverse, margin)
        price, s = checked_price_nb(p, c0, c1)
        return price, s, p
    side_sums = np.zeros(2)     # the other contracts' remaining long, short MM now
    for u in range(rem.shape[0]):
        if u != t:
            side_sums[0] += rem[u, 0] * x[u]
            side_sums[1] += rem[u, 1] * x[u]
    now = x[t]
    mark = now if kind == KIND_LINEAR else 1.0 / now
    long_now = side_sums[0] + rem[t, 0] * now <= side_sums[1] + rem[t, 1] * now
    best, best_s, root_now = np.nan, st.NO_LIQUIDATION, np.nan
    for b in range(2):
        p, c0, c1 = root_nb(kind, net, gross - lock_all * rem[t, b], basis_linear,
                            basis_inverse, margin + lock_all * side_sums[b])
        if (b == 0) == long_now:
            root_now = p
        price, s = checked_price_nb(p, c0, c1)
        if s != st.OK:
            continue
        xp = value_nb(kind, 1.0, 1.0, price)
        diff = (side_sums[0] + rem[t, 0] * xp) - (side_sums[1] + rem[t, 1] * xp)
        tol = 1e-12 * (side_sums[0] + side_sums[1] + (rem[t, 0] + rem[t, 1]) * xp)
        holds = diff <= tol if b == 0 else diff >= -tol
        if holds and (np.isnan(best) or abs(price - mark) < abs(best - mark)):
            best, best_s = price, st.OK
    return best, best_s, root_now


@njit(error_model="numpy")
def risk_rate_nb(c_size, c_sys, rows, mode, equity, contract, q, mark, lever, mmr, frozen,
                 locked_mm, locked_im):
    """HTX's ``risk_rate`` of one account (liquidation at <= 0); NaN for an account with
    a risk-limit contract (HTX's new USDT-M system has no risk rate).

    USDT cross: ``equity / sum_c a_c*(IM_c + frozen_c) - 1``; isolated and every
    coin-margined account: ``equity / (IM + frozen) - a`` (``a`` weighted by occupied
    margin when a coin-margined cross account holds several contracts). ``IM`` is HTX's
    ``margin_position``, ``V(mark) / L``, less the locked margin ``locked_im`` (its
    factor-weighted amount ``locked_mm`` leaves the weighted sum). NaN when nothing
    occupies margin.
    """
    occupied = 0.0
    weighted = 0.0
    for i in rows:
        if risk_limit_nb(c_sys, contract[i]):
            return np.nan
        kind, size = contract_nb(c_size, contract[i])
        used = value_nb(kind, size, q[i], mark[i]) / lever[i]
        if not np.isnan(frozen[i]):
            used += frozen[i]
        occupied += used
        weighted += mmr[i] * lever[i] * used
    occupied -= locked_im
    weighted -= locked_mm
    if not occupied > 0.0:
        return np.nan
    if mode == MODE_CROSS and contract_nb(c_size, contract[rows[0]])[0] == KIND_LINEAR:
        return equity / weighted - 1.0 if weighted > 0.0 else np.nan
    return equity / occupied - weighted / occupied
