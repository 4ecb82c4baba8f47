"""Kernels against the plain-Python oracle on hypothesis-generated books.

Each example is a book of 150-200 positions drawn by hypothesis, on today's snapshot (USDT-M
on risk-limit tiers, coin-margined on adjustment factors: a mixed book) and on the legacy
one (every contract on adjustment factors); over the run the kernels see more than 100,000
rows (counted, and checked by the last test of this module).
Agreement: 1e-12 relative, with the absolute slack of 1e-12 of the price scale that the
closed forms' cancellations (E - M/(q*cs) near 0) need.
"""

import math

import numpy as np
import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import oracle
from htxcore import status as st
from xlhtx import api
from xlhtx.reference.snapshot import snapshot

TABLE = snapshot()
TABLES = {"today": TABLE, "legacy": snapshot("legacy")}
CODES = TABLE.codes
# every leverage either table publishes (risk-limit tiers take any up to their caps)
LEVERS = sorted({lad.lever for t in TABLES.values() for lad in t.ladders if lad.lever})
ROWS_SEEN = {"n": 0}

row = hs.tuples(
    hs.sampled_from(CODES),
    hs.sampled_from([1, -1]),
    hs.one_of(hs.integers(1, 250_000).map(float), hs.floats(0.5, 250_000)),
    hs.floats(0.01, 2e6),
    hs.sampled_from(LEVERS),
    hs.one_of(hs.none(), hs.floats(0.05, 5.0)),     # margin as a multiple of IM
    hs.floats(0.3, 3.0),                             # mark as a multiple of entry
)
books = hs.lists(row, min_size=150, max_size=200)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=list(HealthCheck))


def close(a, b, scale):
    if a is None or b is None:  # "no price" vs a price that is 0 to rounding
        return (a if a is not None else b or 0.0) <= 1e-12 * scale
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * scale)


def columns(book, table=TABLE):
    code, side, q, e, lev, mfac, kmark = (list(c) for c in zip(*book))
    im = [oracle.initial_margin(table.contract(c), qq, ee, ll)
          for c, qq, ee, ll in zip(code, q, e, lev)]
    margin = [None if f is None else f * m for f, m in zip(mfac, im)]
    mark = [k * ee for k, ee in zip(kmark, e)]
    return code, side, q, e, lev, margin, mark


@pytest.mark.parametrize("name", TABLES)
@SETTINGS
@given(book=books)
def test_position_kernels_match_oracle(name, book):
    ROWS_SEEN["n"] += len(book)
    table = TABLES[name]
    code, side, q, e, lev, margin, mark = columns(book, table)
    sides = ["long" if s > 0 else "short" for s in side]
    liq = api.liq_price(code, sides, q, e, lev, margin=margin, tiers=table)
    bk = api.bankruptcy_price(code, sides, q, e, lev, margin=margin, tiers=table)
    mr = api.margin_ratio(code, sides, q, e, mark, lev, margin=margin, tiers=table)
    mm = api.maint_margin(code, q, mark, lev, mode=None, tiers=table)
    pnl = api.pnl(code, sides, q, e, mark, tiers=table)
    roe = api.roe(code, sides, q, e, mark, lev, tiers=table)
    notional = api.notional(code, q, mark, tiers=table)
    for i in range(len(book)):
        c = table.contract(code[i])
        t = oracle.tier(table, code[i], "isolated", lev[i], q[i])
        scale = max(e[i], mark[i])
        if t is None:
            assert liq.status[i] in (st.ERR_SIZE_ABOVE_TIERS, st.ERR_NO_TIER,
                                     st.ERR_LEVER_ABOVE_TIER)
            continue
        m = margin[i] if margin[i] is not None else oracle.initial_margin(c, q[i], e[i], lev[i])
        want = oracle.liq_price(c, side[i], q[i], e[i], t[1], m)
        got = liq.values[i] if liq.status[i] == st.OK else None
        assert close(got, want, scale), (book[i], got, want)
        want_b = oracle.liq_price(c, side[i], q[i], e[i], 0.0, m)
        got_b = bk.values[i] if bk.status[i] == st.OK else None
        assert close(got_b, want_b, scale), (book[i], got_b, want_b)
        want_r, want_eq = oracle.margin_ratio(c, side[i], q[i], e[i], mark[i], t[1], m)
        got_r = mr["margin_ratio"].values[i] if mr["margin_ratio"].status[i] == st.OK else None
        if want_eq <= 1e-9 * m:   # no equity left (or within rounding of none)
            assert got_r is not None and got_r >= 1.0, (book[i], got_r, want_eq)
        else:
            assert math.isclose(got_r, want_r, rel_tol=1e-9), (book[i], got_r, want_r)
        assert math.isclose(mr["equity"].values[i], want_eq, rel_tol=1e-12,
                            abs_tol=1e-12 * (abs(m) + oracle.value(c, q[i], e[i])))
        assert math.isclose(mm.values[i], t[1] * oracle.value(c, q[i], mark[i]), rel_tol=1e-12)
        want_pnl = oracle.pnl(c, side[i], q[i], e[i], mark[i])
        pscale = oracle.value(c, q[i], e[i]) + oracle.value(c, q[i], mark[i])
        assert math.isclose(pnl.values[i], want_pnl, rel_tol=1e-12, abs_tol=1e-12 * pscale)
        assert math.isclose(roe.values[i], want_pnl / oracle.initial_margin(c, q[i], e[i], lev[i]),
                            rel_tol=1e-12, abs_tol=1e-12 * lev[i] * 4)
        assert math.isclose(notional.values[i], oracle.value(c, q[i], mark[i]), rel_tol=1e-12)


