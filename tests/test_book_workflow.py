"""A desk's book through calc: cross rows computed as their accounts (never as isolated
guesses), balances from a column, a file or HTX's margin_balance."""

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from xlhtx import api, book, cli

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
    return api.account(c, s, q, e, m, lev, balance, "cross")


def test_cross_rows_are_their_account_as_htx_account_computes_it(tmp_path):
    rows = [(*leg, "cross", "A") for leg in LEGS]
    src = book_csv(tmp_path / "b.csv", rows, ",balance", lambda i: ",2000")
    got = calc(tmp_path, src)
    want = account_figures(2000)
    for r, liq, ratio, eq in zip(got, want["liq_price"].values, want["margin_ratio"].values,
                                 want["equity"].values):
        assert (r["liq_price"], r["margin_ratio"], r["equity"]) == (liq, ratio, eq)
        assert r["status"] is None or r["status"] == ""
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
    res = book.compute(cols, cross=False)
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
    from xlhtx import frames
    df = pd.read_csv(ROOT / "xlhtx" / "data" / "sample_positions.csv")
    df.index = [f"pos-{i}" for i in range(len(df))]
    out = frames.calc(df)
    assert list(out.index) == list(df.index)
    assert list(frames.calc(out).columns) == list(out.columns)
