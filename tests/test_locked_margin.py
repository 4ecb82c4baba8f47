"""HTX's locked-margin optimization: a hedged pair's margin charged once on coin-margined
swaps (from 2020-10-15) and delivery futures (from 2020-06-12, half across expiries), in the
account kernel, the API and the import; both legs before those dates and on USDT-M."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import oracle
from htxcore import status as st
from xlhtx import api
from xlhtx.htx import v1
from xlhtx.reference import locked_margin
from xlhtx.reference.snapshot import snapshot

T = snapshot("legacy")


def hedge(code, q_long, q_short, price, lever=20, balance=1.0, af=0.3, **kw):
    return api.account([code, code], ["long", "short"], [q_long, q_short], [price] * 2,
                       [price] * 2, [lever] * 2, margin_static=balance, mode="isolated", adjust_factor=[af] * 2,
                       tiers=T, **kw)


@pytest.mark.parametrize("code", ["BTC-USD", "BTC200925"])
def test_the_announcements_example_margin_is_its_larger_side(code):
    # both announcements: 1000 long and 800 short BTC at 9500, 20x -> 0.5263 BTC, not 0.9473
    res = hedge(code, 1000, 800, 9500, balance=1.0, af=0.3)
    locked = 100 * 1000 / 9500 / 20
    assert round(locked, 4) == 0.5263
    assert res["risk_rate"].values[0] == pytest.approx(1.0 / locked - 0.3, rel=1e-14)
    assert res["margin_ratio"].values[0] == pytest.approx(0.3 * locked / 1.0, rel=1e-14)


@pytest.mark.parametrize("code, as_of", [("BTC-USD", "2020-10-15T07:59:59+00:00"),
                                         ("BTC200925", "2020-06-12T08:59:00+00:00")])
def test_before_the_announcements_both_legs_are_charged(code, as_of):
    both = 100 * 1800 / 9500 / 20
    res = hedge(code, 1000, 800, 9500, af=0.3, as_of=as_of)
    assert res["risk_rate"].values[0] == pytest.approx(1.0 / both - 0.3, rel=1e-14)
    after = hedge(code, 1000, 800, 9500, af=0.3, as_of="2020-10-15T08:00:00+00:00")
    assert after["risk_rate"].values[0] > res["risk_rate"].values[0]


def test_usdt_margined_hedges_charge_both_legs():
    res = api.account(["BTC-USDT"] * 2, ["long", "short"], [1000, 800], [30000] * 2,
                      [30000] * 2, [20] * 2, margin_static=500.0, mode="cross", adjust_factor=[0.3] * 2, tiers=T)
    both = 1800 * 0.001 * 30000 / 20
    assert res["risk_rate"].values[0] == pytest.approx(500 / (0.3 * both) - 1, rel=1e-14)


def test_lock_ratios_by_product_and_date():
    c = {k: T.resolving([k]).contract(k) for k in ("BTC-USD", "BTC200925", "BTC-USDT")}
    assert locked_margin.ratios([c["BTC-USD"]], "2021-01-01") == (1.0, 0.0)
    assert locked_margin.ratios([c["BTC200925"]], 1593950400000) == (1.0, 0.5)
    assert locked_margin.ratios([c["BTC-USDT"]], None) == (0.0, 0.0)
    assert locked_margin.ratios([c["BTC-USD"]], "2020-10-01") == (0.0, 0.0)
    with pytest.raises(Exception, match="as_of"):
        locked_margin.ratios([c["BTC-USD"]], "yesterday")


def _legs(res_codes, sides, qs, costs, mmrs):
    return [(T.resolving([k]).contract(k), s, q, e, m)
            for k, s, q, e, m in zip(res_codes, sides, qs, costs, mmrs)]


@settings(max_examples=150, deadline=None)
@given(q=hs.lists(hs.integers(1, 5000), min_size=3, max_size=3),
       sides=hs.lists(hs.sampled_from([1, -1]), min_size=3, max_size=3),
       marks=hs.lists(hs.floats(8000, 12000), min_size=3, max_size=3),
       balance=hs.floats(0.5, 20), lever=hs.sampled_from([5, 10, 20, 50]),
       af=hs.sampled_from([0.1, 0.3, 0.45]))
def test_delivery_accounts_liquidate_where_the_announced_margin_meets_equity(
        q, sides, marks, balance, lever, af):
    """Three delivery contracts of one coin (two legs on the first): each liquidation
    price is a root of the oracle's equity - MM, and no price nearer the mark is one."""
    codes = ["BTC200925", "BTC200925", "BTC201225"]
    sides = [1, -1, sides[2]]
    marks = [marks[0], marks[0], marks[2]]
    costs = [m * (1 + 0.01 * (-1) ** i) for i, m in enumerate(marks)]
    res = api.accounts(0, [1], [balance], codes, sides, q, costs, marks, [lever] * 3,
                       adjust_factor=[af] * 3, tiers=T)
    legs = _legs(codes, sides, q, costs, [af / lever] * 3)
    now = {"BTC200925": marks[0], "BTC201225": marks[2]}
    f_now = oracle.locked_account_f(legs, balance, now, 1.0, 0.5)
    liq = res["liq_price"]
    if f_now <= 0:
        assert set(liq.status) == {st.LIQUIDATED}
        return
    eq = balance + sum(oracle.pnl(c, s, qq, e, now[c.code]) for c, s, qq, e, _ in legs)
    assert res["margin_ratio"].values[0] == pytest.approx((eq - f_now) / eq, rel=1e-9)
    for i in (0, 2):
        code = codes[i]
        if not liq.ok[i]:
            assert liq.status[i] == st.NO_LIQUIDATION
            continue
        p = liq.values[i]
        f = lambda x: oracle.locked_account_f(legs, balance, dict(now, **{code: x}), 1.0, 0.5)
        # f is in coin; its scale is the account's notional in coin at the price
        scale = balance + sum(qq * c.size / now[c.code] for c, _, qq, _, _ in legs)
        assert f(p) == pytest.approx(0.0, abs=1e-9 * scale)
        # no liquidation between the mark and p
        for k in range(1, 50):
            x = now[code] + (p - now[code]) * k / 50
            assert f(x) > -1e-9 * scale


