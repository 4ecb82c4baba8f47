"""Plain-Python reference of HTX's formulas (docs/maths.md), written from the rules' text
and independent of the kernels: the tests check the compiled path against it.

Two systems: adjustment-factor ladders (MMR = a / L, net position, partial liquidation)
and risk-limit tiers (``lever`` 0 in the table: an MMR per tier, the first tier whose
``max_volume`` holds the size, leverage up to the tier's ``max_lever``, the whole
position liquidated at its first trigger).

Everything works on one position at a time from a parsed ``TierTable``'s ladders;
``None`` stands for "no number" (an invalid row or no liquidation).
"""

from __future__ import annotations

import math
from fractions import Fraction


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
    if is_risk_limit(table, code):
        # the first tier holding the size in whole contracts (a boundary two tiers share
        # belongs to the lower one)
        found = next((x for x in lads if net < x.max_size + 1), None)
        if found is None or lever > found.max_leverage or not 0 <= found.mmr < 1:
            return None
        return found.ladder, found.mmr
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


def is_risk_limit(table, code):
    """A contract on risk-limit tiers: its table rows carry no leverage."""
    c = table.contract(code)
    return any(x.lever == 0 for x in table.ladders if c is not None and x.contract == c.code)


def value(c, q, p):
    return q * c.size * p if c.kind == "linear" else q * c.size / p


def pnl(c, s, q, e, p):
    if c.kind == "linear":
        return s * q * c.size * (p - e)
    return s * q * c.size * (1 / e - 1 / p)


def initial_margin(c, q, e, lev):
    return value(c, q, e) / lev


def liq_price(c, s, q, e, mmr, m):
    """The four liquidation-price formulas of docs/maths.md; None where no positive price solves it."""
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
    """MM / equity; +inf once no equity is left (past liquidation, never "no number")."""
    eq = m + pnl(c, s, q, e, mark)
    return (mmr * value(c, q, mark) / eq if eq > 0 else math.inf), eq


def ladder(table, code, mode, s, q, e, lev, m):
    """Tiered liquidation (docs/maths.md) step by step: list of (trigger, q_before, q_after, tier_before,
    tier_after, margin_after)."""
    c = table.contract(code)
    risk_limit = is_risk_limit(table, code)
    lads = sorted((x for x in table.ladders if x.contract == c.code and x.mode == mode
                   and x.lever == (0 if risk_limit else lev)), key=lambda x: x.min_size)
    steps = []
    while q > 0:
        t = tier(table, code, mode, lev, q)
        p = liq_price(c, s, q, e, t[1], m)
        if p is None:
            break
        if risk_limit:   # no published partial liquidation: all of it at the trigger
            steps.append((p, q, 0.0, t[0], -1, 0.0))
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
    """positions: (code, s, q, e, mark, lev) of one cross account. Liquidation price per
    position: the legs of its contract move with one price, tiered on the net position;
    other contracts stay at their marks. None when liquidated already at the marks or no
    positive price solves it. Solved from two evaluations of the (linear in P, or in
    1/P) margin surplus, not from the kernel's closed form."""
    net = {}
    for code, s, q, *_ in positions:
        net[code] = net.get(code, 0) + s * q
    F = Fraction   # exact arithmetic: the root is exact, then rounded once
    legs = []
    for code, s, q, e, mark, lev in positions:
        c = table.contract(code)
        exact = type(c)(c.code, c.kind, F(c.size))
        # risk-limit tiers are per position side, ladders on the net position
        size = q if is_risk_limit(table, code) else abs(net[code])
        mmr = tier(table, code, "cross", lev, size)[1]
        legs.append((exact, s, F(q), F(e), F(mmr)))
    marks = {code: F(mark) for code, s, q, e, mark, lev in positions}
    if account_equity_minus_mm(legs, F(balance), marks) <= 0:
        return [None] * len(positions)
    out = []
    for code, *_ in positions:
        c = table.contract(code)
        f = lambda p: account_equity_minus_mm(legs, F(balance), {**marks, code: p})  # noqa: E731
        m = marks[code]
        if c.kind == "linear":
            a, b = f(m), (f(m / 2) - f(m)) / (m / 2 - m)       # f(P) = a + b*(P - m)
            p = m - a / b if b != 0 else -1
        else:
            a, b = f(m), (f(m / 2) - f(m)) / (2 / m - 1 / m)   # f = a + b*(1/P - 1/m)
            x = 1 / m - a / b if b != 0 else -1
            p = 1 / x if x > 0 else -1
        out.append(float(p) if p > 0 else None)
    return out


def account_equity_minus_mm(legs, balance, prices):
    """Equity minus maintenance margin of an account whose legs are
    ``(contract, side, q, cost, mmr)`` and whose contract prices are ``prices[code]``."""
    eq = balance + sum(pnl(c, s, q, e, prices[c.code]) for c, s, q, e, _ in legs)
    mm = sum(mmr * value(c, q, prices[c.code]) for c, s, q, e, mmr in legs)
    return eq - mm


def account_risk_rate(legs, balance, marks, levers, cross_linear, frozen=0.0):
    """HTX's risk rate from its published rule (docs/maths.md): legs as above."""
    eq = balance + sum(pnl(c, s, q, e, marks[c.code]) for c, s, q, e, _ in legs)
    used = [value(c, q, marks[c.code]) / levers[c.code] for c, s, q, e, _ in legs]
    used[0] += frozen
    factors = [mmr * levers[c.code] for c, s, q, e, mmr in legs]
    if cross_linear:
        return eq / sum(a * u for a, u in zip(factors, used)) - 1
    return eq / sum(used) - factors[0]


def liq_map(table, positions, price_from, step, n_buckets):
    """Plain-Python liquidation map: positions (code, s, q, e, lev, m) walk ``ladder``;
    each step's closed contracts land in its trigger's bucket. Returns
    {(side, bucket): (contracts, notional)}."""
    out = {}
    for code, s, q, e, lev, m in positions:
        c = table.contract(code)
        for p, qb, qa, *_ in ladder(table, code, "isolated", s, q, e, lev, m):
            k = math.floor((p - price_from) / step)
            if 0 <= k < n_buckets:
                closed = qb - qa
                v = closed * c.size * (p if c.kind == "linear" else 1.0)
                a, b = out.get((s, k), (0.0, 0.0))
                out[(s, k)] = (a + closed, b + v)
    return out


def locked_account_f(legs, balance, prices, lock, lock_all):
    """Equity minus maintenance margin of an account under HTX's locked-margin
    optimization, from the announcements' text: per contract ("same type") the smaller of
    the long and short margin is waived at ``lock``; across contracts the smaller of what
    then remains long and short, at ``lock_all``. Margins here are maintenance margins
    (factor x position margin: one factor per account). ``legs``: (contract, side, q,
    cost, mmr)."""
    eq = balance + sum(pnl(c, s, q, e, prices[c.code]) for c, s, q, e, _ in legs)
    by = {}
    for c, s, q, e, mmr in legs:
        side = by.setdefault(c.code, [0.0, 0.0])
        side[0 if s > 0 else 1] += mmr * value(c, q, prices[c.code])
    mm = 0.0
    rem_long = rem_short = 0.0
    for long_mm, short_mm in by.values():
        same = min(long_mm, short_mm)
        mm += long_mm + short_mm - lock * same
        rem_long += long_mm - lock * same
        rem_short += short_mm - lock * same
    return eq - (mm - lock_all * min(rem_long, rem_short))
