"""Liquidation process: contracts left, top-ups, leverage for a distance, the
insurance fund, ADL, max open size, cross accounts; hand-computed numbers."""

import math

import pytest

import oracle
from htxcore import status as st
from xlhtx import api

# HTX's adjustment-factor rules: the worked examples of its pages are on them
LEGACY = "legacy"
from xlhtx.reference.snapshot import snapshot

T = snapshot("legacy")


def test_after_liq_reports_ratio_and_equity_of_what_is_left():
    # the tiered-liquidation example, mark at 29,950: the first trigger (29,963.75) has fired
    r = api.after_liq("BTC-USDT", "long", 100000, 30000, 125, 29950, tiers=LEGACY)
    assert r["contracts"].values[0] == 89999
    m1 = 24000 + 10.001 * ((30000 - 240) / (1 - 0.85 / 125) - 30000)
    eq = m1 + 89.999 * (29950 - 30000)
    assert r["equity"].values[0] == pytest.approx(eq, rel=1e-9)
    assert r["margin_ratio"].values[0] == pytest.approx(0.8 / 125 * 89.999 * 29950 / eq, rel=1e-9)
    gone = api.after_liq("BTC-USDT", "long", 100000, 30000, 125, 20000, tiers=LEGACY)
    assert gone["contracts"].values[0] == 0 and gone["equity"].values[0] == 0
    assert gone["margin_ratio"].cell(0).startswith("liquidated")


def test_inverse_ladder_matches_oracle():
    lad = api.liq_ladder("BTC-USD", "short", 40000, 30000, 100, tiers=LEGACY)
    want = oracle.ladder(T, "BTC-USD", "isolated", -1, 40000.0, 30000.0, 100.0,
                         40000 * 100 / 30000 / 100)
    assert int(lad.n_steps[0]) == len(want) == 3
    for k, step in enumerate(want):
        assert lad.columns["trigger_price"][0, k] == pytest.approx(step[0], rel=1e-12)
        assert lad.columns["contracts_after"][0, k] == step[2]


def test_add_margin_negative_means_removable_and_unreachable_is_said():
    liq = api.liq_price("BTC-USDT", "long", 5000, 30000, 125, tiers=LEGACY).values[0]
    closer = api.add_margin("BTC-USDT", "long", 5000, 30000, 125, (liq + 30000) / 2, tiers=LEGACY)
    assert closer.values[0] < 0
    bad = api.add_margin("BTC-USDT", "long", 5000, 30000, 125, 40000, tiers=LEGACY)
    assert bad.status[0] == st.UNREACHABLE and "unreachable" in bad.messages[0]


def test_leverage_for_distance_picks_the_highest_that_keeps_it():
    r = api.leverage_for_distance("BTC-USDT", "long", 5000, 30000, 0.05, tiers=LEGACY)
    lev = r["leverage"].values[0]
    assert lev == 10 and r["margin"].values[0] == pytest.approx(150000 / 10)
    for L, far in ((10, True), (20, False)):
        liq = api.liq_price("BTC-USDT", "long", 5000, 30000, L, tiers=LEGACY).values[0]
        assert ((30000 - liq) / 30000 >= 0.05) == far


def test_insurance_surplus_shortfall_fee_and_uncovered():
    # 5,000 BTC-USDT long 125x: no lower ladder, the whole position is taken over at
    # bankruptcy 29,760
    r = api.insurance("BTC-USDT", "long", 5000, 30000, 125, [29800, 29700, 29800],
                      fee_rate=[0, 0, 0.0005], fund_balance=[None, 100, None], tiers=LEGACY)
    assert r["bankruptcy_price"].values[0] == pytest.approx(29760)
    assert r["change"].values[0] == pytest.approx(5 * 40)          # surplus
    assert r["change"].values[1] == pytest.approx(-5 * 60)         # shortfall
    assert r["uncovered"].values[1] == pytest.approx(300 - 100)    # fund pays 100
    assert math.isnan(r["uncovered"].values[0])                    # fund balance unknown
    assert r["change"].values[2] == pytest.approx(200 - 0.0005 * 5 * 29800)


def test_insurance_takes_over_what_the_tiered_steps_leave():
    r = api.insurance("BTC-USDT", "long", 100000, 30000, 125, 28000, tiers=LEGACY)
    lad = api.liq_ladder("BTC-USDT", "long", 100000, 30000, 125, tiers=LEGACY)
    m_last = lad.columns["margin_after"][0, 1]
    bk = 30000 - m_last / 8.999
    assert r["bankruptcy_price"].values[0] == pytest.approx(bk, rel=1e-12)
    assert r["change"].values[0] == pytest.approx(8.999 * (28000 - bk), rel=1e-12)


def test_bad_fee_rate_is_named():
    r = api.insurance("BTC-USDT", "long", 5000, 30000, 125, 29800, fee_rate=1.5, tiers=LEGACY)
    assert r["change"].messages[0].startswith("#VALUE! fee_rate = 1.5: must be a rate")


def test_max_open_inverse_and_no_ladder_means_all_equity():
    r = api.max_open("BTC-USD", 1.0, 50000, 20, tiers=LEGACY)
    # all equity available (no bands for BTC-USD): 1 BTC * 20 / (100 USD / 50,000) contracts
    assert r["available"].values[0] == 1.0
    assert r["contracts"].values[0] == 10000


def test_cross_hedge_mode_uses_net_position_for_the_tier():
    # long 95,000 and short 10,000 BTC-USDT: net 85,000 -> ladder 1 for both legs
    r = api.cross_liq_price(["BTC-USDT", "BTC-USDT"], ["long", "short"], [95000, 10000],
                            [30000, 30000], [30000, 30000], [125, 125], 50000, tiers=LEGACY)
    want = oracle.cross_liq(T, [("BTC-USDT", 1, 95000.0, 30000.0, 30000.0, 125.0),
                                ("BTC-USDT", -1, 10000.0, 30000.0, 30000.0, 125.0)], 50000)
    assert r.values.tolist() == pytest.approx(want, rel=1e-9)
    assert r.values[0] == r.values[1]   # one contract, one price: the legs move together
    assert oracle.tier(T, "BTC-USDT", "cross", 125, 85000)[0] == 1


def test_cross_bad_row_flags_the_account_and_mixed_assets_are_refused():
    r = api.cross_liq_price(["BTC-USDT", "ETH-USDT"], ["long", "short"], [5000, -1],
                            [30000, 2000], [30000, 2000], [125, 20], 2000, tiers=LEGACY)
    assert r.status.tolist() == [st.ERR_ACCOUNT, st.ERR_CONTRACTS]
    assert "another position of this account is invalid" in r.messages[0]
    m = api.cross_liq_price(["BTC-USDT", "ETH-USDT", "BTC-USD"], "long", [5000, 100, 10],
                            [30000, 2000, 30000], [30000, 2000, 30000], [125, 20, 20], 2000, tiers=LEGACY)
    assert m.status[0] == st.OK and m.status[1] == st.OK
    assert "margined in BTC, the account in USDT" in m.messages[2]
