"""A desk's book through calc: cross rows computed as their accounts (never as isolated
guesses), balances from a column, a file or HTX's margin_balance."""

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from xlhtx import api, cli
from xlhtx.tables import metrics

ROOT = Path(__file__).resolve().parents[1]
HEAD = "contract,side,contracts,entry_price,leverage,mark_price,margin_mode,account"
LEGS = [("BTC-USDT", "long", 1000, 30000, 20, 29500), ("BTC-USDT", "short", 400, 30500, 20, 29500),
        ("ETH-USDT", "long", 100, 2000, 20, 1990)]


def book_csv(path, rows, extra_head="", extra=lambda i: ""):
    lines = [HEAD + extra_head]
    for i, (c, s, q, e, lev, m, mode, acc) in enumerate(rows):
        lines.append(f"{c},{s},{q},{e},{lev},{m},{mode},{acc}{extra(i)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def calc(tmp_path, src, *extra):
    out = tmp_path / "out.csv"
    assert cli.main(["calc", str(src), "-o", str(out), *map(str, extra)]) == 0
    return pacsv.read_csv(out).to_pylist()


def account_figures(balance):
    c, s, q, e, lev, m = map(list, zip(*LEGS))
    return api.account(c, s, q, e, m, lev, margin_static=balance, mode="cross")


def test_cross_rows_are_their_account_as_htx_account_computes_it(tmp_path):
    rows = [(*leg, "cross", "A") for leg in LEGS]
    src = book_csv(tmp_path / "b.csv", rows, ",balance", lambda i: ",2000")
    got = calc(tmp_path, src)
    want = account_figures(2000)
    for r, liq, ratio, eq in zip(got, want["liq_price"].values, want["margin_ratio"].values,
                                 want["equity"].values):
        assert (r["liq_price"], r["margin_ratio"], r["equity"]) == (liq, ratio, eq)
        assert r["status"] == "ok"
    # the hedge legs share their contract's price
    assert got[0]["liq_price"] == got[1]["liq_price"]


def test_balances_from_a_file_or_htx_margin_balance_agree(tmp_path):
    rows = [(*leg, "cross", "A") for leg in LEGS]
    src = book_csv(tmp_path / "b.csv", rows)
    accounts = tmp_path / "acc.csv"
    accounts.write_text("account,balance\nA,2000\n")
    by_file = calc(tmp_path, src, "--accounts", accounts)
    pnl = sum(api.pnl(c, s, q, e, m).values[0] for c, s, q, e, _, m in LEGS)
    src2 = book_csv(tmp_path / "b2.csv", rows, ",margin_balance", lambda i: f",{2000 + pnl}")
    by_equity = calc(tmp_path, src2)
    assert [r["liq_price"] for r in by_file] == pytest.approx(
        [r["liq_price"] for r in by_equity], rel=1e-12)
    assert by_file[0]["equity"] == pytest.approx(2000 + pnl, rel=1e-12)


def test_a_cross_row_without_its_account_is_an_error_not_an_isolated_guess(tmp_path):
    rows = [(*LEGS[0], "cross", ""), (*LEGS[0], "isolated", "")]
    got = calc(tmp_path, book_csv(tmp_path / "b.csv", rows))
    assert got[0]["liq_price"] is None and got[0]["margin_ratio"] is None
    assert "computed with its account" in got[0]["status"]
    assert got[1]["liq_price"] == pytest.approx(
        api.liq_price(*LEGS[0][:5]).values[0], rel=1e-15)


def test_an_account_with_two_balances_is_refused(tmp_path):
    rows = [(*leg, "cross", "A") for leg in LEGS]
    src = book_csv(tmp_path / "b.csv", rows, ",balance", lambda i: f",{2000 + i}")
    got = calc(tmp_path, src)
    assert all("different balances" in r["status"] for r in got)


def test_cross_rows_are_not_split_across_dask_partitions(tmp_path):
    rows = [(*leg, "cross", "A") for leg in LEGS]
    cols = {k: [r[j] for r in rows] for j, k in enumerate(HEAD.split(","))}
    res = metrics.compute(cols, cross=False)
    assert all("without --engine dask" in s for s in res["status"])


def test_positions_import_then_calc_keeps_htx_numbers(tmp_path):
    data = ROOT / "tests" / "data" / "htx-responses"
    imported = tmp_path / "imported.csv"
    assert cli.main(["positions", "import", str(data / "swap-cross-account-info-usdt.json"),
                     str(data / "swap-cross-position-info-usdt.json"), "-o", str(imported)]) == 0
    (row,) = calc(tmp_path, imported, "--tiers", "legacy")
    assert row["liq_price"] == pytest.approx(row["htx_liq_price"], rel=1e-9)
    assert row["equity"] == pytest.approx(row["margin_balance"], rel=1e-12)


def test_a_rerun_replaces_its_columns_in_place(tmp_path):
    first = tmp_path / "first.csv"
    again = tmp_path / "again.csv"
    assert cli.main(["calc", str(ROOT / "xlhtx" / "data" / "sample_positions.csv"),
                     "-o", str(first)]) == 0
    assert cli.main(["calc", str(first), "-o", str(again)]) == 0
    assert again.read_bytes() == first.read_bytes()


def test_a_dataframe_keeps_its_index():
    pd = pytest.importorskip("pandas")
    from xlhtx.tables import frames
    df = pd.read_csv(ROOT / "xlhtx" / "data" / "sample_positions.csv")
    df.index = [f"pos-{i}" for i in range(len(df))]
    out = frames.calc(df)
    assert list(out.index) == list(df.index)
    assert list(frames.calc(out).columns) == list(out.columns)


def test_positions_past_liquidation_are_flagged_with_their_numbers():
    """The issue's example: BTC-USDT long 5,000 at 30,000, 125x, margin = IM, on the
    legacy ladders: liquidation at 29,915.56; a mark of 29,900 is past it."""
    cols = {"contract": ["BTC-USDT"] * 4, "side": ["long"] * 4, "contracts": [5000] * 4,
            "entry_price": [30000] * 4, "leverage": [125] * 4,
            "mark_price": [29990, 29930, 29900, 29000]}
    res = metrics.compute(cols, "legacy")
    assert res["status"] == ["ok", "warning", "past liquidation", "past liquidation"]
    assert res["liq_price"][2] == pytest.approx(29915.560916767186, rel=1e-12)
    assert res["margin_ratio"][2] > 1 and res["margin_ratio"][2] < float("inf")
    # no equity left: the ratio is +inf (sorts worst), equity negative, never NaN
    assert res["margin_ratio"][3] == float("inf") and res["equity"][3] < 0


def test_the_vocabulary_is_all_a_desk_filters_on(tmp_path):
    src = ROOT / "xlhtx" / "data" / "sample_positions.csv"
    rows = calc(tmp_path, src)
    words = {r["status"] if not r["status"].startswith("error: ") else "error: ..."
             for r in rows}
    assert words <= set(metrics.STATUS_WORDS)


def test_excel_shows_a_ratio_with_no_equity_as_words():
    from xlhtx.excel import udfs
    got = udfs.HTX_MARGINRATIO("BTC-USDT", "long", 5000, 30000, 29000, 125, None, "legacy")
    assert got == udfs.NO_EQUITY
    col = udfs.HTX_MARGINRATIO([["BTC-USDT"], ["BTC-USDT"]], "long", 5000, 30000,
                               [[29990], [29000]], 125, None, "legacy")
    assert col[0][0] == pytest.approx(0.0052 * 5000 * 0.001 * 29990 / (1200 - 50), rel=1e-12)
    assert col[1][0] == udfs.NO_EQUITY


def test_an_empty_row_has_no_status_word():
    cols = {"contract": ["BTC-USDT", None], "side": ["long", None], "contracts": [10, None],
            "entry_price": [30000, None], "leverage": [20, None]}
    assert metrics.compute(cols)["status"] == ["ok", ""]


def test_calc_to_stdout_and_semicolon_csvs(tmp_path, capsys):
    src = tmp_path / "semi.csv"
    src.write_text("contract;side;contracts;entry_price;leverage\n"
                   "BTC-USDT;long;1000;30000;20\nBTC-USDT;long;1000;30000,5;20\n")
    assert cli.main(["calc", str(src), "-o", "-"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('"contract","side"') and len(lines) == 3
    assert lines[1].endswith('"ok"') and "decimal point" in lines[2]


def test_ccxt_positions_read_as_they_are(tmp_path):
    src = tmp_path / "ccxt.csv"
    src.write_text("symbol,contracts,entryPrice,markPrice,marginMode,leverage\n"
                   "BTC/USDT:USDT,1000,30000,29900,isolated,20\n"
                   "BTC/USDT:USDT,-500,30000,29900,isolated,20\n"
                   "BTC/USD:BTC,10,30000,29900,isolated,20\n")
    rows = calc(tmp_path, src)
    want = [api.liq_price("BTC-USDT", "long", 1000, 30000, 20).values[0],
            api.liq_price("BTC-USDT", "short", 500, 30000, 20).values[0],
            api.liq_price("BTC-USD", "long", 10, 30000, 20).values[0]]
    assert [r["liq_price"] for r in rows] == want
    assert [r["status"] for r in rows] == ["ok"] * 3


def test_what_if_rows_carry_the_input_ids(tmp_path, capsys):
    src = tmp_path / "ids.csv"
    src.write_text("id,account,contract,side,contracts,entry_price,leverage\n"
                   "P-1,desk-a,BTC-USDT,long,5000,30000,50\nP-2,desk-b,ETH-USDT,short,100,2000,20\n")
    for command in (["ladder"], ["scenario", "--points", "3"]):
        out = tmp_path / f"{command[0]}.csv"
        assert cli.main([command[0], str(src), *command[1:], "-o", str(out)]) == 0
        rows = pacsv.read_csv(out).to_pylist()
        assert {(r["id"], r["account"], r["contract"], r["side"]) for r in rows} == {
            ("P-1", "desk-a", "BTC-USDT", "long"), ("P-2", "desk-b", "ETH-USDT", "short")}


def test_hive_partition_columns_are_kept(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    for code, side in (("BTC-USDT", "long"), ("ETH-USDT", "short")):
        folder = tmp_path / "book" / f"contract={code}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"side": [side], "contracts": [100.0], "entry_price": [2000.0],
                                 "leverage": [20.0]}), folder / "part-0.parquet")
    out = tmp_path / "res"
    assert cli.main(["calc", str(tmp_path / "book"), "-o", str(out)]) == 0
    t = pq.read_table(out / "part-00000.parquet")
    assert t.column("contract").to_pylist() == ["BTC-USDT", "ETH-USDT"]
    assert t.column("status").to_pylist() == ["ok", "ok"]
