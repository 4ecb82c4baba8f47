"""Round two of attacks (one test per example and per kind): the input boundary refuses
what it cannot represent, the output writer refuses to replace inputs, devices or
anything but a regular file, network options are bounded, and messages stay one line."""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from htxcore import status as st
from xlhtx import api, cli
from xlhtx.tables import cluster
from xlhtx.excel import udfs
from xlhtx.files import parse_json
from xlhtx.reference import fetch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "xlhtx" / "data" / "sample_positions.csv"


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


# ------------------------------------------------------------ outputs never replace inputs


@pytest.mark.parametrize("command", [
    ("ladder",), ("scenario",), ("addmargin", "--distance", "5%"), ("calc",),
    ("liqmap", "--from", 25000, "--to", 35000, "--step", 100, "--contract", "BTC-USDT")])
def test_a_command_never_writes_over_its_input(tmp_path, capsys, command):
    book = tmp_path / "same.csv"
    book.write_bytes(SAMPLE.read_bytes())
    code, err = run(capsys, command[0], book, *command[1:], "-o", book)
    assert code == 1 and "same.csv" in err[-1]
    assert book.read_bytes() == SAMPLE.read_bytes()


def test_a_workbook_build_never_writes_over_its_tier_source(tmp_path, capsys):
    book = tmp_path / "t.xlsm"
    assert run(capsys, "workbook", "build", "-o", book)[0] == 0
    before = book.read_bytes()
    code, err = run(capsys, "workbook", "build", "--tiers", book, "-o", book)
    assert code == 1 and "is an input of this command" in err[-1]
    assert book.read_bytes() == before


def test_the_template_is_never_written_as_an_xlsx(tmp_path, capsys):
    code, err = run(capsys, "workbook", "build", "-o", tmp_path / "b.xlsx")
    assert code == 1 and "name it .xlsm" in err[-1]
    assert not (tmp_path / "b.xlsx").exists()


def test_devices_and_pipes_are_not_outputs(tmp_path, capsys):
    link = tmp_path / "null.csv"
    link.symlink_to(os.devnull)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for out in (link, fifo):
        code, err = run(capsys, "ladder", "--contract", "BTC-USDT", "--side", "long",
                        "--contracts", 10, "--entry", 30000, "--leverage", 20, "-o", out)
        assert code == 1 and "not a regular file" in err[-1]
    assert Path(os.devnull).is_char_device()


def test_importing_xlhtx_touches_only_its_own_numba_cache_folder(tmp_path):
    cache = tmp_path / "cache"
    other = cache / "usr" / "lib" / "core"
    other.mkdir(parents=True)
    (other / "kernel.nbi").write_text("someone else's")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    subprocess.run([sys.executable, "-c", "import xlhtx.api"], env=env, check=True)
    subprocess.run([sys.executable, "-c", "import xlhtx.api"], env=env, check=True)
    assert (other / "kernel.nbi").read_text() == "someone else's"
    assert not (other / "htxcore-sources.sha256").exists()


# ------------------------------------------------------------------- the input boundary


def test_integers_beyond_float_are_a_message_not_a_traceback():
    r = api.liq_price("BTC-USDT", "long", 10 ** 400, 30000, 20)
    assert r.cell(0).startswith("#VALUE! contracts = an integer of about 401 digits")


def test_a_column_and_a_row_are_not_paired():
    with pytest.raises(Exception, match="contract is a column and contracts a row"):
        udfs.HTX_NOTIONAL([["BTC-USDT"], ["BTC-USDT"], ["BTC-USDT"]], [[1, 2, 3]], 30000)


def test_a_ragged_range_is_refused_not_shortened():
    with pytest.raises(Exception, match="ragged"):
        api.notional([["BTC-USDT"], ["BTC-USDT", "ETH-USDT"], ["BTC-USDT"]], 1, 30000)


