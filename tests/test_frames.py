"""DataFrames in and out (pandas and polars), result conversions, tier sources from
tables and workbooks, input sheets and column names as people write them."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.csv as pacsv
import pytest

import xlhtx
from xlhtx import api, cli

# HTX's adjustment-factor rules: the worked ladder of its pages is on them
LEGACY = "legacy"
from xlhtx.errors import XlhtxError
from xlhtx.tables.sources import load_tiers

GOOD = 29915.560916767186
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def book():
    return pd.DataFrame({"Contract": ["BTC-USDT", "ETH-USD", "NOPE-USDT"],
                         "Side": ["long", "short", "long"], "Contracts": [5000, 100, 1],
                         "Entry price": [30000.0, 3000.0, 1.0], "Leverage": [125, 20, 1],
                         "Mark price": [29950.0, 3100.0, 1.0]})


def test_pandas_in_pandas_out_with_every_metric():
    out = xlhtx.calc(book(), tiers="legacy")
    assert isinstance(out, pd.DataFrame) and list(out.columns[:6]) == list(book().columns)
    assert out["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert out["margin_asset"].tolist()[:2] == ["USDT", "ETH"]
    assert pd.isna(out["liq_price"][2]) and out["status"][2].startswith("error: contract")
    assert out["status"][0] == "warning"   # margin ratio 82%: flagged, numbers kept


def test_polars_in_polars_out_with_nulls_for_no_number():
    out = xlhtx.calc(pl.from_pandas(book()), tiers="legacy")
    assert isinstance(out, pl.DataFrame)
    assert out["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert out["liq_price"][2] is None and out["liq_price"].null_count() == 1


def test_calc_refuses_what_is_not_a_frame():
    with pytest.raises(XlhtxError, match="pandas or polars DataFrame"):
        xlhtx.calc({"contract": ["BTC-USDT"]})


def test_results_convert_naturally():
    r = api.liq_price(["BTC-USDT", "BTC-USDT"], "long", 5000, 30000, [125, 7], tiers=LEGACY)
    a = np.asarray(r)
    assert a[0] == pytest.approx(GOOD) and np.isnan(a[1])
    s = r.to_series(name="liq")
    assert s.name == "liq" and s.isna().tolist() == [False, True]
    assert float(api.liq_price("BTC-USDT", "long", 5000, 30000, 125, tiers=LEGACY)) == pytest.approx(GOOD)
    with pytest.raises(XlhtxError, match="no tier ladder for BTC-USDT isolated at 7x"):
        float(api.liq_price("BTC-USDT", "long", 5000, 30000, 7, tiers=LEGACY))


def tier_rows():
    return ("contract_code,margin_mode,lever_rate,ladder,min_size,max_size,adjust_factor\n"
            "BTC-USDT,isolated,125,0,0,8999,0.65\nBTC-USDT,isolated,125,1,9000,,0.8\n")


def test_tiers_from_a_csv_table_and_a_workbook(tmp_path):
    (tmp_path / "t.csv").write_text(tier_rows())
    t = load_tiers(tmp_path / "t.csv")
    assert t.leverages("BTC-USDT", "isolated") == [125]
    assert float(api.liq_price("BTC-USDT", "long", 5000, 30000, 125, tiers=t)) == \
        pytest.approx(GOOD, rel=1e-12)
    wb = load_tiers(ROOT / "workbook" / "xlhtx.xlsm")   # the template's own tables
    assert len(wb.ladders) == len(load_tiers().ladders)
    assert wb.ladder_margin is not None and wb.contract("ETH-USD").size == 10


def test_tiers_with_two_headers_for_one_column_are_refused(tmp_path):
    (tmp_path / "t.csv").write_text(tier_rows().replace("adjust_factor", "adjust_factor,Adjust factor", 1)
                                    .replace("0.65\n", "0.65,0.6\n").replace("0.8\n", "0.8,0.7\n"))
    with pytest.raises(XlhtxError, match="both name adjust_factor"):
        load_tiers(tmp_path / "t.csv")


def test_calc_reads_the_workbooks_positions_sheet_with_its_headers(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert cli.main(["calc", str(ROOT / "workbook" / "xlhtx-values.xlsx"), "-o", str(out),
                     "--tiers", str(ROOT / "workbook" / "xlhtx.xlsm")]) == 0
    rows = pacsv.read_csv(out).to_pylist()
    # the workbook's first sample row: 5,000 BTC-USDT at 30,000, 50x, risk-limit tier 3
    assert rows[0]["Contract"] == "BTC-USDT" and rows[0]["liq_price"] == pytest.approx(
        (30000 - 600) / (1 - 0.015), rel=1e-12)
    assert cli.main(["calc", "--tiers", "legacy", str(ROOT / "workbook" / "xlhtx-values.xlsx"), "--sheet", "Nope",
                     "-o", str(out)]) == 1
    assert "no sheet 'Nope'; it has Guide, Positions" in capsys.readouterr().err


ONE = ["--contract", "BTC-USDT", "--side", "long", "--contracts", "100000", "--entry", "30000",
       "--leverage", "125"]


def run_csv(tmp_path, *args):
    out = tmp_path / "o.csv"
    assert cli.main([*map(str, args), "-o", str(out), "--tiers", "legacy"]) == 0
    return pacsv.read_csv(out).to_pylist()


def test_addmargin_to_a_target_or_a_distance(tmp_path):
    rows = run_csv(tmp_path, "addmargin", *ONE, "--target-price", 29000)
    assert rows[0]["margin_to_add"] == pytest.approx(
        api.add_margin("BTC-USDT", "long", 100000, 30000, 125, 29000, tiers=LEGACY).values[0], rel=1e-12)
    rows = run_csv(tmp_path, "addmargin", *ONE, "--distance", "2%")
    assert rows[0]["target_liq_price"] == pytest.approx(30000 * 0.98)
    # the top-up moves the liquidation price where it was asked to go
    m = 100000 * 0.001 * 30000 / 125 + rows[0]["margin_to_add"]
    assert float(api.liq_price("BTC-USDT", "long", 100000, 30000, 125, margin=m, tiers=LEGACY)) == pytest.approx(
        29400, rel=1e-12)


def test_ladder_command_matches_the_worked_example(tmp_path):
    rows = run_csv(tmp_path, "ladder", *ONE)
    assert [r["contracts_after"] for r in rows] == [89999, 8999, 0]
    assert [round(r["trigger_price"], 2) for r in rows] == [29963.75, 29928.90, 28159.69]
    assert rows[-1]["tier_after"] is None and rows[-1]["status"] == "fully liquidated"


def test_scenario_is_centred_on_the_liquidation_price_and_consistent(tmp_path):
    rows = run_csv(tmp_path, "scenario", *ONE, "--points", 25, "--span", 3)
    liq = rows[0]["liq_price"]
    prices = [r["price"] for r in rows]
    assert len(rows) == 25 and prices[12] == pytest.approx(liq, rel=1e-12)
    assert prices[0] == pytest.approx(liq - 3 * (30000 - liq), rel=1e-9)
    for r in rows:
        assert r["pnl"] >= -24000 - 1e-6                  # an isolated loss stops at the margin
        if r["contracts_left"] == 0:
            assert r["equity"] == 0 and r["margin_ratio"] is None
        else:                                             # margin ratio of what is left
            assert r["margin_ratio"] < 1 or r["price"] == pytest.approx(liq)


def test_whatifs_over_a_table(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("contract,side,contracts,entry_price,leverage,mark_price\n"
                   "BTC-USDT,long,100000,30000,125,29990\nETH-USDT,short,100,3000,7,3000\n")
    rows = run_csv(tmp_path, "ladder", src)
    assert {r["position"] for r in rows} == {1, 2}
    assert rows[-1]["status"].startswith("#N/A no tier ladder for ETH-USDT isolated at 7x")
    assert "nearest: 5x and 10x" in rows[-1]["status"]
    rows = run_csv(tmp_path, "scenario", src, "--points", 5)
    assert len(rows) == 10


def test_whatif_asks_for_what_is_missing(capsys):
    assert cli.main(["ladder", "--tiers", "legacy", "--contract", "BTC-USDT", "--side", "long"]) == 1
    assert "--contracts, --entry, --leverage" in capsys.readouterr().err


def test_workbook_build_takes_my_positions(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("contract,side,contracts,entry_price,leverage\nETH-USDT,short,100,3000,20\n")
    out = tmp_path / "b.xlsm"
    assert cli.main(["workbook", "build", "-o", str(out), "--positions", str(src)]) == 0
    from openpyxl import load_workbook
    ws = load_workbook(out)["Positions"]
    assert [c.value for c in ws[2]][:6] == ["ETH-USDT", "short", "isolated", 20, 100, 3000]
