"""Position maths for one HTX futures position: value, margin, PnL, margin ratio,
liquidation and bankruptcy prices (docs/maths.md).

Sources: HTX support "Liquidation Rules for Futures Trading", "Tiered Adjustment Factor
of USDT-Margined Contracts", "Contract Leverage Introduction".

Array conventions
-----------------
* One row per position; every input array of a kernel has the same length ``n`` (the
  boundary broadcasts scalars; a scalar call is an array of one).
* ``contract``: int32 index into the tier table's contract arrays (``-1`` = unknown).
* ``mode``: int8, 0 isolated, 1 cross. ``side``: int8, +1 long, -1 short (0 = invalid).
* ``contracts``, prices, ``leverage``, ``margin``: float64. ``margin`` NaN means the
  default, the initial margin at entry.
* Outputs are written into caller-allocated float64 arrays (NaN where the row has no
  number) and an int8 ``status`` array of ``htxcore.status`` codes. Kernels never raise.
* ``tt`` is the compiled tier table described in ``htxcore.tiers``.

Notation (docs/maths.md): q contracts, s side, E entry, P price, L leverage, M margin balance,
``size`` the contract size (linear, coin per contract) or face value (inverse, USD).
Linear value ``q*size*P`` (USDT); inverse value ``q*size/P`` (coin).
"""

import numpy as np
from numba import njit, prange

from htxcore import status as st
from htxcore.tiers import KIND_LINEAR, contract_nb, lookup_tier_nb, risk_limit_nb


# ---------------------------------------------------------------------------- rows


# the largest contracts, price, leverage or margin a row may hold: beyond it products
# such as contracts * size * price leave float64's exact range and overflow
MAX_INPUT = 1e15
# the smallest positive one: below it a value, a margin or a PnL underflows to 0 and a
# position of 5e-324 contracts would read as liquidated
MIN_INPUT = 1e-12


@njit(error_model="numpy")
def positive_nb(x):
    """True for a number from ``MIN_INPUT`` to below ``MAX_INPUT`` (False for NaN, inf, 0,
    negatives and values too small to compute with)."""
    return x >= MIN_INPUT and x < MAX_INPUT


@njit(error_model="numpy")
def nonneg_nb(x):
    """True for a number >= 0 and below ``MAX_INPUT``."""
    return x >= 0.0 and x < MAX_INPUT


@njit(error_model="numpy")
def finite_nb(x):
    """True for a number of size below ``MAX_INPUT`` (either sign)."""
    return np.abs(x) < MAX_INPUT


@njit(error_model="numpy")
def value_nb(kind, size, q, price):
    """Position value V(P): q*size*P USDT (linear) or q*size/P coin (inverse)."""
    qs = q * size
    linear = qs * price
    inverse = qs / price
    # both, then a select: a book mixing kinds would otherwise mispredict a branch
    return linear if kind == KIND_LINEAR else inverse


@njit(error_model="numpy")
def pnl_row_nb(kind, size, side, q, entry, price):
    """Unrealized PnL: s*q*size*(P-E) USDT (linear), s*q*size*(1/E-1/P) coin (inverse)."""
    if kind == KIND_LINEAR:
        return side * q * size * (price - entry)
    return side * q * size * (1.0 / entry - 1.0 / price)


@njit(error_model="numpy")
def solve_price_nb(kind, net, gross, basis_linear, basis_inverse, margin):
    """The price P where maintenance margin meets equity, for the legs of one contract
    moving with one price (docs/maths.md "The one solver").

    Sums over the legs in value units (``qs = q * size``): ``net = sum(s*qs)``,
    ``gross = sum(MMR*qs)``, ``basis_linear = sum(s*qs*E)``, ``basis_inverse =
    sum(s*qs/E)``; ``margin`` is what the account holds besides these legs' PnL and
    maintenance margin (an isolated position: its margin balance).
    Linear, ``f(P) = margin - basis_linear + (net - gross)*P``:
    ``P = (basis_linear - margin) / (net - gross)``; inverse, linear in ``x = 1/P``,
    ``f = margin + basis_inverse - (net + gross)*x``:
    ``P = (net + gross) / (margin + basis_inverse)``. ``gross = 0``: the bankruptcy price.
    Returns ``(price, status)``; with no positive solution the sign of ``f``'s slope says
    whether no price liquidates the legs (``NO_LIQUIDATION``) or every price does
    (``LIQUIDATED``).
    """
    p, c0, c1 = root_nb(kind, net, gross, basis_linear, basis_inverse, margin)
    return checked_price_nb(p, c0, c1)


