"""Every HTX response a user holds: account-only and positions-only responses, files of one
moment joined, a wrong contract size named, copy-trading refused by name."""

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from xlhtx import cli

DATA = Path(__file__).parent / "data" / "htx-responses"
REAL = json.loads((Path(__file__).parent / "data" / "htx-accounts" / "expected.json").read_text())
THETA = next(c for c in REAL if c["file"] == "coin-isolated-theta-usd.json")
CROSS = next(c for c in REAL if c["file"] == "linear-cross-btc-usdt.json")


def run(tmp_path, capsys, *files, extra=()):
    out = tmp_path / "out.csv"
    code = cli.main(["positions", "import", *[str(DATA / f) for f in files], "-o", str(out),
                     *map(str, extra)])
    err = capsys.readouterr().err
    return code, (pacsv.read_csv(out).to_pylist() if code == 0 else []), err


@pytest.mark.parametrize("files", [
    ("swap-account-info-theta-usd.json", "swap-position-info-theta-usd.json"),
    ("swap-position-info-theta-usd.json", "swap-account-info-theta-usd.json"),
    ("ws-accounts-theta-usd.json", "ws-positions-theta-usd.json"),
])
def test_an_account_and_its_positions_of_one_moment_reproduce_htx(tmp_path, capsys, files):
    code, rows, err = run(tmp_path, capsys, *files)
    assert code == 0 and len(rows) == 1, err
    r = rows[0]
    assert r["liq_price"] == pytest.approx(float(THETA["htx_liquidation_price"]), rel=1e-9)
    assert r["risk_rate"] == pytest.approx(float(THETA["htx_risk_rate"]), rel=1e-9)
    assert "1 rows: 1 computed" in err


def test_a_cross_account_and_its_positions_reproduce_htx(tmp_path, capsys):
    code, rows, err = run(tmp_path, capsys, "swap-cross-account-info-usdt.json",
                          "swap-cross-position-info-usdt.json")
    assert code == 0, err
    (r,) = [r for r in rows if r["contract"] == "BTC-USDT"]
    assert r["liq_price"] == pytest.approx(float(CROSS["htx_liquidation_price"]["BTC-USDT"]),
                                           rel=1e-9)
    assert r["risk_rate"] == pytest.approx(float(CROSS["htx_risk_rate"]), rel=1e-9)


@pytest.mark.parametrize("name", ["swap-account-info-theta-usd.json",
                                  "ws-accounts-theta-usd.json",
                                  "swap-cross-account-info-usdt.json",
                                  "ws-accounts-cross-usdt.json",
                                  "unified-account-info-usdt.json",
                                  "contract-account-info-btc.json"])
def test_account_only_responses_keep_htx_figures_and_say_what_to_add(tmp_path, capsys, name):
    code, rows, err = run(tmp_path, capsys, name)
    assert code == 0 and rows, err
    src = json.loads((DATA / name).read_text())
    first = src["data"][0] if isinstance(src["data"], list) else src["data"]
    risk = first.get("risk_rate", first.get("cross_risk_rate"))
    assert rows[0]["htx_risk_rate"] == pytest.approx(float(risk))
    for r in rows:
        assert r["liq_price"] is None
        assert "account only" in r["status"] and "position_info" in r["status"]
    assert "HTX's figures only" in err


def test_unified_account_has_a_row_per_contract(tmp_path, capsys):
    _, rows, _ = run(tmp_path, capsys, "unified-account-info-usdt.json")
    assert [(r["margin_mode"], r["contract"]) for r in rows] == [
        ("cross", "BTC-USDT"), ("cross", "BTC-USDT-220624"), ("isolated", "ETH-USDT")]
    assert rows[0]["htx_liq_price"] == pytest.approx(
        float(CROSS["htx_liquidation_price"]["BTC-USDT"]))


def test_positions_alone_are_not_estimated_and_name_the_account_response(tmp_path, capsys):
    code, rows, err = run(tmp_path, capsys, "swap-position-info-theta-usd.json")
    assert code == 0 and len(rows) == 1
    assert rows[0]["liq_price"] is None and rows[0]["margin_ratio"] is None
    assert "positions-only" in rows[0]["status"] and "swap_account_info" in rows[0]["status"]
    assert rows[0]["contracts"] == 20 and rows[0]["side"] == "long"


def test_a_wrong_contract_size_is_named_not_computed(tmp_path, capsys):
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("contract_code,contract_size\nTHETA-USD,100\n")
    code, rows, err = run(tmp_path, capsys, "swap-account-info-theta-usd.json",
                          "swap-position-info-theta-usd.json", extra=("--contracts", sizes))
    assert code == 0
    (r,) = rows
    assert r["liq_price"] is None and r["risk_rate"] is None
    assert "--contracts" in r["status"] and "needs a size of 10 USD" in r["status"]


def test_copy_trading_positions_are_refused_by_name(tmp_path, capsys):
    code, _, err = run(tmp_path, capsys, "copytrading-position-list.json")
    assert code == 1 and "copy-trading" in err and "/v5/trade/position/opens" in err


def test_an_account_with_open_orders_only_has_its_row(tmp_path, capsys):
    payload = json.loads((Path(__file__).parent / "data" / "htx-accounts" /
                          "coin-isolated-theta-usd.json").read_text())
    payload["data"][0]["positions"] = []
    src = tmp_path / "orders.json"
    src.write_text(json.dumps(payload))
    out = tmp_path / "o.csv"
    assert cli.main(["positions", "import", str(src), "-o", str(out)]) == 0
    (r,) = pacsv.read_csv(out).to_pylist()
    assert r["contract"] == "THETA-USD" and "open orders only" in r["status"]
    assert r["contracts"] == 0


def test_an_empty_response_is_an_error_not_an_empty_file(tmp_path, capsys):
    src = tmp_path / "empty.json"
    src.write_text(json.dumps({"status": "ok", "data": [], "ts": 1}))
    assert cli.main(["positions", "import", str(src), "-o", str(tmp_path / "x.csv")]) == 1
    assert "nothing to write" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
