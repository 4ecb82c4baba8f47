"""Margin accounts: HTX's own account responses reproduced to the printed digits, and
hedge-mode properties of the account kernel."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as hs

import oracle
from htxcore import status as st
from xlhtx import api, cli
from xlhtx.htx import v1
from xlhtx.excel import udfs
from xlhtx.errors import XlhtxError
from xlhtx.reference.snapshot import snapshot

DATA = Path(__file__).parent / "data" / "htx-accounts"
EXPECTED = json.loads((DATA / "expected.json").read_text())
T = snapshot("legacy")
# HTX's adjustment-factor rules: the legacy account responses are on them
LEGACY = "legacy"


def imported(tmp_path, source, *extra):
    """``xlhtx positions import`` of a file (a name in DATA, or a path) as rows."""
    import pyarrow.csv as pacsv
    path = source if isinstance(source, Path) else DATA / source
    out = tmp_path / f"{path.stem}.csv"
    assert cli.main(["positions", "import", str(path), "-o", str(out), *map(str, extra)]) == 0
    return pacsv.read_csv(out).to_pylist()


@pytest.mark.parametrize("case", EXPECTED, ids=[c["file"] for c in EXPECTED])
def test_real_accounts_match_htx_through_positions_import(tmp_path, case):
    rows = imported(tmp_path, case["file"])
    assert rows, "no positions imported"
    want = case["htx_liquidation_price"]
    for r in rows:
        htx = float(want[r["contract"]]) if isinstance(want, dict) else float(want)
        assert r["liq_price"] == pytest.approx(htx, rel=1e-9), r
        assert r["htx_liq_price"] == pytest.approx(htx, rel=1e-15)
        assert r["risk_rate"] == pytest.approx(float(case["htx_risk_rate"]), rel=1e-9), r
        assert r["status"] in ("", None)


def test_the_cross_response_with_an_object_as_data_parses():
    payload = json.loads((DATA / "linear-cross-btc-usdt.json").read_text())
    assert isinstance(payload["data"], dict)
    (acc,) = v1.parse_accounts(payload)
    assert acc.mode == "cross" and acc.name == "USDT"
    assert acc.balance == pytest.approx(2.098199766913531118)
    assert [leg.adjust_factor for leg in acc.legs] == [0.35]


def test_isolated_margin_is_the_margin_balance_not_the_position_margin():
    # with position_margin (23.5793) as the margin HTX's 22,353.23 would be 23,701.2
    payload = json.loads((DATA / "linear-isolated-btc-usdt.json").read_text())
    cols = v1.compare(v1.parse_accounts(payload), T)
    assert cols["liq_price"][0] == pytest.approx(22353.229148614609571788, rel=1e-12)
    assert abs(cols["liq_price"][0] - 23701.2) > 1000


def test_cost_hold_not_cost_open_is_the_basis():
    payload = json.loads((DATA / "coin-isolated-theta-usd.json").read_text())
    acc = v1.parse_accounts(payload)[0]
    leg = acc.legs[0]
    assert leg.cost_open != leg.cost_hold
    cols = v1.compare([acc], T)
    assert cols["liq_price"][0] == pytest.approx(0.198584522842823398, rel=1e-12)


def test_positions_only_response_is_not_estimated(tmp_path):
    """An isolated balance holds added margin, fees and realized PnL: a positions-only
    response cannot bound it, so no figures of ours, and the row names the account
    response to add."""
    rows = imported(tmp_path, Path(__file__).parent / "data" / "htx" / "swap_position_info.json")
    assert rows and all(r["liq_price"] is None and "positions-only" in r["status"]
                        and "swap_account_info" in r["status"] for r in rows)
    assert [r["htx_liq_price"] for r in rows][:2] == [29915.56, 30083.57]


def account_payload(code, legs, *, static=1000.0, mode="cross", af=None, lever=20):
    detail = [{"contract_code": code, "lever_rate": lever, "margin_frozen": 0,
               "adjust_factor": af, "liquidation_price": None}]
    return {"status": "ok", "data": {
        "margin_mode": mode, "margin_account": "USDT", "margin_static": static,
        "margin_balance": static, "risk_rate": None, "contract_detail": detail,
        "positions": [{"contract_code": code, "direction": d, "volume": q,
                       "cost_open": e, "cost_hold": e, "last_price": p, "lever_rate": lever}
                      for d, q, e, p in legs]}}


def test_delivery_contracts_take_their_sizes():
    linear = v1.parse_accounts(account_payload("BTC-USDT-220624",
                                                      [("buy", 10, 30000, 30000)], af=0.3))
    inverse = v1.parse_accounts({"status": "ok", "data": [{
        "symbol": "BTC", "margin_mode": "isolated", "margin_static": 1.0,
        "margin_balance": 1.0, "adjust_factor": 0.3, "lever_rate": 10, "positions": [
            {"contract_code": "BTC200710", "direction": "buy", "volume": 10,
             "cost_hold": 9000, "last_price": 9000, "lever_rate": 10}]}]})
    t = v1.with_contracts_of(linear + inverse, T)
    assert t.contract("BTC-USDT-220624").size == 0.001
    assert t.contract("BTC200710").kind == "inverse" and t.contract("BTC200710").size == 100


def test_a_linear_contract_without_a_size_names_the_option():
    accs = v1.parse_accounts(account_payload("NEWCOIN-USDT", [("buy", 1, 1, 1)], af=0.3))
    with pytest.raises(XlhtxError, match="--contracts"):
        v1.with_contracts_of(accs, T)


def test_contracts_option_supplies_a_size(tmp_path):
    src = tmp_path / "acc.json"
    src.write_text(json.dumps(account_payload("NEWCOIN-USDT", [("buy", 100, 2.0, 2.0)],
                                              static=300.0, af=0.3, lever=10)))
    sizes = tmp_path / "contracts.csv"
    sizes.write_text("contract_code,contract_size\nNEWCOIN-USDT,10\n")
    rows = imported(tmp_path, src, "--contracts", sizes)
    # long 100 x 10 coins at 2.0, balance 300, MMR 0.03: P = (2 - 300/1000)/(1 - 0.03)
    assert rows[0]["liq_price"] == pytest.approx((2 - 300 / 1000) / 0.97, rel=1e-12)


@pytest.mark.parametrize("legs, static, af, lever, reason", [
    # a 1x long whose margin covers its whole value: no price liquidates it
    ([("buy", 1000, 30000, 30000)], 30000.0, 0.1, 1, "no liquidation"),
    # long 1000 at 30,000 with 1 USDT left, the mark 10% lower: equity < MM already
    ([("buy", 1000, 30000, 27000)], 1.0, 0.5, 20, "liquidated"),
])
def test_an_account_without_a_price_says_why(legs, static, af, lever, reason):
    accs = v1.parse_accounts(account_payload("BTC-USDT", legs, static=static, af=af,
                                                    lever=lever))
    cols = v1.compare(accs, T)
    assert cols["liq_price"] == [None]      # HTX's null; never a price past the mark
    assert cols["status"][0].startswith(reason)


def test_cross_liq_price_moves_hedge_legs_together():
    r = api.cross_liq_price(["BTC-USDT", "BTC-USDT"], ["long", "short"], [100, 40],
                            [30000, 31000], [30100, 30100], [20, 20], 500, tiers=LEGACY)
    a, b = r.to_list()
    assert a == b
    # at that price the account's equity equals its maintenance margin
    c = T.contract("BTC-USDT")
    mmr = oracle.tier(T, "BTC-USDT", "cross", 20, 60)[1]
    legs = [(c, 1, 100, 30000, mmr), (c, -1, 40, 31000, mmr)]
    assert oracle.account_equity_minus_mm(legs, 500, {"BTC-USDT": a}) == pytest.approx(
        0, abs=1e-9 * 500)


def test_htx_riskrate_in_excel_matches_htx():
    got = udfs.HTX_RISKRATE("THETA-USD", "long", 20, 0.65931, 0.63768, 20,
                            723.922949859047086468, "isolated", 13.765413852951653365,
                            [["contract_code", "margin_mode", "lever_rate", "ladder",
                              "min_size", "max_size", "adjust_factor", "contract_size"],
                             ["THETA-USD", "isolated", 20, 0, 0, None, 0.4, 10]])
    assert got == pytest.approx(23.834290107178404617, rel=1e-9)


def test_htx_riskrate_names_a_bad_balance():
    with pytest.raises(Exception, match="margin_static = 'lots' is not a number"):
        udfs.HTX_RISKRATE("BTC-USDT", "long", 1, 30000, 30000, 20, "lots")


side = hs.sampled_from([1, -1])
qty = hs.integers(1, 150_000)
price = hs.floats(1_000, 100_000)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q_long=qty, q_short=qty, e_long=price, e_short=price, move=hs.floats(0.9, 1.1),
       balance=hs.floats(10, 1e6), lever=hs.sampled_from([5, 10, 20, 50]))
def test_hedge_accounts(q_long, q_short, e_long, e_short, move, balance, lever):
    mark = e_long * move
    c = T.contract("BTC-USDT")
    net = abs(q_long - q_short)
    tier = oracle.tier(T, "BTC-USDT", "cross", lever, net)
    r = api.account(["BTC-USDT", "BTC-USDT"], ["long", "short"], [q_long, q_short],
                    [e_long, e_short], [mark, mark], [lever, lever], margin_static=balance, mode="cross", tiers=LEGACY)
    liq = r["liq_price"]
    if tier is None:
        assert not liq.ok.any()
        return
    mmr = tier[1]   # the tier of the net position, not of each leg
    legs = [(c, 1, q_long, e_long, mmr), (c, -1, q_short, e_short, mmr)]
    now = oracle.account_equity_minus_mm(legs, balance, {"BTC-USDT": mark})
    assert r["risk_rate"].values[0] == pytest.approx(
        oracle.account_risk_rate(legs, balance, {"BTC-USDT": mark}, {"BTC-USDT": lever},
                                 True), rel=1e-9)
    if now <= 0:
        assert list(liq.status) == [st.LIQUIDATED] * 2
        return
    if liq.ok[0]:
        p = liq.values[0]
        assert liq.values[1] == p
        scale = balance + (q_long + q_short) * c.size * max(p, mark)
        assert oracle.account_equity_minus_mm(legs, balance, {"BTC-USDT": p}) == \
            pytest.approx(0, abs=1e-9 * scale)
    else:
        assert list(liq.status) == [st.NO_LIQUIDATION] * 2


@settings(max_examples=300, deadline=None)
@given(s=side, q=qty, e=price, lever=hs.sampled_from([1, 2, 5, 10, 20, 50, 100]),
       m=hs.floats(0.5, 3.0), code=hs.sampled_from(["BTC-USDT", "BTC-USD", "ETH-USDT"]))
@example(s=1, q=1, e=19182, lever=1, m=0.99999, code="BTC-USDT")   # found by a CI run
@example(s=1, q=1, e=14501.0, lever=1, m=0.99999, code="BTC-USDT")
def test_one_leg_account_is_the_isolated_formula(s, q, e, lever, m, code):
    c = T.contract(code)
    margin = oracle.initial_margin(c, q, e, lever) * m
    iso = api.liq_price(code, s, q, e, lever, margin=margin, mode="isolated", tiers=LEGACY)
    acc = api.account(code, s, q, e, e, lever, margin_static=margin, mode="isolated", tiers=LEGACY)["liq_price"]
    assert acc.status[0] == iso.status[0] or (
        iso.status[0] == st.OK and acc.status[0] == st.LIQUIDATED)
    if iso.ok[0] and acc.ok[0]:
        # both solve for x (P linear, 1/P inverse) = (margin - basis) / slope: margin and
        # basis are of the entry's scale and cancel near 1x, so the error is a few ulps of
        # the entry's x, not of the result
        x = (lambda p: p) if c.kind == "linear" else (lambda p: 1 / p)
        tol = dict(rel=1e-12, abs=1e-12 * x(e))
        assert x(acc.values[0]) == pytest.approx(x(iso.values[0]), **tol)
        tier = oracle.tier(T, code, "isolated", lever, q)
        assert x(acc.values[0]) == pytest.approx(
            x(oracle.liq_price(c, s, q, e, tier[1], margin)), **tol)


def test_cross_risk_rate_counts_frozen_margin_of_a_contract_without_a_position():
    payload = account_payload("BTC-USDT", [("buy", 100, 30000, 30000)], static=500.0, af=0.3,
                              lever=20)
    payload["data"]["contract_detail"].append({
        "contract_code": "ETH-USDT", "lever_rate": 10, "margin_frozen": 40,
        "adjust_factor": 0.5, "liquidation_price": None})
    cols = v1.compare(v1.parse_accounts(payload), T)
    assert cols["contract"] == ["BTC-USDT"]          # orders only: no row of its own
    im = 100 * 0.001 * 30000 / 20                     # 150 USDT
    assert cols["risk_rate"][0] == pytest.approx(500 / (0.3 * im + 0.5 * 40) - 1, rel=1e-12)


def test_a_delivery_account_with_several_contracts_is_one_margin_account():
    payload = {"status": "ok", "data": [{
        "symbol": "BTC", "margin_static": 2.0, "margin_balance": 2.0, "adjust_factor": 0.1,
        "lever_rate": 10, "risk_rate": None, "liquidation_price": None, "positions": [
            {"contract_code": "BTC200710", "direction": "buy", "volume": 10, "cost_hold": 9000,
             "last_price": 9000, "lever_rate": 10},
            {"contract_code": "BTC200925", "direction": "sell", "volume": 5, "cost_hold": 9100,
             "last_price": 9100, "lever_rate": 10}]}]}
    (acc,) = v1.parse_accounts(payload)
    assert acc.mode == "cross"
    cols = v1.compare([acc], T)
    # one coin, one account: no "other margin asset" error; the long has a price, the
    # short (500 USD against 2 BTC of margin) can never be liquidated
    assert cols["liq_price"][0] > 0 and cols["status"][0] == ""
    assert cols["liq_price"][1] is None and cols["status"][1].startswith("no liquidation")
