"""Every metric of a positions table in one pass (``xlhtx calc``, the demo, the Python
API's ``calc``): the tier is looked up once per row and each metric comes from the same
row helper as its own kernel (``htxcore.position``), so a table and a single Excel cell
agree to the bit.

Array conventions: as ``htxcore.position``; ``mark`` NaN = no mark price (the value and
maintenance margin are then taken at entry, the mark columns stay NaN). Outputs go into
a ``Metrics`` record of float64 arrays and a ``MetricStatus`` record of int8 arrays:
``base`` (inputs and tier: when not OK every column is NaN), ``liq`` (liquidation price
and distance), ``bankruptcy``, ``mark`` (PnL, ROE, equity) and ``ratio`` (margin ratio).
"""

from collections import namedtuple

import numpy as np
from numba import njit

from htxcore import status as st
from htxcore.position import (adjust_factor_nb, check_tiered_nb, distance_nb, isolated_price_nb,
                              margin_ratio_at_nb, pnl_row_nb, positive_nb, value_nb)
from htxcore.tiers import contract_nb, lookup_tier_nb

Metrics = namedtuple("Metrics", ["notional", "initial_margin", "tier", "adjust_factor", "mmr",
                                 "maint_margin", "liq_price", "bankruptcy_price", "pnl", "roe",
                                 "equity", "margin_ratio", "distance_to_liq"])
MetricStatus = namedtuple("MetricStatus", ["base", "liq", "bankruptcy", "mark", "ratio"])


@njit(cache=True, error_model="numpy")
def metrics_nb(tt, contract, mode, side, q, entry, mark, lever, margin, out, status):
    """All metrics per row (see the module docstring)."""
    g_lut, l_col, g_mins, lad, l_bound, l_ladder, c_size = (
        tt.g_lut, tt.l_col, tt.g_mins, tt.lad, tt.l_bound, tt.l_ladder, tt.c_size)
    for i in range(q.shape[0]):
        for a in out:
            a[i] = np.nan
        c = contract[i]
        s = check_tiered_nb(c_size.shape[0], c, mode[i], side[i], q[i], entry[i], lever[i])
        k, mmr = 0, np.nan
        if s == st.OK:
            k, mmr, s = lookup_tier_nb(g_lut, l_col, g_mins, lad, l_bound, c, mode[i],
                                       lever[i], q[i])
        has_mark = not np.isnan(mark[i])
        if s == st.OK and has_mark and not positive_nb(mark[i]):
            s = st.ERR_MARK
        status.base[i] = s
        if s != st.OK:
            status.liq[i] = s
            status.bankruptcy[i] = s
            status.mark[i] = s
            status.ratio[i] = s
            continue
        kind, size = contract_nb(c_size, c)
        price = mark[i] if has_mark else entry[i]
        out.notional[i] = value_nb(kind, size, q[i], price)
        out.initial_margin[i] = value_nb(kind, size, q[i], entry[i]) / lever[i]
        out.tier[i] = l_ladder[k]
        out.mmr[i] = mmr
        out.adjust_factor[i] = adjust_factor_nb(tt.c_sys, c, mmr, lever[i])
        out.maint_margin[i] = mmr * out.notional[i]
        out.liq_price[i], status.liq[i] = isolated_price_nb(kind, size, side[i], q[i],
                                                            entry[i], lever[i], margin[i], mmr)
        out.bankruptcy_price[i], status.bankruptcy[i] = isolated_price_nb(
            kind, size, side[i], q[i], entry[i], lever[i], margin[i], 0.0)
        if not has_mark:
            status.mark[i] = st.ERR_MARK
            status.ratio[i] = st.ERR_MARK
            continue
        pnl = pnl_row_nb(kind, size, side[i], q[i], entry[i], mark[i])
        out.pnl[i] = pnl
        out.roe[i] = pnl / out.initial_margin[i]
        ratio, eq, rs = margin_ratio_at_nb(kind, size, side[i], q[i], entry[i], mark[i],
                                           lever[i], margin[i], mmr)
        out.margin_ratio[i] = ratio
        out.equity[i] = eq
        status.ratio[i] = rs
        status.mark[i] = st.OK if not np.isnan(eq) else rs
        if status.liq[i] == st.OK:
            out.distance_to_liq[i] = distance_nb(side[i], mark[i], out.liq_price[i])
