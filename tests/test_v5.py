"""HTX's new USDT-M system (v5, 2026): risk-limit tiers and HTX's own example responses
(``tests/data/htx-v5``, sources in each file) reproduced through ``positions import``."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from htxcore import status as st
from xlhtx import api, cli
from xlhtx.reference.snapshot import snapshot
from xlhtx.reference.tiers import RISK_LIMIT, TierTable

DATA = Path(__file__).parent / "data" / "htx-v5"
RISK = json.loads((DATA / "market-risk-limit-btc-usdt.json").read_text())


def imported(tmp_path, *names, extra=()):
    out = tmp_path / "o.csv"
    assert cli.main(["positions", "import", *(str(DATA / n) for n in names), "-o", str(out),
                     *extra]) == 0
    import pyarrow.csv as pacsv
    return pacsv.read_csv(out).to_pylist()


def test_htx_risk_limit_response_is_a_risk_limit_table():
    t = TierTable.from_api(None, contracts=snapshot().contracts, risk_limit=RISK)
    assert t.systems == {"BTC-USDT": RISK_LIMIT}
    # tier by contracts, inclusive both ends; 120,000 (HTX's shared boundary) in tier 4
    r = api.tier("BTC-USDT", 20, [1, 400, 401, 4000, 4001, 8000, 8001, 120000, 120001, 500000,
                                  500001], mode="cross", tiers=t)
    assert r["ladder"].values[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert r["mmr"].values[:10].tolist() == [0.00385, 0.00385, 0.005, 0.005, 0.015, 0.015,
                                             0.02, 0.02, 0.03, 0.03]
    assert r["ladder"].status[10] == st.ERR_SIZE_ABOVE_TIERS
    # leverage caps size: 200x in tier 1 only, 30x up to tier 4
    caps = api.tier("BTC-USDT", [200, 201, 100, 100, 30, 31], [400, 1, 4000, 4001, 120000,
                                                                  120000], mode="cross", tiers=t)
    assert caps["ladder"].status.tolist() == [st.OK, st.ERR_LEVER_ABOVE_TIER, st.OK,
                                              st.ERR_LEVER_ABOVE_TIER, st.OK,
                                              st.ERR_LEVER_ABOVE_TIER]
    assert caps["mmr"].messages[1] == ("#VALUE! leverage = 201: BTC-USDT cross tier 1 (1 to "
                                       "400 contracts) allows at most 200x; lower the "
                                       "leverage or the size")
    # the message names the tier the lookup found: 400.5 contracts stay in tier 1
    assert api.tier("BTC-USDT", 150, 400.5, mode="cross", tiers=t)["mmr"].values[0] == 0.00385
    assert api.tier("BTC-USDT", 250, 400.5, mode="cross", tiers=t)["mmr"].messages[0].startswith(
        "#VALUE! leverage = 250: BTC-USDT cross tier 1 (1 to 400 contracts)")
    # no adjustment factor in this system: said, not a silent number
    assert r["adjust_factor"].status[0] == st.NOT_APPLICABLE
    assert r["adjust_factor"].cell(0).startswith("n/a: risk-limit tiers")
    # max open: the leverage caps the size
    m = api.max_open("BTC-USDT", 100000, 50000, [30, 50, 100, 200, 250], tiers=t, mode="cross")
    assert m["contracts"].values[:4].tolist() == [60000, 8000, 4000, 400]
    assert m["contracts"].status[4] == st.ERR_LEVER_ABOVE_TIER


def test_a_risk_limit_position_is_liquidated_whole_at_its_first_trigger():
    lad = api.liq_ladder("BTC-USDT", "long", 100000, 30000, 20)
    assert lad.table(0)[1:] == [[1, pytest.approx((30000 - 1500) / (1 - 0.02)), 100000, 0, 4,
                                 "closed", 0.0]]
    legacy = api.liq_ladder("BTC-USDT", "long", 100000, 30000, 20, tiers="legacy")
    assert int(legacy.n_steps[0]) > 1       # the legacy ladders step down


def test_a_mixed_book_takes_each_contract_by_its_own_rules(tmp_path):
    code = ["BTC-USDT", "BTC-USD", "ETH-USDT"]
    side, q, e, lev = ["long", "short", "long"], [300, 500, 1000], [30000, 64000, 3000], \
        [100, 20, 50]
    got = api.liq_price(code, side, q, e, lev).values
    # USDT-M: tier 1 MMR 0.385% (HTX's example); coin-M: adjust factor / leverage
    assert got[0] == pytest.approx((30000 - 90 / 0.3) / (1 - 0.00385), rel=1e-12)
    coin = api.tier("BTC-USD", 20, 500)["mmr"].values[0]
    v0 = 500 * 100
    m = v0 / 64000 / 20
    assert got[1] == pytest.approx(v0 * (1 - coin) / (v0 / 64000 - m), rel=1e-12)
    # the same numbers from the command line and from Excel
    src = tmp_path / "book.csv"
    src.write_text("contract,side,contracts,entry_price,leverage\n" + "\n".join(
        f"{c},{s},{n},{p},{lv}" for c, s, n, p, lv in zip(code, side, q, e, lev)) + "\n")
    assert cli.main(["calc", str(src), "-o", str(tmp_path / "o.csv")]) == 0
    import pyarrow.csv as pacsv
    rows = pacsv.read_csv(tmp_path / "o.csv").to_pylist()
    assert [r["liq_price"] for r in rows] == got.tolist()
    from xlhtx.excel import udfs
    assert [r[0] for r in udfs.HTX_LIQPRICE([[c] for c in code], [[s] for s in side],
                                            [[n] for n in q], [[p] for p in e],
                                            [[lv] for lv in lev])] == got.tolist()


@pytest.mark.parametrize("name", ["today", "legacy"])
@settings(max_examples=200, deadline=None)
@given(code=hs.sampled_from(["BTC-USDT", "ETH-USDT", "BTC-USD"]), side=hs.sampled_from([1, -1]),
       q=hs.integers(1, 100_000).map(float), e=hs.floats(100, 1e5),
       lev=hs.sampled_from([2.0, 5.0, 10.0, 20.0]), k=hs.floats(0.2, 3.0))
def test_margin_ratio_is_one_at_the_liquidation_price_and_liq_moves_with_margin(name, code, side,
                                                                               q, e, lev, k):
    s = "long" if side > 0 else "short"
    im = api.initial_margin(code, q, e, lev, tiers=name).values[0]
    liq = api.liq_price(code, s, q, e, lev, margin=k * im, tiers=name)
    if not liq.ok[0]:
        return
    p = liq.values[0]
    mr = api.margin_ratio(code, s, q, e, p, lev, margin=k * im, tiers=name)["margin_ratio"]
    # 1 at the liquidation price, to the rounding of a price of size e (the equity at P
    # cancels down from the margin: scale the slack by margin / equity)
    eq = api.equity(code, s, q, e, p, lev, margin=k * im, tiers=name).values[0]
    assert mr.values[0] == pytest.approx(1.0, rel=1e-9 * max(1.0, k * im / eq))
    more = api.liq_price(code, s, q, e, lev, margin=1.5 * k * im, tiers=name)
    if more.ok[0]:   # more margin: further from the entry
        assert side * (p - more.values[0]) > 0


def test_positions_rest_response_reproduces_htx(tmp_path):
    row, = imported(tmp_path, "trade-position-opens-eth-usdt-cross.json")
    want = json.loads((DATA / "expected.json").read_text())[
        "trade-position-opens-eth-usdt-cross.json"]
    assert row["initial_margin"] == pytest.approx(float(want["htx_initial_margin"]), rel=1e-12)
    assert row["maintenance_margin"] == pytest.approx(float(want["htx_maintenance_margin"]),
                                                      rel=1e-12)
    assert row["margin_ratio"] == pytest.approx(float(want["htx_margin_rate"]), rel=1e-9)
    # HTX prints the negative root: no liquidation; ours is the same root
    assert row["liq_price"] is None and row["htx_liq_price"] is None
    assert row["liq_root"] == pytest.approx(float(want["htx_liquidation_price"]), rel=1e-9)
    assert row["status"].startswith("no liquidation") and "implied" in row["status"]


def test_positions_push_reproduces_htx_at_the_mark_its_figures_are_at(tmp_path):
    row, = imported(tmp_path, "ws-positions-eos-usdt-cross-short.json")
    assert row["contract_size"] == pytest.approx(1000, rel=1e-12)
    assert row["liq_price"] == pytest.approx(11.408717810946043845, rel=1e-9)
    assert row["maintenance_margin"] == pytest.approx(2.5144312091766408, rel=1e-12)
    assert row["margin_ratio"] == pytest.approx(0.000229358737821968, rel=1e-9)
    assert "is later" in row["status"] and "implied" in row["status"]


def test_account_given_with_positions_is_the_equity_and_ratio(tmp_path):
    row, = imported(tmp_path, "trade-position-opens-eth-usdt-cross.json",
                    "account-balance-multi-assets.json")
    acc = json.loads((DATA / "account-balance-multi-assets.json").read_text())["data"]
    assert row["account_equity"] == float(acc["equity"])
    assert row["htx_account_margin_ratio"] == float(acc["maintenance_margin_rate"])
    assert "implied" not in row["status"]


def test_account_alone_is_refused_in_one_line(tmp_path, capsys):
    assert cli.main(["positions", "import", str(DATA / "ws-account.json")]) == 1
    err = capsys.readouterr().err
    assert "no positions" in err and "/v5/trade/position/opens" in err


def test_legacy_and_v5_files_together_are_refused(tmp_path, capsys):
    legacy = Path(__file__).parent / "data" / "htx" / "swap_position_info.json"
    assert cli.main(["positions", "import", str(legacy),
                     str(DATA / "trade-position-opens-eth-usdt-cross.json")]) == 1
    assert "import each system's files on their own" in capsys.readouterr().err


def test_multi_assets_collateral_is_the_account_balance():
    """HTX's multi-assets example: 1 BTC at a collateral value of 75,000 USDT beside a
    small USDT balance; equity = collateral value + positions' PnL."""
    from xlhtx.excel import udfs
    rows = [["currency", "amount", "index_price", "collateral_rate"],
            ["BTC", 1.0, 78947.36842105263, 0.95], ["USDT", -0.005, None, None]]
    legs = (["BTC-USDT"], ["long"], [300], [30000], [29000], [100])
    got = api.account(*legs, collateral=rows)
    collateral = 1.0 * 78947.36842105263 * 0.95 - 0.005     # a liability counts in full
    pnl = 300 * 0.001 * (29000 - 30000)
    assert got["equity"].values[0] == pytest.approx(collateral + pnl, rel=1e-12)
    same = api.account(*legs, margin_static=collateral)
    assert got["liq_root"].values[0] == same["liq_root"].values[0] < 0   # covered at any price
    assert got["margin_ratio"].values[0] == same["margin_ratio"].values[0]
    # Excel: the same account with the collateral range
    cells = udfs.HTX_ACCOUNT(*[[[v] for v in c] for c in legs], None, None, None, None, rows)
    assert cells[0][0].startswith("no liquidation")
    assert cells[0][1] == got["margin_ratio"].values[0] and cells[0][3] == pytest.approx(
        collateral + pnl, rel=1e-12)
    with pytest.raises(Exception, match="collateral row 1: BTC has no index_price; give its price in USDT"):
        api.account(*legs, collateral=[["currency", "amount"], ["BTC", 1.0]])
    with pytest.raises(Exception, match="a Multi-Assets account is a cross account"):
        api.account(*legs, mode="isolated", collateral=rows)