@njit(error_model="numpy")
def root_nb(kind, net, gross, basis_linear, basis_inverse, margin):
    """``(root, c0, c1)`` of ``solve_price_nb``'s equation ``f = c0 + c1 * x`` (``x = P``
    linear, ``1/P`` inverse), the root unchecked: HTX's new USDT-M system prints it as
    the liquidation price even when it is negative (no liquidation)."""
    # both forms, then a select: random mixes of kinds would otherwise mispredict
    c0_linear = margin - basis_linear
    c1_linear = net - gross
    c0_inverse = margin + basis_inverse
    c1_inverse = -(net + gross)
    linear = kind == KIND_LINEAR
    c0 = c0_linear if linear else c0_inverse
    c1 = c1_linear if linear else c1_inverse
    # one division: its operands selected, not its results
    p = -(c0 if linear else c1) / (c1 if linear else c0)
    return p, c0, c1


@njit(error_model="numpy")
def checked_price_nb(p, c0, c1):
    """``(price, status)`` of a root ``p`` of ``f = c0 + c1 * x``: a positive finite price,
    or why there is none."""
    if p > 0.0 and p < np.inf:
        return p, st.OK
    if c1 > 0.0 or (c1 == 0.0 and c0 > 0.0):
        return np.nan, st.NO_LIQUIDATION
    return np.nan, st.LIQUIDATED


@njit(error_model="numpy")
def solve_leg_nb(kind, size, side, q, entry, mmr, margin):
    """``solve_price_nb`` for one position: the one-leg sums of its arguments (computed
    as ``value_nb`` computes them, so a 1x margin cancels the value exactly)."""
    sqs = side * (q * size)
    return solve_price_nb(kind, sqs, mmr * (q * size), sqs * entry, sqs / entry, margin)


@njit(error_model="numpy")
def check_position_nb(n_contracts, contract, side, q, entry, lever):
    """Status of the inputs every position kernel shares."""
    return position_status_nb(st.OK, n_contracts, contract, side, q, entry, lever)


@njit(error_model="numpy")
def position_status_nb(s, n_contracts, contract, side, q, entry, lever):
    """The status of the first bad input among contract, side, contracts, entry and
    leverage, else ``s``. Checked from the last to the first, each a select rather than
    an early return: a loop over rows stays branch-free and vectorizes."""
    s = s if positive_nb(lever) else st.ERR_LEVERAGE
    s = s if positive_nb(entry) else st.ERR_ENTRY
    s = s if positive_nb(q) else st.ERR_CONTRACTS
    s = s if side == 1 or side == -1 else st.ERR_SIDE
    return s if contract >= 0 and contract < n_contracts else st.ERR_CONTRACT


@njit(error_model="numpy")
def check_tiered_nb(n_contracts, contract, mode, side, q, entry, lever):
    """``check_position_nb`` plus a margin mode (0 isolated, 1 cross): what a tier
    lookup needs."""
    s = st.OK if mode == 0 or mode == 1 else st.ERR_MODE
    return position_status_nb(s, n_contracts, contract, side, q, entry, lever)


@njit(error_model="numpy")
def safe_index_nb(i, n):
    """``i`` clamped into ``0..n-1``: an index that is safe to load even for a bad row."""
    return min(max(i, 0), n - 1)


@njit(error_model="numpy")
def first_status_nb(a, b, c):
    """The first of three statuses that is not OK."""
    return a if a != st.OK else (b if b != st.OK else c)