def test_a_denormal_position_is_refused_not_liquidated():
    r = api.liq_price("BTC-USDT", "long", 5e-324, 30000, 20)
    assert r.status[0] == st.ERR_CONTRACTS
    assert "from 1e-12 to below 1e15" in r.cell(0)


def test_float_noise_in_a_leverage_finds_its_ladder():
    # 124.99999999999999 is what arithmetic in a cell can leave of 125
    assert api.liq_price("BTC-USDT", "long", 10, 30000, 124.99999999999999,
                         tiers="legacy").values[0] == \
        api.liq_price("BTC-USDT", "long", 10, 30000, 125, tiers="legacy").values[0]
    # a real fraction is not rounded away
    assert api.liq_price("BTC-USDT", "long", 10, 30000, 124.5, tiers="legacy").status[0] \
        != st.OK


@pytest.mark.parametrize("text, why", [("[" * 100_000 + "]" * 100_000, "nested too deeply"),
                                       ('{"a": ' + "9" * 5000 + "}", "refused"),
                                       ("{not json", "not JSON")])
def test_hostile_json_is_one_line(tmp_path, capsys, text, why):
    src = tmp_path / "x.json"
    src.write_text(text)
    code, err = run(capsys, "positions", "import", src)
    assert code == 1 and len(err) == 1 and why in err[0]
    code, err = run(capsys, "calc", SAMPLE, "--tiers", src, "-o", tmp_path / "o.csv")
    assert code == 1 and why in err[-1]


# -------------------------------------------------------------------- network options


@pytest.mark.parametrize("option, value, why", [
    ("--retries", "-1", "give 0 to 10 retries"), ("--retries", "12", "give 0 to 10"),
    ("--timeout", "nan", "above 0 and at most 300"), ("--timeout", "-5", "above 0"),
    ("--timeout", "1e9", "at most 300")])
def test_fetch_options_are_bounded(tmp_path, capsys, option, value, why):
    with pytest.raises(SystemExit) as e:
        cli.main(["tiers", "fetch", option, value, "-o", str(tmp_path / "t.json")])
    assert e.value.code == 2 and why in capsys.readouterr().err


def test_fetch_backoff_is_capped(monkeypatch):
    slept = []
    monkeypatch.setattr(fetch, "urllib_get",
                        lambda url, timeout: (_ for _ in ()).throw(ConnectionError("down")))
    with pytest.raises(fetch.FetchError, match="after 11 attempts"):
        fetch.get_json("https://x/y", retries=10, sleep=slept.append)
    assert max(slept) <= fetch.MAX_BACKOFF and sum(slept) < 80


def test_fetch_answers_together_are_capped(monkeypatch):
    big = json.dumps({"status": "ok", "data": [{"pad": "x" * (12 << 20)}]}).encode()
    monkeypatch.setattr(fetch, "urllib_get", lambda url, timeout: big)
    with pytest.raises(fetch.FetchError, match="together exceed"):
        fetch.fetch_tables(sleep=lambda s: None)


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3"])
def test_mark_nan_is_refused_not_the_middle_of_the_range(tmp_path, capsys, value):
    with pytest.raises(SystemExit):
        cli.main(["liqmap", str(SAMPLE), "--from", "25000", "--to", "35000", "--step", "100",
                  "--mark", value, "-o", str(tmp_path / "m.csv")])
    assert "give a price > 0" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


def test_an_http_scheduler_address_is_refused_in_one_line(tmp_path, capsys):
    code, err = run(capsys, "liqmap", SAMPLE, "--engine", "dask", "--contract", "BTC-USDT",
                    "--scheduler", "http://127.0.0.1:8787", "--from", 25000, "--to", 35000, "--step", 100,
                    "-o", tmp_path / "m.csv")
    assert code == 1 and "tcp://HOST:8786" in err[-1]