def test_a_hedged_coin_margined_import_reproduces_htx_with_the_locked_margin():
    """A THETA-USD isolated account in hedge mode, its HTX figures made by HTX's rules:
    margin_position = the larger side; risk rate = margin_balance / (margin_position +
    margin_frozen) - adjust_factor."""
    size, mark, lever, af, static = 10.0, 0.63768, 20, 0.4, 723.9
    long_q, short_q, cost_l, cost_s = 20, 12, 0.65931, 0.61
    pnl = long_q * size * (1 / cost_l - 1 / mark) + short_q * size * (1 / mark - 1 / cost_s)
    im = lambda v: v * size / mark / lever  # noqa: E731
    margin_position = max(im(long_q), im(short_q))
    frozen = 13.77
    balance = static + pnl
    risk = balance / (margin_position + frozen) - af
    payload = {"status": "ok", "ts": 1603868847514, "data": [{
        "symbol": "THETA", "contract_code": "THETA-USD", "margin_static": static,
        "margin_balance": balance, "margin_position": margin_position,
        "margin_frozen": frozen, "profit_unreal": pnl, "risk_rate": risk,
        "liquidation_price": None, "lever_rate": lever, "adjust_factor": af,
        "positions": [
            {"contract_code": "THETA-USD", "direction": "buy", "volume": long_q,
             "cost_hold": cost_l, "cost_open": cost_l, "lever_rate": lever,
             "position_margin": im(long_q), "last_price": mark},
            {"contract_code": "THETA-USD", "direction": "sell", "volume": short_q,
             "cost_hold": cost_s, "cost_open": cost_s, "lever_rate": lever,
             "position_margin": im(short_q), "last_price": mark}]}]}
    cols = v1.compare(v1.parse_accounts(payload), T)
    assert cols["risk_rate"] == [pytest.approx(risk, rel=1e-12)] * 2
    # the liquidation price: equity = af x margin_position, the longer side's margin
    p = cols["liq_price"][0]
    eq = static + long_q * size * (1 / cost_l - 1 / p) + short_q * size * (1 / p - 1 / cost_s)
    assert eq == pytest.approx(af * long_q * size / p / lever, rel=1e-12)
    assert math.isfinite(p) and cols["liq_price"][1] == p
