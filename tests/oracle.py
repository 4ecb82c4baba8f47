"""Plain-Python reference of HTX's formulas (SPEC 2), written from the SPEC's text and
independent of the kernels: the tests check the compiled path against it.

Everything works on one position at a time from a parsed ``TierTable``'s ladders;
``None`` stands for "no number" (an invalid row or no liquidation).
"""

from __future__ import annotations

import math


def contract_of(table, code):
    return table.contract(code)


def tier(table, code, mode, lever, net):
    """(HTX ladder number, MMR) for a net position, or None. Inclusive min and max."""
    c = table.contract(code)
    if c is None:
        return None
    lads = [x for x in table.ladders if x.contract == c.code and x.mode == mode
            and x.lever == lever]
    if not lads:
        lads = [x for x in table.ladders if x.contract == c.code and x.mode == mode
                and x.lever == 0]
    if not lads:
        return None
    lads.sort(key=lambda x: x.min_size)
    found = lads[0]
    for x in lads:
        if x.min_size <= net:
            found = x
    if net >= found.max_size + 1:
        return None
    if lever > found.max_leverage:
        return None
    mmr = found.mmr if not math.isnan(found.mmr) else found.adjust_factor / lever
    return (found.ladder, mmr) if 0 <= mmr < 1 else None


def value(c, q, p):
    return q * c.size * p if c.kind == "linear" else q * c.size / p


def pnl(c, s, q, e, p):
    if c.kind == "linear":
        return s * q * c.size * (p - e)
    return s * q * c.size * (1 / e - 1 / p)


def initial_margin(c, q, e, lev):
    return value(c, q, e) / lev


def liq_price(c, s, q, e, mmr, m):
    """SPEC 2.3's four formulas; None where no positive price solves it."""
    if c.kind == "linear":
        if s > 0:
            p = (e - m / (q * c.size)) / (1 - mmr)
        else:
            p = (e + m / (q * c.size)) / (1 + mmr)
    else:
        v0 = q * c.size
        if s > 0:
            p = v0 * (1 + mmr) / (m + v0 / e)
        else:
            den = v0 / e - m
            p = v0 * (1 - mmr) / den if den > 0 else -1.0
    return p if p > 0 else None


def margin_ratio(c, s, q, e, mark, mmr, m):
    eq = m + pnl(c, s, q, e, mark)
    return (mmr * value(c, q, mark) / eq if eq > 0 else None), eq


def ladder(table, code, mode, s, q, e, lev, m):
    """SPEC 2.4 step by step: list of (trigger, q_before, q_after, tier_before,
    tier_after, margin_after)."""
    c = table.contract(code)
    lads = sorted((x for x in table.ladders if x.contract == c.code and x.mode == mode
                   and x.lever == lev), key=lambda x: x.min_size)
    steps = []
    while q > 0:
        t = tier(table, code, mode, lev, q)
        p = liq_price(c, s, q, e, t[1], m)
        if p is None:
            break
        equity = m + pnl(c, s, q, e, p)
        here = [x.ladder for x in lads].index(t[0])
        for lower in reversed(lads[:here]):
            mmr_j = lower.adjust_factor / lev if math.isnan(lower.mmr) else lower.mmr
            if lower.max_size < q and mmr_j * value(c, lower.max_size, p) < equity:
                new_m = m + pnl(c, s, q - lower.max_size, e, p)
                steps.append((p, q, lower.max_size, t[0], lower.ladder, new_m))
                q, m = lower.max_size, new_m
                break
        else:
            steps.append((p, q, 0.0, t[0], -1, 0.0))
            q = 0
    return steps


def contracts_left(table, code, mode, s, q, e, lev, m, price):
    for p, qb, qa, *_ in ladder(table, code, mode, s, q, e, lev, m):
        if (s > 0 and price <= p) or (s < 0 and price >= p):
            q = qa
    return q


def margin_for_liq(c, s, q, e, mmr, target):
    """Margin balance M whose liquidation price is ``target`` (from MM(P) = Eq(P))."""
    return mmr * value(c, q, target) - pnl(c, s, q, e, target)


def available(bands, equity):
    """HTX tiered available margin from (b0, b1, a0, a1, rate) bands."""
    for b0, b1, a0, a1, rate in bands:
        if b0 <= equity <= b1:
            return a0 + (equity - b0) * (rate if b1 == math.inf else (a1 - a0) / (b1 - b0))
    return equity


def cross_liq(table, positions, balance):
    """positions: (code, s, q, e, mark, lev). Liquidation price per position."""
    net = {}
    for code, s, q, *_ in positions:
        net[code] = net.get(code, 0) + s * q
    rows = []
    for code, s, q, e, mark, lev in positions:
        c = table.contract(code)
        mmr = tier(table, code, "cross", lev, abs(net[code]))[1]
        rows.append((c, s, q, e, mark, mmr))
    out = []
    for j, (c, s, q, e, mark, mmr) in enumerate(rows):
        others = sum(pnl(c2, s2, q2, e2, m2) - mmr2 * value(c2, q2, m2)
                     for i, (c2, s2, q2, e2, m2, mmr2) in enumerate(rows) if i != j)
        x = balance + others
        # solve mmr*V(P) = x + pnl(P) by bisection-free closed form per kind
        if c.kind == "linear":
            p = (s * e * q * c.size - x) / (q * c.size * (s - mmr))
        else:
            p = q * c.size * (mmr + s) / (x + s * q * c.size / e)
        out.append(p if p > 0 else None)
    return out