def test_a_web_server_posing_as_a_scheduler_times_out(monkeypatch):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    try:
        with pytest.raises(Exception, match="cannot reach the Dask scheduler"):
            with cluster.dask_client(f"tcp://127.0.0.1:{server.server_address[1]}"):
                pass
    finally:
        server.shutdown()


def test_dask_reads_the_tables_calc_reads(tmp_path, capsys):
    one = tmp_path / "map-local.csv"
    two = tmp_path / "map-dask.csv"
    args = ("--from", 25000, "--to", 35000, "--step", 100, "--contract", "BTC-USDT",
            "--mark", 30000)
    assert run(capsys, "liqmap", SAMPLE, *args, "-o", one)[0] == 0
    assert run(capsys, "liqmap", SAMPLE, *args, "--engine", "dask", "-o", two)[0] == 0
    assert one.read_bytes() == two.read_bytes()
    code, err = run(capsys, "calc", SAMPLE, "--engine", "dask", "-o", tmp_path / "res")
    assert code == 0 and list((tmp_path / "res").glob("*.parquet"))


def test_grammar_of_the_calc_summary(tmp_path, capsys):
    assert cli.main(["calc", str(SAMPLE), "-o", str(tmp_path / "r.csv")]) == 0
    err = capsys.readouterr().err
    assert "with an errors" not in err and "12 positions: " in err


def test_parse_json_names_where():
    with pytest.raises(Exception, match="^the answer: not JSON"):
        parse_json(b"\xff\xfe", "the answer")


# ------------------------------------------------------------------------ files read


def _xlsx(path, rows, formulas=(), drop_cached=False):
    import re
    import zipfile
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Positions")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.write(i, j, v)
    for (i, j), f in formulas:
        ws.write_formula(i, j, f)
    wb.close()
    if drop_cached:   # a generator that saves formulas without their values
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        parts["xl/worksheets/sheet1.xml"] = re.sub(r"<v>0</v>", "", sheet).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, d in parts.items():
                z.writestr(n, d)
    return path


HEAD = ["contract", "side", "contracts", "entry_price", "leverage", "margin"]


def test_a_formula_without_a_saved_value_is_refused_not_read_as_empty(tmp_path, capsys):
    book = _xlsx(tmp_path / "b.xlsx", [HEAD, ["BTC-USDT", "long", 1000, 30000, 20]],
                 [((1, 5), "=1200*2")], drop_cached=True)
    code, err = run(capsys, "calc", book, "-o", tmp_path / "r.csv")
    assert code == 1 and "Positions!F2 (margin) holds the formula =1200*2" in err[-1]
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("rows, why", [
    ([["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
       "adjust_factor", "contract_size"],
      ["BTC-USDT", "isolated", 20, 0, 0, 100, 0.2, 0.001],
      ["BTC-USDT", "isolated", 20, 1, 101, None, 0.3, 0.01]], "a contract has one size"),
    ([["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
       "adjust_factor"],
      ["BTC-USDT", "isolated", 20, 0, 0, 100, 0.2],
      ["BTC-USDT", "isolated", 20, 1, 500, None, 0.3]], "a gap"),
])
def test_tier_tables_with_two_sizes_or_a_gap_are_refused(rows, why):
    with pytest.raises(Exception, match=why):
        api.notional("BTC-USDT", 1, 30000, tiers=rows)