@njit(error_model="numpy")
def margin_or_default_nb(kind, size, q, entry, lever, margin):
    """``(margin balance, status)``: the given margin, or the initial margin at entry."""
    default = value_nb(kind, size, q, entry) / lever
    if not (positive_nb(margin) or np.isnan(margin)):
        return np.nan, st.ERR_MARGIN
    return (default if np.isnan(margin) else margin), st.OK


@njit(error_model="numpy")
def isolated_price_nb(kind, size, side, q, entry, lever, margin, mmr):
    """Price where ``mmr * V(P)`` meets the equity of an isolated position whose margin
    is ``margin`` (NaN: the initial margin). ``mmr = 0``: the bankruptcy price."""
    m, ms = margin_or_default_nb(kind, size, q, entry, lever, margin)
    p, ps = solve_leg_nb(kind, size, side, q, entry, mmr, m)
    # solved on a NaN margin too, then a select: an early return here stops the caller's
    # loop from vectorizing on AVX2
    ok = ms == st.OK
    return (p if ok else np.nan), (ps if ok else ms)


@njit(error_model="numpy")
def equity_nb(kind, size, side, q, entry, price, margin):
    """Isolated equity at ``price``: margin balance + unrealized PnL."""
    return margin + pnl_row_nb(kind, size, side, q, entry, price)


@njit(error_model="numpy")
def ratio_nb(mm, equity):
    """``(margin ratio, status)``: MM / equity, +inf when no equity is left (past
    liquidation: a number a desk can sort and filter on, never NaN)."""
    if np.isnan(equity) or np.isnan(mm):
        return np.nan, st.LIQUIDATED
    if not equity > 0.0:
        return np.inf, st.OK
    return mm / equity, st.OK


@njit(error_model="numpy")
def distance_nb(side, mark, liq):
    """How far the mark may move against the position before liquidation, as a fraction
    of the mark: ``s * (mark - liq) / mark`` (negative: already past it)."""
    return side * (mark - liq) / mark


@njit(error_model="numpy")
def adjust_factor_nb(c_sys, c, mmr, lever):
    """The adjustment factor ``MMR * L`` of an adjustment-factor ladder; NaN for a
    risk-limit contract, whose MMR does not depend on the leverage."""
    return np.nan if risk_limit_nb(c_sys, c) else mmr * lever


@njit(error_model="numpy")
def margin_ratio_at_nb(kind, size, side, q, entry, mark, lever, margin, mmr):
    """``(margin ratio, equity, status)`` at ``mark``: MR = MM / equity (HTX "Liquidation
    Rules for Futures Trading")."""
    if not positive_nb(mark):
        return np.nan, np.nan, st.ERR_MARK
    m, s = margin_or_default_nb(kind, size, q, entry, lever, margin)
    if s != st.OK:
        return np.nan, np.nan, s
    eq = equity_nb(kind, size, side, q, entry, mark, m)
    ratio, s = ratio_nb(mmr * value_nb(kind, size, q, mark), eq)
    return ratio, eq, s


# ------------------------------------------------------------------------ kernels


@njit(cache=True, error_model="numpy")
def notional_nb(tt, contract, q, price, out, status):
    """Position value per row (USDT linear, coin inverse)."""
    c_size = tt.c_size
    for i in range(out.shape[0]):
        c = contract[i]
        out[i] = np.nan
        if c < 0 or c >= c_size.shape[0]:
            status[i] = st.ERR_CONTRACT
        elif not positive_nb(q[i]):
            status[i] = st.ERR_CONTRACTS
        elif not positive_nb(price[i]):
            status[i] = st.ERR_PRICE
        else:
            kind, size = contract_nb(c_size, c)
            out[i] = value_nb(kind, size, q[i], price[i])
            status[i] = st.OK


@njit(cache=True, error_model="numpy")
def initial_margin_nb(tt, contract, q, price, lever, out, status):
    """Initial margin V(P) / L per row."""
    notional_nb(tt, contract, q, price, out, status)
    for i in range(out.shape[0]):
        if status[i] == st.OK:
            if positive_nb(lever[i]):
                out[i] = out[i] / lever[i]
            else:
                out[i] = np.nan
                status[i] = st.ERR_LEVERAGE


