"""The invariants and the liquidation-process properties, as hypothesis
properties over contracts, sides, sizes, prices, leverages and margins."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hs

from htxcore import status as st
from xlhtx import api
from xlhtx.reference.snapshot import snapshot

T = snapshot()
POS = dict(
    code=hs.sampled_from(T.codes), side=hs.sampled_from(["long", "short"]),
    q=hs.integers(1, 400_000).map(float), e=hs.floats(0.05, 1e5),
    lev=hs.sampled_from([1.0, 2.0, 5.0, 10.0, 20.0, 50.0]), mfac=hs.floats(0.2, 4.0))
SET = settings(max_examples=200, deadline=None)


def im(code, q, e, lev):
    return api.initial_margin(code, q, e, lev).values[0]


@SET
@given(**POS)
def test_margin_ratio_is_100_percent_at_the_liquidation_price(code, side, q, e, lev, mfac):
    m = mfac * im(code, q, e, lev)
    liq = api.liq_price(code, side, q, e, lev, margin=m)
    assume(liq.status[0] == st.OK)
    mr = api.margin_ratio(code, side, q, e, liq.values[0], lev, margin=m)["margin_ratio"]
    assert mr.values[0] == pytest.approx(1.0, rel=1e-8)


@SET
@given(**POS)
def test_bankruptcy_is_beyond_liquidation(code, side, q, e, lev, mfac):
    m = mfac * im(code, q, e, lev)
    liq = api.liq_price(code, side, q, e, lev, margin=m)
    bk = api.bankruptcy_price(code, side, q, e, lev, margin=m)
    assume(liq.status[0] == st.OK and bk.status[0] == st.OK)
    if side == "long":
        assert bk.values[0] < liq.values[0]
    else:
        assert bk.values[0] > liq.values[0]


@SET
@given(**POS, more=hs.floats(1.01, 3.0))
def test_more_margin_moves_liquidation_away_from_entry(code, side, q, e, lev, mfac, more):
    m = mfac * im(code, q, e, lev)
    a = api.liq_price(code, side, q, e, lev, margin=m)
    b = api.liq_price(code, side, q, e, lev, margin=m * more)
    assume(a.status[0] == st.OK)
    if b.status[0] == st.NO_LIQUIDATION:
        return  # enough margin that no price liquidates it: as far away as it gets
    sign = 1 if side == "long" else -1
    assert sign * (e - b.values[0]) > sign * (e - a.values[0])


@SET
@given(**POS)
def test_liquidation_price_is_continuous_within_a_tier(code, side, q, e, lev, mfac):
    m = mfac * im(code, q, e, lev)
    qs = [q, q * (1 + 1e-7), q * (1 + 1e-4)]
    r = api.liq_price(code, side, qs, e, lev, margin=m)
    t = api.tier(code, lev, qs)["ladder"]
    assume((r.status == st.OK).all() and len(set(t.values)) == 1)
    scale = abs(r.values[0]) + e
    small, large = abs(r.values[1] - r.values[0]), abs(r.values[2] - r.values[0])
    # continuous, and smooth within a tier: a 1,000x smaller step gives a ~1,000x smaller
    # change (a fixed bound would fail near the pole of a coin-margined short at 1x)
    assert small <= 2e-3 * large + 1e-12 * scale


@SET
@given(**POS)
def test_ladder_steps_fall_and_triggers_move_against_the_position(code, side, q, e, lev, mfac):
    m = mfac * im(code, q, e, lev)
    lad = api.liq_ladder(code, side, q, e, lev, margin=m)
    assume(lad.result.status[0] == st.OK)
    n = int(lad.n_steps[0])
    before = lad.columns["contracts_before"][0, :n]
    after = lad.columns["contracts_after"][0, :n]
    trig = lad.columns["trigger_price"][0, :n]
    assert before[0] == q and after[-1] == 0
    assert (after < before).all() and (before[1:] == after[:-1]).all()
    if side == "long":
        assert (np.diff(trig) < 0).all()
    else:
        assert (np.diff(trig) > 0).all()
    assert (lad.columns["tier_after"][0, :n - 1] < lad.columns["tier_before"][0, :n - 1]).all()


@SET
@given(**POS, frac=hs.floats(0.0, 1.0))
def test_contracts_left_agree_with_the_ladder_between_steps(code, side, q, e, lev, mfac, frac):
    m = mfac * im(code, q, e, lev)
    lad = api.liq_ladder(code, side, q, e, lev, margin=m)
    assume(lad.result.status[0] == st.OK)
    n = int(lad.n_steps[0])
    trig = list(lad.columns["trigger_price"][0, :n])
    after = list(lad.columns["contracts_after"][0, :n])
    safe = trig[0] * 1.5 if side == "long" else trig[0] / 1.5  # before any trigger
    bounds = [safe] + trig
    k = min(int(frac * n), n - 1)  # a price between step k's trigger and the next
    lo, hi = bounds[k], bounds[k + 1]
    price = hi + (lo - hi) * 0.5 if k + 1 <= n else hi
    left = api.after_liq(code, side, q, e, lev, price, margin=m)["contracts"]
    assert left.values[0] == (q if k == 0 else after[k - 1])
    at = api.after_liq(code, side, q, e, lev, trig[k], margin=m)["contracts"]
    assert at.values[0] == after[k]  # a trigger fires when the mark reaches it


@SET
@given(**POS, target_frac=hs.floats(0.5, 0.999))
def test_top_up_round_trip(code, side, q, e, lev, mfac, target_frac):
    m = mfac * im(code, q, e, lev)
    target = e * target_frac if side == "long" else e / target_frac
    add = api.add_margin(code, side, q, e, lev, target, margin=m)
    assume(add.status[0] == st.OK and m + add.values[0] > 0)
    liq = api.liq_price(code, side, q, e, lev, margin=m + add.values[0])
    assert liq.values[0] == pytest.approx(target, rel=1e-9)


@SET
@given(hs.lists(hs.tuples(hs.floats(-1e6, 1e6), hs.floats(1.0, 1e6), hs.floats(1.0, 1e7)),
                min_size=1, max_size=50))
def test_adl_ranks_are_a_permutation_with_profits_first(book):
    pnl, margin, notional = (list(c) for c in zip(*book))
    r = api.adl_rank(pnl, margin, notional)
    ranks = r.values.astype(int).tolist()
    assert sorted(ranks) == list(range(1, len(book) + 1))
    prof = [rk for rk, p in zip(ranks, pnl) if p > 0]
    loss = [rk for rk, p in zip(ranks, pnl) if p <= 0]
    assert not prof or not loss or max(prof) < min(loss)
    score = [(p / mg) * (nt / (mg + p)) if mg + p > 0 else -math.inf for p, mg, nt in book]
    order = sorted((rk, sc) for rk, sc, p in zip(ranks, score, pnl) if p > 0)
    assert all(a[1] >= b[1] for a, b in zip(order, order[1:]))