def _rezip(src, dst, change):
    import zipfile
    with zipfile.ZipFile(src) as z:
        parts = [(i.filename, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in change(parts):
            z.writestr(name, data)


def test_a_workbook_holding_a_part_twice_is_refused(tmp_path, capsys):
    book = _xlsx(tmp_path / "b.xlsx", [HEAD, ["BTC-USDT", "long", 1000, 30000, 20, 100]])
    twice = tmp_path / "twice.xlsx"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # zipfile warns of the duplicate name
        _rezip(book, twice, lambda parts: parts + [p for p in parts if "sheet1" in p[0]])
    for args in (("calc", twice, "-o", tmp_path / "r.csv"),
                 ("recalc", twice, "-o", tmp_path / "v.xlsx")):
        code, err = run(capsys, *args)
        assert code == 1 and "more than once" in err[-1]


def test_a_doctype_past_the_first_kilobytes_is_still_found(tmp_path, capsys):
    book = _xlsx(tmp_path / "b.xlsx", [HEAD, ["BTC-USDT", "long", 1000, 30000, 20, 100]])
    bomb = tmp_path / "late.xlsx"

    def late(parts):
        out = []
        for name, data in parts:
            if name == "docProps/app.xml":
                data = data.replace(b"?>", b"?>" + b"<!--" + b" " * 10_000 + b"-->"
                                    + b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            out.append((name, data))
        return out
    _rezip(book, bomb, late)
    code, err = run(capsys, "calc", bomb, "-o", tmp_path / "r.csv")
    assert code == 1 and "DOCTYPE" in err[-1]


def test_an_encrypted_workbook_is_named_as_such(tmp_path, capsys):
    enc = tmp_path / "locked.xlsx"
    enc.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    code, err = run(capsys, "calc", enc, "-o", tmp_path / "r.csv")
    assert code == 1 and "password-protected" in err[-1]


def test_recalc_refuses_a_formula_longer_than_excel_takes(tmp_path, capsys):
    book = _xlsx(tmp_path / "long.xlsx", [["x"]], [((1, 0), "=" + "+".join(["1"] * 5000))])
    code, err = run(capsys, "recalc", book, "-o", tmp_path / "v.xlsx")
    assert code == 1 and "Excel takes at most 8,192" in err[-1]


def test_text_beyond_a_cells_limit_is_value_error_downstream_too(tmp_path, capsys):
    import openpyxl
    book = _xlsx(tmp_path / "t.xlsx", [["x" * 20_000]], [((0, 1), "=A1&A1"),
                                                         ((0, 2), "=LEN(B1)")])
    assert run(capsys, "recalc", book, "-o", tmp_path / "v.xlsx")[0] == 0
    ws = openpyxl.load_workbook(tmp_path / "v.xlsx", data_only=True)["Positions"]
    assert [ws["B1"].value, ws["C1"].value] == ["#VALUE!", "#VALUE!"]


def test_a_loop_through_a_defined_name_across_sheets_is_named(tmp_path, capsys):
    import xlsxwriter
    path = tmp_path / "loop.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    s, t = wb.add_worksheet("S"), wb.add_worksheet("T")
    wb.define_name("Other", "=T!$A$1")
    s.write_formula(0, 0, "=Other+1")
    t.write_formula(0, 0, "=S!A1*2")
    wb.close()
    code, err = run(capsys, "recalc", path, "-o", tmp_path / "v.xlsx")
    assert code == 1 and "circular reference: S!A1 -> T!A1 -> S!A1" in err[-1]


def test_a_values_copy_has_no_table_formulas(tmp_path, capsys):
    import zipfile
    book = tmp_path / "x.xlsm"
    assert run(capsys, "workbook", "build", "-o", book)[0] == 0
    assert run(capsys, "recalc", book, "-o", tmp_path / "v.xlsx", "--values-only")[0] == 0
    with zipfile.ZipFile(tmp_path / "v.xlsx") as z:
        tables = [z.read(n) for n in z.namelist() if n.startswith("xl/tables/")]
    assert tables and not any(b"calculatedColumnFormula" in t or b"totalsRowFormula" in t
                              for t in tables)


# ---------------------------------------------------------------- HTX responses, frames


def test_a_position_given_twice_is_refused_not_summed(tmp_path, capsys):
    data = ROOT / "tests" / "data" / "htx-responses"
    pos = data / "swap-position-info-theta-usd.json"
    code, err = run(capsys, "positions", "import", data / "swap-account-info-theta-usd.json",
                    pos, pos)
    assert code == 1 and "appears twice" in err[-1]


def test_a_newline_in_a_name_cannot_forge_a_line(tmp_path, capsys):
    bad = tmp_path / "a\nxlhtx: all positions safe.csv"
    code, err = run(capsys, "calc", bad, "-o", tmp_path / "r.csv")
    assert code == 1 and "\\n" in err[-1]
    assert not any(line.startswith("xlhtx: all positions") for line in err)


@pytest.mark.parametrize("text_type", ["large_string", "string_view"])
def test_every_arrow_text_type_reads_as_text(tmp_path, capsys, text_type):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    if not hasattr(pa, text_type):
        pytest.skip(f"this pyarrow has no {text_type}")
    t = pacsv.read_csv(SAMPLE)
    typ = getattr(pa, text_type)()
    pq.write_table(pa.table([c.cast(typ) if pa.types.is_string(c.type) else c
                             for c in t.columns], names=t.column_names), tmp_path / "p.parquet")
    assert run(capsys, "calc", tmp_path / "p.parquet", "-o", tmp_path / "r.csv")[0] == 0
    assert run(capsys, "calc", SAMPLE, "-o", tmp_path / "want.csv")[0] == 0
    assert (tmp_path / "r.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()


def test_frames_with_categoricals_and_a_stray_text_cell():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    from xlhtx.tables import frames
    want = frames.calc(pd.read_csv(SAMPLE))["liq_price"].tolist()
    cat = pl.read_csv(SAMPLE).with_columns(pl.col("contract").cast(pl.Categorical))
    got = [float("nan") if v is None else v for v in frames.calc(cat)["liq_price"].to_list()]
    assert got == pytest.approx(want, nan_ok=True)
    mixed = pd.read_csv(SAMPLE)
    mixed["contracts"] = mixed["contracts"].astype(object)
    mixed.loc[1, "contracts"] = "lots"
    out = frames.calc(mixed)
    assert out["status"][1] == "error: contracts = 'lots' is not a number"
    assert out["liq_price"][0] == pytest.approx(want[0])


def test_an_htx_volume_as_text_is_read_or_refused_never_zero(tmp_path, capsys):
    data = ROOT / "tests" / "data" / "htx-responses"
    src = json.loads((data / "swap-position-info-theta-usd.json").read_text())
    for volume, ok in (("1,000", True), ("lots", False)):
        src["data"][0]["volume"] = volume
        f = tmp_path / "p.json"
        f.write_text(json.dumps(src))
        out = tmp_path / "o.csv"
        code, err = run(capsys, "positions", "import", data / "swap-account-info-theta-usd.json",
                        f, "-o", out)
        if ok:   # read as 1,000 contracts; HTX's position_margin then names the mismatch
            assert code == 0 and "1000" in out.read_text() and "contract size" in out.read_text()
        else:
            assert code == 1 and "volume 'lots' is not a number" in err[-1]


def test_an_htx_leverage_as_text_is_refused_not_empty(tmp_path, capsys):
    data = ROOT / "tests" / "data" / "htx-responses"
    src = json.loads((data / "swap-position-info-theta-usd.json").read_text())
    src["data"][0]["lever_rate"] = "2x"
    f = tmp_path / "p.json"
    f.write_text(json.dumps(src))
    code, err = run(capsys, "positions", "import", f)
    assert code == 1 and "lever_rate '2x' is not a number" in err[-1]


@pytest.mark.parametrize("step", [5e-324, 1e-300])
def test_a_tiny_map_step_names_the_smallest_step(tmp_path, capsys, step):
    code, err = run(capsys, "liqmap", SAMPLE, "--from", 25000, "--to", 35000, "--step", step,
                    "-o", tmp_path / "m.csv")
    assert code == 1 and "take a step of at least 0.1" in err[-1]
    with pytest.raises(Exception, match="take a step of at least 0.1"):
        udfs.HTX_LIQMAP("BTC-USDT", "long", 10, 30000, 20, None, 25000, 35000, step)
