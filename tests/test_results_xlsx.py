"""XLSX results (``calc``, the what-ifs, ``positions import`` with ``-o *.xlsx``): a Table
a desk opens and reads — numbers with their unit and decimals, columns wide enough for
what they show, rows tinted by status — written from Arrow columns without a per-cell
object, and read back by openpyxl and by LibreOffice."""

import csv
import math
import re
import zipfile

import numpy as np
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from xlhtx import cli
from xlhtx.messages import NO_EQUITY
from xlhtx.tables.formats import write_table
from xlhtx.xlsx.results import MAX_TEXT, ResultsFileError, write_results

from test_libreoffice import SOFFICE, convert


def book(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("id,contract,side,contracts,entry_price,leverage,mark_price\n"
                   "a1,BTC-USDT,long,5000,30000,125,29950\n"
                   "a2,BTC-USDT,long,5000,30000,125,29900\n"
                   "c1,BTC-USD,short,1000,30000,20,29000\n"
                   "t1,ETH-USD,long,100,0.2,10,0.21\n"
                   "e1,ETH-USDT,long,1,3000,500,3000\n")
    out = tmp_path / "o.xlsx"
    assert cli.main(["calc", "--tiers", "legacy", str(src), "-o", str(out)]) == 0
    return out


def rows_of(path):
    ws = load_workbook(path)["results"]
    head = [c.value for c in ws[1]]
    return ws, head, [{h: c for h, c in zip(head, r)} for r in ws.iter_rows(min_row=2)]


def shown(value: float, code: str) -> str:
    """What Excel shows for the formats the writer uses (the test's own formatter)."""
    suffix = re.search(r'"([^"]*)"', code)
    decimals = len(re.search(r"\.([0#]*)", code).group(1)) if "." in code else 0
    if "%" in code:
        return f"{value * 100:,.{decimals}f}%"
    return f"{value:,.{decimals}f}" + (suffix.group(1) if suffix else "")


def test_units_and_decimals_follow_the_margin_asset(tmp_path):
    ws, head, rows = rows_of(book(tmp_path))
    assert list(ws.tables) == ["Results"] and ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"
    usdt, coin, small = rows[0], rows[2], rows[3]
    assert usdt["margin_asset"].value == "USDT" and coin["margin_asset"].value == "BTC"
    for money in ("initial_margin", "maint_margin", "pnl", "equity"):
        assert usdt[money].number_format == '#,##0.00" USDT"'
        assert coin[money].number_format == '#,##0.00000000" BTC"'
        assert small[money].number_format == '#,##0.00000000" ETH"'
    # prices to about six figures: 2 decimals at 30,000, 6 at 0.2
    assert usdt["liq_price"].number_format == "#,##0.00"
    assert small["liq_price"].number_format == "#,##0.000000"
    assert usdt["margin_ratio"].number_format == "#,##0.00%"
    assert usdt["contracts"].number_format == "#,##0"
    assert isinstance(usdt["liq_price"].value, float)     # numbers stay numbers


def test_columns_are_as_wide_as_what_they_show(tmp_path):
    ws, head, rows = rows_of(book(tmp_path))
    for j, name in enumerate(head, start=1):
        width = ws.column_dimensions[ws.cell(1, j).column_letter].width
        assert width >= len(name), name
        for r in rows:
            c = r[name]
            if isinstance(c.value, float) and c.number_format != "General":
                assert width >= len(shown(c.value, c.number_format)), (name, c.value)
            elif isinstance(c.value, str) and name != "status":
                assert width >= len(c.value), (name, c.value)


def test_status_tints_rows_and_no_equity_is_said(tmp_path):
    ws, head, rows = rows_of(book(tmp_path))
    status = [r["status"].value for r in rows]
    assert status[1] == "past liquidation" and status[4].startswith("error: ")
    letter = ws.cell(1, head.index("status") + 1).column_letter
    rules = {r.formula[0]: r for cf in ws.conditional_formatting for r in cf.rules}
    assert set(rules) == {f'LEFT(${letter}2,16)="past liquidation"',
                          f'LEFT(${letter}2,7)="warning"', f'LEFT(${letter}2,5)="error"'}
    assert all(r.stopIfTrue for r in rules.values())
    fills = {f: rules[f].dxf.fill.bgColor.rgb for f in rules}
    assert fills[f'LEFT(${letter}2,16)="past liquidation"'] == "FFFFC7CE"
    t = pa.table({"margin_ratio": [0.5, math.inf, math.nan], "status": ["ok", "past liquidation", "x"]})
    write_table(t, tmp_path / "inf.xlsx")   # as calc writes it: Excel's words for +inf
    ws = load_workbook(tmp_path / "inf.xlsx")["results"]
    assert [c.value for c in ws["A"]][1:] == [0.5, NO_EQUITY, None]


def test_same_table_same_bytes_and_parts_excel_expects(tmp_path):
    t = pa.table({"contract": ["BTC-USDT", None, "BTC-USDT"], "pnl": [1.5, None, -2.0],
                  "when": pa.array([0, None, 86_400_000_000], pa.timestamp("us")),
                  "flag": [True, None, False], "n": pa.array([1, 2, None], pa.int64())})
    write_results(t, tmp_path / "a.xlsx")
    write_results(t, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert z.testzip() is None
        names = set(z.namelist())
        sst = z.read("xl/sharedStrings.xml").decode()
        types = z.read("[Content_Types].xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert 'theme="' not in styles and 'scheme val' not in styles   # no theme part to name
    for part in names - {"[Content_Types].xml"} - {n for n in names if n.endswith(".rels")}:
        assert f'PartName="/{part}"' in types, part
    # every string cell counted once, each distinct string stored once
    assert 'count="7" uniqueCount="6"' in sst   # 5 headers + 2 "BTC-USDT" cells
    ws = load_workbook(tmp_path / "a.xlsx")["results"]
    assert [c.value for c in ws[3]] == [None] * 4 + [2]     # nulls are empty cells
    assert ws["C4"].value.isoformat() == "1970-01-02T00:00:00"
    assert ws["C4"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert [ws["D2"].value, ws["D4"].value] == [True, False]


def test_hostile_text_stays_text_and_fits_a_cell(tmp_path):
    long = "x" * (MAX_TEXT + 10)
    t = pa.table({"note": ['=HYPERLINK("http://x")', "bell\x07", long, "  padded  "]})
    write_results(t, tmp_path / "h.xlsx")
    with zipfile.ZipFile(tmp_path / "h.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    ws = load_workbook(tmp_path / "h.xlsx")["results"]
    values = [c.value for c in ws["A"]][1:]
    assert values[0] == '=HYPERLINK("http://x")' and ws["A2"].data_type == "s"
    assert values[1] == "bell\\x07" and values[3] == "  padded  "
    assert len(values[2]) <= MAX_TEXT and values[2].endswith("characters cut)")
    # the note counts exactly what went: the kept text plus the cut is the whole
    gone = int(values[2].rsplit("(", 1)[1].split(" ")[0].replace(",", ""))
    assert len(values[2]) == MAX_TEXT
    assert len(values[2]) - len(values[2][values[2].rindex(" ... ("):]) + gone == len(long)


def test_headers_a_table_cannot_take_get_a_filter(tmp_path):
    t = pa.table([pa.array([1.0]), pa.array([2.0])], names=["pnl", "PNL"])
    write_results(t, tmp_path / "d.xlsx")
    with zipfile.ZipFile(tmp_path / "d.xlsx") as z:
        assert not any(n.startswith("xl/tables/") for n in z.namelist())
        assert '<autoFilter ref="A1:B2"/>' in z.read("xl/worksheets/sheet1.xml").decode()
    ws = load_workbook(tmp_path / "d.xlsx")["results"]
    assert [c.value for c in ws[1]] == ["pnl", "PNL"] and ws.auto_filter.ref == "A1:B2"


def test_more_rows_than_a_sheet_is_refused(tmp_path, monkeypatch):
    import xlhtx.xlsx.results as results
    monkeypatch.setattr(results, "MAX_ROWS", 3)
    with pytest.raises(ResultsFileError, match="3 rows x 1 columns do not fit.*csv or .parquet"):
        write_results(pa.table({"a": [1, 2, 3]}), tmp_path / "big.xlsx")
    assert not (tmp_path / "big.xlsx").exists()


def test_libreoffice_shows_units_and_statuses(tmp_path):
    assert SOFFICE, "LibreOffice is missing: `make test` installs it (make sysdeps)"
    out = book(tmp_path)
    # "save cell contents as shown" (token 9): the text a person sees in the cell
    convert(SOFFICE, out, tmp_path, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,"
                                    "true,true,false,false,-1")
    rows = list(csv.reader((tmp_path / "o-results.csv").open(encoding="utf-8")))
    head = rows[0]
    coin = dict(zip(head, rows[3]))
    usdt = dict(zip(head, rows[2]))
    assert re.fullmatch(r"-?[\d,]+\.\d{8} BTC", coin["equity"]), coin["equity"]
    assert re.fullmatch(r"-?[\d,]+\.\d{2} USDT", usdt["equity"]), usdt["equity"]
    assert usdt["status"] == "past liquidation" and usdt["liq_price"].count(".") == 1
    assert np.isclose(float(usdt["liq_price"].replace(",", "")), 29915.56, atol=0.01)