@njit(cache=True, error_model="numpy")
def tier_nb(tt, contract, mode, lever, net, out_ladder, out_af, out_mmr, status):
    """HTX ladder number, adjustment factor and MMR for a net position per row.

    A risk-limit contract has no adjustment factor (NaN; its MMR is the tier's). A row
    whose leverage is above its tier's maximum keeps the ladder number (what a message
    names), with that status.
    """
    g_lut, l_col, g_mins, lad, l_bound, l_ladder, c_size, c_sys = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.l_ladder, tt.c_size, tt.c_sys)
    for i in range(status.shape[0]):
        out_ladder[i] = np.nan
        out_af[i] = np.nan
        out_mmr[i] = np.nan
        c = contract[i]
        s = check_tiered_nb(c_size.shape[0], c, mode[i], 1, 1.0, 1.0, lever[i])
        if s == st.OK and not nonneg_nb(net[i]):
            s = st.ERR_NET
        if s == st.OK:
            k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i],
                                       lever[i], net[i])
            if s == st.OK or s == st.ERR_LEVER_ABOVE_TIER:
                out_ladder[i] = l_ladder[k]
            if s == st.OK:
                out_mmr[i] = mmr
                out_af[i] = adjust_factor_nb(c_sys, c, mmr, lever[i])
        status[i] = s


@njit(cache=True, error_model="numpy")
def maint_margin_nb(tt, contract, mode, q, price, lever, out, status):
    """Maintenance margin MMR * V(P) per row, the tier taken at ``q`` contracts."""
    g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in range(out.shape[0]):
        out[i] = np.nan
        c = contract[i]
        s = check_tiered_nb(c_size.shape[0], c, mode[i], 1, q[i], 1.0, lever[i])
        if s == st.OK and not positive_nb(price[i]):
            s = st.ERR_PRICE
        if s == st.OK:
            k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i],
                                       lever[i], q[i])
            if s == st.OK:
                kind, size = contract_nb(c_size, c)
                out[i] = mmr * value_nb(kind, size, q[i], price[i])
        status[i] = s


@njit(cache=True, error_model="numpy")
def pnl_nb(tt, contract, side, q, entry, price, out, status):
    """Unrealized PnL at ``price`` per row."""
    c_size = tt.c_size
    for i in range(out.shape[0]):
        out[i] = np.nan
        s = check_position_nb(c_size.shape[0], contract[i], side[i], q[i], entry[i], 1.0)
        if s == st.OK and not positive_nb(price[i]):
            s = st.ERR_PRICE
        status[i] = s
        if s == st.OK:
            kind, size = contract_nb(c_size, contract[i])
            out[i] = pnl_row_nb(kind, size, side[i], q[i], entry[i], price[i])


@njit(cache=True, error_model="numpy")
def roe_nb(tt, contract, side, q, entry, price, lever, out, status):
    """Return on equity per row: PnL at ``price`` / initial margin at entry."""
    c_size = tt.c_size
    pnl_nb(tt, contract, side, q, entry, price, out, status)
    for i in range(out.shape[0]):
        if status[i] != st.OK:
            continue
        if positive_nb(lever[i]):
            kind, size = contract_nb(c_size, contract[i])
            out[i] = out[i] / (value_nb(kind, size, q[i], entry[i]) / lever[i])
        else:
            out[i] = np.nan
            status[i] = st.ERR_LEVERAGE


