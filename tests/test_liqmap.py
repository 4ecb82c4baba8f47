"""The liquidation map: HTX's tiered liquidation per price bucket, checked against the
plain-Python oracle, additive over partitions, and the same from Excel, the CLI, the
Python API and Dask."""

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import oracle
from htxcore.liqmap import HIST_ROWS, merge_nb
from xlhtx import api, cli
from xlhtx.excel import udfs
from xlhtx.analysis import liqmap
from xlhtx.errors import XlhtxError

# HTX's adjustment-factor rules: the worked ladder of its pages is on them
LEGACY = "legacy"
from xlhtx.reference.snapshot import snapshot

T = snapshot("legacy")
BTC_LEVERS = [5.0, 10.0, 20.0, 50.0, 125.0]


def test_the_worked_ladder_lands_in_its_buckets():
    m = api.liq_map("BTC-USDT", "long", 100000, 30000, 125, None, 28000.0, 32000.0, 100.0, tiers=LEGACY)
    c = m.columns()
    k = lambda p: int((p - 28000) // 100)  # noqa: E731
    assert c["long_contracts"][k(29963.75)] == 10001 + 81000    # both partial steps
    assert c["long_contracts"][k(28159.69)] == 8999              # the full liquidation
    assert c["long_contracts"].sum() == 100000 and c["short_contracts"].sum() == 0


# a map is of one contract (0.001 BTC and 100 USD contracts do not add): each book one
positions = hs.sampled_from(["BTC-USDT", "BTC-USD"]).flatmap(lambda code: hs.lists(
    hs.tuples(hs.just(code), hs.sampled_from([1, -1]), hs.integers(1, 150_000).map(float),
              hs.floats(25_000, 35_000), hs.sampled_from(BTC_LEVERS), hs.floats(0.5, 3.0)),
    min_size=1, max_size=40))


@settings(max_examples=60, deadline=None)
@given(positions)
def test_map_matches_the_oracle(book):
    rows = []
    for code, s, q, e, lev, f in book:
        c = T.contract(code)
        rows.append((code, s, q, e, lev, f * oracle.initial_margin(c, q, e, lev)))
    code, side, q, e, lev, m = (list(x) for x in zip(*rows))
    got = api.liq_map(code, side, q, e, lev, m, 20_000.0, 40_000.0, 250.0, tiers=LEGACY)
    want = oracle.liq_map(T, rows, 20_000.0, 250.0, 80)
    cols = got.columns()
    for (s, k), (contracts, notional) in want.items():
        name = "long" if s > 0 else "short"
        assert cols[f"{name}_contracts"][k] == contracts
        assert cols[f"{name}_notional"][k] == pytest.approx(notional, rel=1e-12)
    assert cols["long_contracts"].sum() + cols["short_contracts"].sum() == \
        sum(v[0] for v in want.values())


@settings(max_examples=40, deadline=None)
@given(positions, hs.integers(1, 39))
def test_partitions_add_up_to_the_same_digits(book, cut):
    code, side, q, e, lev, _ = (list(x) for x in zip(*book))
    args = (20_000.0, 40_000.0, 100.0)
    whole = api.liq_map(code, side, q, e, lev, None, *args, tiers=LEGACY)
    cut = min(cut, len(code))
    a = api.liq_map(code[:cut], side[:cut], q[:cut], e[:cut], lev[:cut], None, *args, tiers=LEGACY)
    b = api.liq_map(code[cut:] or code[:1], side[cut:] or ["long"], q[cut:] or [1.0],
                    e[cut:] or [1e9], lev[cut:] or [5.0], None, *args, tiers=LEGACY)  # a far-away filler
    total = np.zeros((HIST_ROWS, whole.hist.shape[1]))
    merge_nb(total, b.hist)
    merge_nb(total, a.hist)
    merged = api.LiqMap(20_000.0, 100.0, total, whole.mark, whole.result)
    for k, v in whole.columns().items():
        assert np.array_equal(merged.columns()[k], v), k


def test_a_map_is_of_one_contract():
    book = (["BTC-USDT", "BTC-USD", "btc-usdt "], ["long"] * 3, [100000, 5000, 100000],
            [30000] * 3, [125, 20, 125], [None] * 3)
    with pytest.raises(XlhtxError, match="holds BTC-USD, BTC-USDT: .* give map_contract"):
        api.liq_map(*book, 28000, 32000, 1000, tiers=LEGACY)
    usdt = api.liq_map(*book, 28000, 32000, 1000, tiers=LEGACY, map_contract="BTC-USDT")
    assert usdt.columns()["long_contracts"].sum() == 200000        # the coin-M row left out
    coin = udfs.HTX_LIQMAP(*([[v] for v in col] for col in book), 20000, 40000, 1000,
                           [["legacy"]], 30000, [["BTC-USD"]])
    assert sum(r[2] for r in coin[1:]) == 5000
    with pytest.raises(Exception, match="map_contract = 'ETH-USDX': not a contract"):
        udfs.HTX_LIQMAP(*([[v] for v in col] for col in book), 20000, 40000, 1000,
                        [["legacy"]], 30000, "ETH-USDX")


def test_excel_function_spills_the_map_and_refuses_bad_ranges():
    t = udfs.HTX_LIQMAP([["BTC-USDT"]], [["long"]], [[100000]], [[30000]], [[125]], [[None]],
                        28000, 32000, 1000, [["legacy"]], 30000)
    assert t[0] == [c.replace("_", " ").capitalize() for c in api.LIQMAP_COLUMNS] and len(t) == 5
    assert t[0][:2] == ["Bucket low", "Bucket high"]
    assert t[2][2] == 91001 and t[1][2] == 8999
    for bad, msg in [((28000, 32000, 0), "step"), ((32000, 28000, 100), "above price_from"),
                     ((1, 1e9, 1), "more than 100,000 buckets")]:
        with pytest.raises(Exception, match=msg):
            udfs.HTX_LIQMAP("BTC-USDT", "long", 1, 30000, 125, None, *bad)


def write_dataset(folder, parts=4, n=3000, seed=5):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for k in range(parts):
        pq.write_table(pa.table({
            "contract": rng.choice(["BTC-USDT", "BTC-USD"], n),
            "side": rng.choice(["long", "short"], n),
            "contracts": rng.integers(1, 100_000, n).astype(float),
            "entry_price": rng.uniform(28_000, 32_000, n),
            "leverage": rng.choice(BTC_LEVERS, n)}), folder / f"part-{k}.parquet")
    return folder


def test_cli_map_chart_and_dask_give_the_same_map(tmp_path):
    ds = write_dataset(tmp_path / "book")
    common = ["liqmap", "--tiers", "legacy", str(ds), "--from", "20000", "--to", "40000", "--step", "250",
              "--mark", "30000", "--contract", "BTC-USDT"]
    assert cli.main([*common, "-o", str(tmp_path / "one.csv"), "--png",
                     str(tmp_path / "map.png")]) == 0
    assert cli.main([*common, "-o", str(tmp_path / "dask.csv"), "--engine", "dask"]) == 0
    one = (tmp_path / "one.csv").read_bytes()
    assert one == (tmp_path / "dask.csv").read_bytes()
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the Python API on the concatenated book: the same numbers again
    table = pa.concat_tables([pq.read_table(p) for p in sorted(ds.glob("*.parquet"))])
    table = table.filter(pa.compute.equal(table.column("contract"), "BTC-USDT"))
    c = table.to_pydict()
    m = api.liq_map(c["contract"], c["side"], c["contracts"], c["entry_price"], c["leverage"],
                    None, 20000.0, 40000.0, 250.0, mark_price=30000.0, tiers=LEGACY)
    rows = pacsv.read_csv(tmp_path / "one.csv").to_pydict()
    for k, v in m.columns().items():
        assert np.array_equal(np.asarray(rows[k], dtype=float), v), k
    # the PNG's bars by leverage band add up to the map
    bands = liqmap.leverage_bands(table, LEGACY, 20000.0, 40000.0, 250.0, 30000.0)
    levers = sorted(set(c["leverage"]))
    assert len(bands) == len({next(k for k, (lo, hi) in enumerate(liqmap.LEVERAGE_BANDS)
                                   if lo < x <= hi) for x in levers})
    for k in ("long_contracts", "short_notional"):
        total = sum(b.columns()[k] for _, b in bands)
        assert np.allclose(total, m.columns()[k], rtol=1e-12, atol=0), k


def test_calc_on_a_dask_cluster_equals_one_process(tmp_path):
    ds = write_dataset(tmp_path / "book", n=2000)
    assert cli.main(["calc", "--tiers", "legacy", str(ds), "-o", str(tmp_path / "one")]) == 0
    assert cli.main(["calc", "--tiers", "legacy", str(ds), "-o", str(tmp_path / "many"), "--engine", "dask"]) == 0
    one = pq.read_table(tmp_path / "one" / "part-00000.parquet")
    many = pa.concat_tables([pq.read_table(p) for p in sorted((tmp_path / "many").glob("*.parquet"))])
    assert many.num_rows == one.num_rows == 8000
    assert many.equals(one)


def test_a_dataset_needs_a_folder_for_its_results(tmp_path, capsys):
    ds = write_dataset(tmp_path / "book", parts=1, n=10)
    assert cli.main(["calc", "--tiers", "legacy", str(ds), "-o", str(tmp_path / "x.csv")]) == 1
    assert "give -o a folder" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    ds = write_dataset(tmp_path / "book", parts=1, n=10)
    assert cli.main(["liqmap", "--tiers", "legacy", str(ds), "--from", "1", "--to", "2", "--step", "1",
                     "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                     "--contract", "BTC-USDT"]) == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_a_map_never_adds_contracts_of_different_units(tmp_path, capsys):
    """BTC-USDT (0.001 BTC) and BTC-USD (100 USD) contracts do not add up: the table is
    refused without --contract, and --contract maps that contract only."""
    ds = write_dataset(tmp_path / "book", parts=1, n=200)
    args = ["liqmap", "--tiers", "legacy", str(ds), "--from", "20000", "--to", "40000",
            "--step", "250"]
    assert cli.main([*args, "-o", str(tmp_path / "m.csv")]) == 1
    assert "BTC-USD, BTC-USDT: a map adds up contracts of one contract" in \
        capsys.readouterr().err
    assert cli.main([*args, "--contract", "btc-usd", "-o", str(tmp_path / "m.csv")]) == 0
    table = pq.read_table(next(ds.glob("*.parquet")))
    only = table.filter(pa.compute.equal(table.column("contract"), "BTC-USD")).to_pydict()
    m = api.liq_map(only["contract"], only["side"], only["contracts"], only["entry_price"],
                    only["leverage"], None, 20000.0, 40000.0, 250.0, mark_price=30000.0,
                    tiers=LEGACY)
    rows = pacsv.read_csv(tmp_path / "m.csv").to_pydict()
    assert np.array_equal(np.asarray(rows["long_contracts"], dtype=float),
                          m.columns()["long_contracts"])


def test_the_map_counts_from_the_books_own_mark(tmp_path, capsys):
    from xlhtx.tables import formats
    from xlhtx.analysis import liqmap
    src = tmp_path / "b.csv"
    src.write_text("contract,side,contracts,entry_price,leverage,mark_price\n"
                   "BTC-USDT,long,1000,30000,20,29000\nBTC-USDT,short,1000,30000,20,29400\n")
    assert liqmap.book_mark(formats.read_table(src)) == 29200.0
    assert cli.main(["liqmap", str(src), "--from", "25000", "--to", "35000", "--step", "500",
                     "-o", str(tmp_path / "m.csv")]) == 0
    assert "middle of the range" not in capsys.readouterr().err


def test_positions_past_liquidation_are_counted_apart_not_drawn(tmp_path, capsys):
    src = tmp_path / "b.csv"
    # the first long's liquidation (29,848 at 50x) is above its mark: past it
    src.write_text("contract,side,contracts,entry_price,leverage,mark_price\n"
                   "BTC-USDT,long,5000,30000,50,29800\nBTC-USDT,long,5000,30000,50,29990\n")
    out = tmp_path / "m.csv"
    assert cli.main(["liqmap", str(src), "--from", "29000", "--to", "31000", "--step", "100",
                     "-o", str(out)]) == 0
    assert "1 position(s) already past their liquidation price" in capsys.readouterr().err
    rows = pacsv.read_csv(out).to_pydict()
    assert sum(rows["long_contracts"]) == 5000


def test_positions_left_out_are_said_under_dask_too(tmp_path, capsys):
    ds = tmp_path / "book"
    ds.mkdir()
    pq.write_table(pa.table({"contract": ["BTC-USDT", "BTC-USDT"], "side": ["long", "long"],
                             "contracts": [100.0, -5.0], "entry_price": [30000.0, 30000.0],
                             "leverage": [20.0, 20.0]}), ds / "part-0.parquet")
    args = ["liqmap", "--tiers", "legacy", str(ds), "--from", "20000", "--to", "40000",
            "--step", "250", "--mark", "30000", "--contract", "BTC-USDT"]
    for engine in ("local", "dask"):
        assert cli.main([*args, "--engine", engine, "-o", str(tmp_path / f"{engine}.csv")]) == 0
        err = capsys.readouterr().err
        assert "1 position(s) left out of the map, e.g. #VALUE! contracts = -5" in err, engine
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()
