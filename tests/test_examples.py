"""The worked examples of docs/maths.md (liquidation price, tiered liquidation, max open), to
the digits HTX's pages print."""

import pytest

from htxcore import status as st
from xlhtx import api

# HTX's adjustment-factor rules: the worked examples of its pages are on them
LEGACY = "legacy"


def test_liquidation_and_bankruptcy_long_and_short():
    # liquidation price example: 5,000 BTC-USDT at 30,000, 125x, margin = IM = 1,200, ladder 0, MMR 0.0052
    liq = api.liq_price("BTC-USDT", ["long", "short"], 5000, 30000, 125, tiers=LEGACY)
    assert liq.values[0] == pytest.approx(29915.5609167672, rel=1e-12)
    assert liq.values[1] == pytest.approx(30083.5654596100, rel=1e-12)
    bk = api.bankruptcy_price("BTC-USDT", ["long", "short"], 5000, 30000, 125, tiers=LEGACY)
    assert bk.values.tolist() == pytest.approx([29760.0, 30240.0], rel=1e-12)
    im = api.initial_margin("BTC-USDT", 5000, 30000, 125, tiers=LEGACY)
    assert im.values[0] == pytest.approx(1200.0, rel=1e-12)
    t = api.tier("BTC-USDT", 125, 5000, tiers=LEGACY)
    assert t["ladder"].values[0] == 0
    assert t["adjust_factor"].values[0] == pytest.approx(0.65)
    assert t["mmr"].values[0] == pytest.approx(0.0052, rel=1e-12)


def test_margin_ratio_is_one_at_the_liquidation_price():
    liq = api.liq_price("BTC-USDT", "long", 5000, 30000, 125, tiers=LEGACY).values[0]
    mr = api.margin_ratio("BTC-USDT", "long", 5000, 30000, liq, 125, tiers=LEGACY)["margin_ratio"]
    assert mr.values[0] == pytest.approx(1.0, rel=1e-12)


def test_api_reference_tier_example():
    # the tier table's ladders: 0-8,999 -> 0.65; 9,000-89,999 -> 0.80; 90,000+ -> 0.85 (inclusive bounds)
    t = api.tier("BTC-USDT", 125, [0, 8999, 9000, 89999, 90000, 5e6], tiers=LEGACY)
    assert t["ladder"].values.tolist() == [0, 0, 1, 1, 2, 2]
    assert t["adjust_factor"].values.tolist() == pytest.approx([0.65, 0.65, 0.8, 0.8, 0.85, 0.85])


def test_known_wrong_formula_is_not_reproduced():
    # the known-wrong formula: E*(1 - 1/L + MM/IM) gives 42,000 for a 10x long at 30,000: above entry.
    liq = api.liq_price("BTC-USDT", "long", 1000, 30000, 10, tiers=LEGACY).values[0]
    assert liq < 30000 * (1 - 1 / 10) + 1000  # below entry, near the bankruptcy price 27,000
    assert liq > 27000
    assert liq != pytest.approx(42000) and liq != pytest.approx(27000)


def test_liquidation_ladder_example():
    # tiered liquidation example: long 100,000 at 30,000, 125x, margin = IM 24,000
    lad = api.liq_ladder("BTC-USDT", "long", 100000, 30000, 125, tiers=LEGACY)
    rows = lad.table(0)
    assert rows[0] == list(api.LADDER_COLUMNS)
    assert [r[1] for r in rows[1:]] == pytest.approx([29963.75, 29928.90, 28159.69], abs=0.01)
    assert [r[2:6] for r in rows[1:]] == [[100000, 89999, 2, 1], [89999, 8999, 1, 0],
                                         [8999, 0, 0, "closed"]]
    # 1e-9 against values derived by hand from the rule in docs/maths.md (equity kept, PnL realized)
    p1 = (30000 - 24000 / 100) / (1 - 0.85 / 125)
    m1 = 24000 + 10.001 * (p1 - 30000)
    p2 = (30000 - m1 / 89.999) / (1 - 0.80 / 125)
    m2 = m1 + 81.0 * (p2 - 30000)
    p3 = (30000 - m2 / 8.999) / (1 - 0.65 / 125)
    got = lad.columns["trigger_price"][0, :3]
    assert got.tolist() == pytest.approx([p1, p2, p3], rel=1e-9)
    assert lad.columns["margin_after"][0, :3].tolist() == pytest.approx([m1, m2, 0.0], rel=1e-9)


@pytest.mark.parametrize("lever, equity, available, contracts", [
    (30, 100000, 67500, 40500), (50, 100000, 60000, 60000), (100, 100000, 46000, 92000),
    (10, 100, 100, 20)])
def test_max_open_examples(lever, equity, available, contracts):
    # max-open example: BTC-USDT, price 50,000, contract size 0.001
    r = api.max_open("BTC-USDT", equity, 50000, lever, tiers=LEGACY)
    assert r["available"].values[0] == pytest.approx(available, rel=1e-12)
    assert r["contracts"].values[0] == contracts  # exactly


def test_max_open_position_limit_caps():
    r = api.max_open("BTC-USDT", 100000, 50000, 100, position_limit=50000, tiers=LEGACY)
    assert r["contracts"].values[0] == 50000


def test_inverse_examples():
    # coin-margined BTC-USD, face 100 USD: 100 contracts at 30,000, 10x
    # V0 = 10,000 USD; IM = V0 / E / L = 0.0333.. BTC; long P = V0(1+MMR)/(M + V0/E)
    mmr = 0.05 / 10
    v0, e, m = 10000.0, 30000.0, 10000.0 / 30000 / 10
    long_p = v0 * (1 + mmr) / (m + v0 / e)
    short_p = v0 * (1 - mmr) / (v0 / e - m)
    liq = api.liq_price("BTC-USD", ["long", "short"], 100, 30000, 10, tiers=LEGACY)
    assert liq.values.tolist() == pytest.approx([long_p, short_p], rel=1e-12)
    # a coin-margined short at 1x is never liquidated
    one = api.liq_price("BTC-USD", "short", 100, 30000, 1, tiers=LEGACY)
    assert one.status[0] == st.NO_LIQUIDATION
    assert one.cell(0).startswith("no liquidation")
