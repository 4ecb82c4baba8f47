"""DataFrames in and out (pandas and polars), result conversions, tier sources from
tables and workbooks, input sheets and column names as people write them."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.csv as pacsv
import pytest

import xlhtx
from xlhtx import api, cli
from xlhtx.errors import XlhtxError
from xlhtx.sources import load_tiers

GOOD = 29915.560916767186
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def book():
    return pd.DataFrame({"Contract": ["BTC-USDT", "ETH-USD", "NOPE-USDT"],
                         "Side": ["long", "short", "long"], "Contracts": [5000, 100, 1],
                         "Entry price": [30000.0, 3000.0, 1.0], "Leverage": [125, 20, 1],
                         "Mark price": [29950.0, 3100.0, 1.0]})


def test_pandas_in_pandas_out_with_every_metric():
    out = xlhtx.calc(book())
    assert isinstance(out, pd.DataFrame) and list(out.columns[:6]) == list(book().columns)
    assert out["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert out["margin_asset"].tolist()[:2] == ["USDT", "ETH"]
    assert pd.isna(out["liq_price"][2]) and out["status"][2].startswith("#N/A contract")
    assert out["status"][0] == ""


def test_polars_in_polars_out_with_nulls_for_no_number():
    out = xlhtx.calc(pl.from_pandas(book()))
    assert isinstance(out, pl.DataFrame)
    assert out["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert out["liq_price"][2] is None and out["liq_price"].null_count() == 1


def test_calc_refuses_what_is_not_a_frame():
    with pytest.raises(XlhtxError, match="pandas or polars DataFrame"):
        xlhtx.calc({"contract": ["BTC-USDT"]})


def test_results_convert_naturally():
    r = api.liq_price(["BTC-USDT", "BTC-USDT"], "long", 5000, 30000, [125, 7])
    a = np.asarray(r)
    assert a[0] == pytest.approx(GOOD) and np.isnan(a[1])
    s = r.to_series(name="liq")
    assert s.name == "liq" and s.isna().tolist() == [False, True]
    assert float(api.liq_price("BTC-USDT", "long", 5000, 30000, 125)) == pytest.approx(GOOD)
    with pytest.raises(XlhtxError, match="no tier ladder for BTC-USDT isolated at 7x"):
        float(api.liq_price("BTC-USDT", "long", 5000, 30000, 7))


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
    assert rows[0]["Contract"] == "BTC-USDT" and rows[0]["liq_price"] == pytest.approx(
        GOOD, rel=1e-12)
    assert cli.main(["calc", str(ROOT / "workbook" / "xlhtx-values.xlsx"), "--sheet", "Nope",
                     "-o", str(out)]) == 1
    assert "no sheet 'Nope'; it has Guide, Positions" in capsys.readouterr().err