@njit(cache=True, error_model="numpy")
def margin_ratio_nb(tt, contract, mode, side, q, entry, mark, lever, margin,
                    out_ratio, out_equity, status):
    """Margin ratio (1 = liquidation) and equity at the mark per row."""
    g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in range(out_ratio.shape[0]):
        out_ratio[i] = np.nan
        out_equity[i] = np.nan
        c = contract[i]
        s = check_tiered_nb(c_size.shape[0], c, mode[i], side[i], q[i], entry[i], lever[i])
        if s == st.OK:
            k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i],
                                       lever[i], q[i])
        if s == st.OK:
            kind, size = contract_nb(c_size, c)
            out_ratio[i], out_equity[i], s = margin_ratio_at_nb(
                kind, size, side[i], q[i], entry[i], mark[i], lever[i], margin[i],
                mmr)
        status[i] = s


@njit(cache=True, parallel=True, error_model="numpy")
def liq_price_nb(tt, contract, mode, side, q, entry, lever, margin, out, status):
    """Isolated liquidation price per row at the position's current tier.

    The hot path of the add-in: every step runs on every row (on clamped inputs where a
    row is invalid) and the first failing status wins, so random books do not pay for
    mispredicted branches.
    """
    g_lut, l_col, g_mins, lad, l_bound, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.c_size)
    for i in prange(out.shape[0]):
        c = contract[i]
        s = check_tiered_nb(c_size.shape[0], c, mode[i], side[i], q[i], entry[i], lever[i])
        cs = safe_index_nb(c, c_size.shape[0])
        # a leverage the lookup can take, from the leverage's own check alone: waiting
        # for every check would put them all on the chain of loads the lookup is
        lev = lever[i] if positive_nb(lever[i]) else 1.0
        k, mmr, ts = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, cs, mode[i] & 1,
                                    lev, q[i])
        kind, size = contract_nb(c_size, cs)
        p, ps = isolated_price_nb(kind, size, side[i], q[i], entry[i], lev,
                                  margin[i], mmr)
        s = first_status_nb(s, ts, ps)
        out[i] = p if s == st.OK else np.nan
        status[i] = s


@njit(cache=True, error_model="numpy")
def bankruptcy_price_nb(tt, contract, side, q, entry, lever, margin, out, status):
    """Price where the isolated position's equity is 0, per row."""
    c_size = tt.c_size
    for i in range(out.shape[0]):
        c = contract[i]
        p = np.nan
        s = check_position_nb(c_size.shape[0], c, side[i], q[i], entry[i], lever[i])
        if s == st.OK:
            kind, size = contract_nb(c_size, c)
            p, s = isolated_price_nb(kind, size, side[i], q[i], entry[i], lever[i],
                                     margin[i], 0.0)
        out[i] = p
        status[i] = s


@njit(cache=True, error_model="numpy")
def target_price_nb(tt, contract, side, entry, lever, roe, out, status):
    """Exit price at which PnL / initial margin equals ``roe``.

    Linear ``P = E*(1 + s*roe/L)``; inverse ``P = E / (1 - s*roe/L)``; the contract
    count cancels out.
    """
    c_size = tt.c_size
    for i in range(out.shape[0]):
        out[i] = np.nan
        s = check_position_nb(c_size.shape[0], contract[i], side[i], 1.0, entry[i],
                              lever[i])
        if s == st.OK and not finite_nb(roe[i]):
            s = st.ERR_TARGET_ROE
        if s == st.OK:
            x = side[i] * roe[i] / lever[i]
            if contract_nb(c_size, contract[i])[0] == KIND_LINEAR:
                p = entry[i] * (1.0 + x)
            else:
                p = entry[i] / (1.0 - x) if x < 1.0 else -1.0
            if p > 0.0 and p < np.inf:
                out[i] = p
            else:
                s = st.UNREACHABLE
        status[i] = s


@njit(cache=True, error_model="numpy")
def liq_distance_nb(side, mark, liq, liq_status, out, status):
    """Distance to liquidation per row (``distance_nb``) from a liquidation price column
    and its status; a bad mark is ``ERR_MARK``."""
    for i in range(out.shape[0]):
        out[i] = np.nan
        s = liq_status[i]
        if s == st.OK and not positive_nb(mark[i]):
            s = st.ERR_MARK
        if s == st.OK:
            out[i] = distance_nb(side[i], mark[i], liq[i])
        status[i] = s