def test_oracle_saw_at_least_100k_rows():
    assert ROWS_SEEN["n"] >= 100_000, ROWS_SEEN


@pytest.mark.parametrize("name", TABLES)
@settings(max_examples=60, deadline=None)
@given(rows=hs.lists(hs.tuples(hs.sampled_from([c for c in CODES
                                                if TABLE.contract(c).kind == "linear"]),
                               hs.sampled_from([1, -1]), hs.integers(1, 120_000).map(float),
                               hs.floats(1.0, 1e5), hs.sampled_from([5.0, 10.0, 20.0, 50.0]),
                               hs.floats(0.8, 1.2)), min_size=1, max_size=12),
       balance=hs.floats(0.0, 1e6))
def test_cross_liq_price_matches_oracle(name, rows, balance):
    table = TABLES[name]
    marks = {}   # one mark price per contract: its legs move together
    positions = [(c, s, q, e, marks.setdefault(c, k * e), lev) for c, s, q, e, lev, k in rows]
    code, side, q, e, mark, lev = (list(x) for x in zip(*positions))
    got = api.cross_liq_price(code, side, q, e, mark, lev, balance, tiers=table)
    net = {}
    for c, s_, qq, *_ in positions:
        net[c] = net.get(c, 0) + s_ * qq
    sized = [qq if oracle.is_risk_limit(table, c) else abs(net[c]) for c, s_, qq, *_ in positions]
    if any(oracle.tier(table, c, "cross", lv, n) is None
           for (c, *_, lv), n in zip(positions, sized)):
        # a leg without a tier (size above the last, leverage above its cap): no account
        assert not got.ok.any()
        return
    want = oracle.cross_liq(table, positions, balance)
    for i, w in enumerate(want):
        g = got.values[i] if got.status[i] == st.OK else None
        scale = max(e[i], mark[i]) * (1 + abs(balance) / (q[i] * table.contract(code[i]).size * e[i]))
        assert close(g, w, scale), (positions[i], g, w)


@pytest.mark.parametrize("name", TABLES)
@settings(max_examples=100, deadline=None)
@given(code=hs.sampled_from(CODES), side=hs.sampled_from([1, -1]),
       q=hs.integers(1, 300_000).map(float), e=hs.floats(10.0, 1e5),
       lev=hs.sampled_from(LEVERS), mfac=hs.floats(0.3, 3.0))
def test_ladder_matches_oracle(name, code, side, q, e, lev, mfac):
    table = TABLES[name]
    c = table.contract(code)
    if oracle.tier(table, code, "isolated", lev, q) is None:
        return
    m = mfac * oracle.initial_margin(c, q, e, lev)
    want = oracle.ladder(table, code, "isolated", side, q, e, lev, m)
    lad = api.liq_ladder(code, side, q, e, lev, margin=m, tiers=table)
    n = int(lad.n_steps[0])
    assert n == len(want)
    for k, (p, qb, qa, kb, ka, ma) in enumerate(want):
        assert math.isclose(lad.columns["trigger_price"][0, k], p, rel_tol=1e-9)
        assert lad.columns["contracts_after"][0, k] == qa
        assert lad.columns["tier_after"][0, k] == ka
        assert math.isclose(lad.columns["margin_after"][0, k], ma, rel_tol=1e-9, abs_tol=1e-9 * m)


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.tuples(hs.sampled_from(CODES + ["NOPE-USDT"]), hs.sampled_from([1, -1, 0]),
                          hs.integers(0, 200_000).map(float), hs.floats(0.5, 1e5),
                          hs.sampled_from(LEVERS + [7.0]), hs.floats(0.5, 1.5),
                          hs.one_of(hs.none(), hs.floats(0.0, 2.0))), min_size=1, max_size=30))
def test_table_in_one_pass_equals_each_function(rows):
    """``metrics.compute`` (one kernel pass) agrees with every single-metric function."""
    from xlhtx.tables import metrics
    code, side, q, e, lev, k, mfac = (list(x) for x in zip(*rows))
    mark = [ei * ki for ei, ki in zip(e, k)]
    margin = [None if f is None else f * ei * qi * 0.001 for f, ei, qi in zip(mfac, e, q)]
    got = metrics.compute({"contract": code, "side": side, "contracts": q, "entry_price": e,
                        "leverage": lev, "margin": margin, "mark_price": mark}, TABLE)
    tier = api.tier(code, lev, q, mode=None, tiers=TABLE)
    mr = api.margin_ratio(code, side, q, e, mark, lev, margin=margin, tiers=TABLE)
    want = {
        "notional": api.notional(code, q, mark, tiers=TABLE), "tier": tier["ladder"],
        "initial_margin": api.initial_margin(code, q, e, lev, tiers=TABLE),
        "mmr": tier["mmr"], "adjust_factor": tier["adjust_factor"],
        "maint_margin": api.maint_margin(code, q, mark, lev, mode=None, tiers=TABLE),
        "liq_price": api.liq_price(code, side, q, e, lev, margin=margin, tiers=TABLE),
        "bankruptcy_price": api.bankruptcy_price(code, side, q, e, lev, margin=margin, tiers=TABLE),
        "pnl": api.pnl(code, side, q, e, mark, tiers=TABLE),
        "roe": api.roe(code, side, q, e, mark, lev, tiers=TABLE),
        "margin_ratio": mr["margin_ratio"], "equity": mr["equity"],
    }
    for name, r in want.items():
        valid = np.flatnonzero(r.ok & ~np.isnan(got[name]))
        # a table row needs every input; a single metric only its own: compare where both are
        assert np.array_equal(got[name][valid], r.values[valid]), name
        full = np.array([s == "" for s in got["status"]])
        assert np.array_equal(np.isnan(got[name][full]), np.isnan(r.values[full])), name
