"""The product attacked the way a careless or hostile user would: every case gets a clear
refusal, a per-row status or the right number; never a traceback, a hang, a smuggled
formula, a read outside the workbook or a widened permission."""

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from htxcore import status as st
from xlhtx import api, cli
from xlhtx.excel import udfs

# HTX's adjustment-factor rules, where a test is about their ladders
LEGACY = "legacy"
from xlhtx.excel.headless import RecalcError, recalc
from xlhtx.reference import fetch
from xlhtx.reference.tables import TableError
from xlhtx.reference.tiers import TierTable
from xlhtx.reference.snapshot import snapshot

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "htx"
GOOD = 29915.560916767186   # long 5,000 BTC-USDT at 30,000, 125x, margin = IM


def run_cli(*args):
    return cli.main([str(a) for a in args])


def positions_csv(path, rows, header="contract,side,contracts,entry_price,leverage"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


# ----------------------------------------------------------- silent wrong numbers


def test_a_decimal_comma_is_refused_not_read_as_a_bigger_number(tmp_path, capsys):
    src = positions_csv(tmp_path / "p.csv", ['BTC-USDT,long,5000,"30000,5",125',
                                             "BTC-USDT,long,5000,30000,125"])
    assert run_cli("calc", src, "-o", tmp_path / "o.csv", "--tiers", "legacy") == 0
    out = pacsv.read_csv(tmp_path / "o.csv").to_pylist()
    assert out[0]["liq_price"] is None and "comma" in out[0]["status"]
    assert out[1]["liq_price"] == pytest.approx(GOOD, rel=1e-12)
    with pytest.raises(Exception, match="comma"):
        udfs.HTX_LIQPRICE("BTC-USDT", "long", "1,5", 30000, 125)
    assert udfs.HTX_LIQPRICE("BTC-USDT", "long", "5,000", "30,000", 125, tiers=LEGACY) == \
        pytest.approx(GOOD, rel=1e-12)   # thousands separators are read as such


def test_two_headers_for_one_column_are_refused(tmp_path, capsys):
    src = positions_csv(tmp_path / "p.csv", ["BTC-USDT,long,5000,30000,10,125"],
                        "contract,side,contracts,entry_price,leverage,Leverage")
    assert run_cli("calc", src, "-o", tmp_path / "o.csv") == 1
    err = capsys.readouterr().err
    assert "'leverage' and 'Leverage' both name leverage" in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("field, value", [("adjust_factor", 1.5), ("adjust_factor", 1.0),
                                          ("mmr", 0.99), ("mmr", 0.2)])
def test_a_tier_that_would_liquidate_beyond_entry_is_refused(field, value):
    rows = [["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
             field], ["BTC-USDT", "isolated", 10, 0, 0, None, value]]
    with pytest.raises(TableError, match=field):
        TierTable.from_rows(rows, snapshot().contracts)


def test_roe_needs_a_leverage_and_text_nan_is_no_number():
    for lev in (None, float("nan"), "nan", "NaN", "inf"):
        r = api.roe("BTC-USDT", "long", 5000, 30000, 31000, lev, tiers=LEGACY)
        assert not r.ok[0] and r.messages[0].startswith("#VALUE! leverage"), lev
    r = api.liq_price("BTC-USDT", "long", 5000, 30000, 125, margin="nan", tiers=LEGACY)
    assert not r.ok[0] and "margin = 'nan'" in r.messages[0]


def test_maxopen_refuses_a_leverage_without_a_ladder():
    for lev in (1000, 1e308, 7):
        r = api.max_open("BTC-USDT", 100000, 50000, lev, tiers=LEGACY)["contracts"]
        assert not r.ok[0], lev
    assert "no tier ladder" in api.max_open("BTC-USDT", 100000, 50000, 1000, tiers=LEGACY)["contracts"
                                                                             ].messages[0]
    ok = api.max_open("BTC-USDT", 100000, 50000, 30, tiers=LEGACY)["contracts"]
    assert ok.values[0] == 40500


@pytest.mark.parametrize("arg", ["contracts", "entry_price", "leverage", "margin"])
def test_huge_inputs_are_refused_not_computed_into_inf(arg):
    args = dict(contract="BTC-USDT", side="long", contracts=5000, entry_price=30000,
                leverage=125, margin=None)
    args[arg] = 1e308
    r = api.liq_price(**args, tiers=LEGACY)
    assert not r.ok[0] and r.messages[0].startswith(f"#VALUE! {arg} = 1e+308"), r.messages
    for f in (api.notional("BTC-USDT", 1e14, 1e14, tiers=LEGACY), api.pnl("BTC-USD", "long", 1e14, 1e-14, 1e14, tiers=LEGACY)):
        assert f.ok[0] == np.isfinite(f.values[0]) and not np.isinf(f.values).any()


def test_kernels_check_every_mode_they_index_with():
    from htxcore.liquidation import after_liq_nb, liq_ladder_nb
    from htxcore.maxopen import max_open_nb
    t = snapshot()
    tt, lm = t.compile(), t.ladder_margin.compile(t)
    c = np.array([t.contract_id("BTC-USDT")], dtype=np.int32)
    one = lambda v: np.array([v], dtype=np.float64)  # noqa: E731
    for mode in (2, -1, 127):
        m = np.array([mode], dtype=np.int8)
        s = np.zeros(1, dtype=np.int8)
        out = [np.empty(1) for _ in range(3)]
        after_liq_nb(tt, c, m, np.array([1], np.int8), one(5000), one(30000), one(125),
                     one(np.nan), one(29000), *out, s)
        assert s[0] == st.ERR_MODE
        lad = [np.empty((1, 5)) for _ in range(6)]
        liq_ladder_nb(tt, c, m, np.array([1], np.int8), one(5000), one(30000), one(125),
                      one(np.nan), *lad, np.empty(1, np.int64), s)
        assert s[0] == st.ERR_MODE
        max_open_nb(tt, lm, c, m, one(1e5), one(5e4), one(30), one(np.nan), np.empty(1),
                    np.empty(1), s)
        assert s[0] == st.ERR_MODE


def test_a_header_only_tiers_range_is_refused():
    head = [["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
             "adjust_factor"]]
    with pytest.raises(Exception, match="no ladders"):
        udfs.HTX_LIQPRICE("BTC-USDT", "long", 5000, 30000, 125, None, head)


# ----------------------------------------------------------------------- ways in


def test_outputs_are_inert(tmp_path):
    src = positions_csv(tmp_path / "p.csv", ['"=HYPERLINK(""http://x"",""y"")",long,1,1,1',
                                             '"@SUM(1)",long,1,1,1', '"+1",long,1,1,1',
                                             '"bell\x07",long,1,1,1'])
    assert run_cli("calc", src, "-o", tmp_path / "o.csv") == 0
    text = (tmp_path / "o.csv").read_text()
    for cell in ('"\'=HYPERLINK', '"\'@SUM(1)"', '"\'+1"'):
        assert cell in text
    assert run_cli("calc", src, "-o", tmp_path / "o.xlsx") == 0
    with zipfile.ZipFile(tmp_path / "o.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in strings and "\\x07" in strings


def test_positions_import_output_is_inert(tmp_path):
    payload = {"status": "ok", "data": [{
        "contract_code": "=HYPERLINK(\"http://x\")", "direction": "buy", "volume": 1,
        "cost_open": 1, "lever_rate": 1, "position_margin": 1, "last_price": 1}]}
    src = tmp_path / "p.json"
    src.write_text(json.dumps(payload))
    sizes = tmp_path / "c.csv"
    sizes.write_text('contract_code,contract_size,kind\n"=HYPERLINK(""http://x"")",1,linear\n')
    assert run_cli("positions", "import", src, "--contracts", sizes, "-o", tmp_path / "o.xlsx") == 0
    with zipfile.ZipFile(tmp_path / "o.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def workbook_with(tmp_path, formula, extra_parts=None):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"] = 42
    wb.active["B1"] = formula
    path = tmp_path / "book.xlsx"
    wb.save(path)
    if extra_parts:
        with zipfile.ZipFile(path, "a") as z:
            for name, data in extra_parts.items():
                z.writestr(name, data)
    return path


def test_recalc_refuses_external_links(tmp_path):
    book = workbook_with(tmp_path, "=[1]Sheet1!B1*2")
    with pytest.raises(RecalcError, match="another workbook"):
        recalc(book, tmp_path / "out.xlsx")
    book = workbook_with(tmp_path, "=A1*2", {"xl/externalLinks/externalLink1.xml": "<x/>"})
    with pytest.raises(RecalcError, match="external links"):
        recalc(book, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def rewrite_part(path, name, change):
    parts = {}
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            parts[n] = z.read(n)
    parts[name] = change(parts[name])
    with zipfile.ZipFile(path, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)


PREFIXED = (lambda d: d.replace(b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                                b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"')
            .replace(b"<", b"<x:").replace(b"<x:/", b"</x:").replace(b"<x:?", b"<?"))


@pytest.mark.parametrize("change", [
    PREFIXED,
    lambda d: d.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
], ids=["namespace prefix", "UTF-16"])
def test_recalc_writes_into_sheet_xml_in_any_valid_form(tmp_path, change):
    """A namespace prefix or another encoding is the XML parser's business: the values
    land where they belong."""
    from openpyxl import load_workbook
    book = workbook_with(tmp_path, "=A1*2")
    rewrite_part(book, "xl/worksheets/sheet1.xml", change)
    out = recalc(book, tmp_path / "out.xlsx")
    assert load_workbook(out, data_only=True).active["B1"].value == 2 * 42


def test_recalc_refuses_damaged_sheet_xml(tmp_path):
    book = workbook_with(tmp_path, "=A1*2")
    rewrite_part(book, "xl/worksheets/sheet1.xml", lambda d: d.replace(b"<sheetData", b"<x:sheetData"))
    with pytest.raises(RecalcError, match="damaged"):
        recalc(book, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


class Hostile(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()
        try:
            if self.path.startswith("/endless"):
                while True:
                    self.wfile.write(b"[" * 65536)
            elif self.path.startswith("/trickle"):
                for _ in range(30):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            else:
                self.wfile.write(json.dumps({"status": "error", "err_code": 1,
                                             "err_msg": "bad\x1b[31mred\x07"}).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


@pytest.fixture
def hostile_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_fetch_caps_bytes_and_time_and_cleans_server_text(hostile_server, monkeypatch):
    monkeypatch.setattr(fetch, "MAX_BYTES", 1 << 20)
    with pytest.raises(fetch.FetchError, match="exceeds 1 MiB"):
        fetch.get_json(hostile_server + "/endless", timeout=10, retries=2)
    t0 = time.monotonic()
    with pytest.raises(fetch.FetchError, match="within 1.5 s"):
        fetch.get_json(hostile_server + "/trickle", timeout=1.5, retries=0)
    assert time.monotonic() - t0 < 4
    with pytest.raises(fetch.FetchError) as e:
        fetch.get_json(hostile_server + "/err", retries=0)
    assert "\x1b" not in str(e.value) and "\\x1b[31mred\\x07" in str(e.value)


def test_writes_keep_permissions_and_symlinks(tmp_path):
    book = workbook_with(tmp_path, "=A1*2")
    os.chmod(book, 0o600)
    link = tmp_path / "link.xlsx"
    link.symlink_to(book)
    recalc(link, in_place=True)
    assert link.is_symlink() and stat.S_IMODE(book.stat().st_mode) == 0o600
    from openpyxl import load_workbook
    assert load_workbook(book, data_only=True).active["B1"].value == 84




def test_write_protected_output_is_not_replaced(tmp_path, capsys):
    src = positions_csv(tmp_path / "p.csv", ["BTC-USDT,long,5000,30000,125"])
    out = tmp_path / "o.csv"
    out.write_text("keep me")
    os.chmod(out, 0o444)
    assert run_cli("calc", src, "-o", out) == 1
    assert "write-protected" in capsys.readouterr().err
    assert out.read_text() == "keep me"


# ------------------------------------------------------- crashes and silent no-ops


def test_cross_liq_price_at_a_leverage_without_a_ladder_says_so():
    r = api.cross_liq_price(["BTC-USDT", "ETH-USDT"], ["long", "short"], [5000, 100],
                            [30000, 2000], [30000, 2000], [7, 20], 2000, tiers=LEGACY)
    assert r.messages[0].startswith("#N/A no tier ladder for BTC-USDT cross at 7x")


def bad_files(tmp_path):
    """Each: the command line and a piece of its one-line error."""
    p = tmp_path
    ok = positions_csv(p / "ok.csv", ["BTC-USDT,long,5000,30000,125"])
    (p / "afile").write_text("x")
    (p / "dir.csv").mkdir()
    nest = p / "nest.json"
    nest.write_text(json.dumps({"adjustfactor": {"status": "ok", "data": [
        {"contract_code": "BTC-USDT", "list": {"lever_rate": 5}}]}}))
    lev0 = p / "lev0.json"
    lev0.write_text(json.dumps({"adjustfactor": {"status": "ok", "data": [
        {"contract_code": "BTC-USDT", "list": [{"lever_rate": 0, "ladders": [
            {"ladder": 0, "min_size": 0, "max_size": None, "adjust_factor": 0.5}]}]}]}}))
    latin = p / "latin.json"
    latin.write_bytes('{"source": "caf\xe9"}'.encode("latin-1"))
    utf16 = p / "utf16.json"
    utf16.write_bytes('{"adjustfactor": null}'.encode("utf-16"))
    cjson = p / "x.json"
    cjson.write_text("{}")
    nested_pos = p / "nested.json"
    nested_pos.write_text(json.dumps({"status": "ok", "data": [[1, 2]]}))
    numeric = p / "numeric.json"
    numeric.write_text(json.dumps({"status": "ok", "data": [
        {"contract_code": 42, "direction": "buy", "volume": 1, "cost_open": 1}]}))
    dup = p / "dup.csv"
    dup.write_text("contract,contract,side,contracts,entry_price,leverage\n"
                   "BTC-USDT,BTC-USDT,long,1,1,1\n")
    listy = p / "list.parquet"
    pq.write_table(pa.table({"contract": ["BTC-USDT"], "side": ["long"], "contracts": [[1.0]],
                             "entry_price": [1.0], "leverage": [1.0]}), listy)
    return [
        (("calc", ok, "-o", p / "dir.csv"), "is a folder"),
        (("calc", ok, "-o", p / "afile" / "o.csv"), "is a file"),
        (("calc", ok, "--tiers", nest), "expected a list"),
        (("calc", ok, "--tiers", lev0), "lever_rate = 0"),
        (("calc", ok, "--tiers", latin), "cannot read the tier file"),
        (("calc", ok, "--tiers", utf16), "cannot read the tier file"),
        (("calc", ok, "--contracts", cjson), "unknown table format"),
        (("positions", "import", nested_pos), "is not an object"),
        (("positions", "import", numeric), "no contract_code"),
        (("calc", dup, "-o", p / "o.csv"), "both name contract"),
        (("calc", listy, "-o", p / "o.csv"), "not numbers or text"),
        (("workbook", "build", "-o", p / "dir.csv"), "is a folder"),
        (("demo", "--out", p / "afile"), "is a file"),
        (("recalc", p / "afile"), "not a workbook"),
    ]


def test_bad_files_and_paths_end_in_one_line(tmp_path, capsys):
    for args, message in bad_files(tmp_path):
        capsys.readouterr()
        code = run_cli(*args)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1, (args, err)
        assert err and message in err[-1] and "Traceback" not in "\n".join(err), (args, err)


def test_recalc_with_too_many_formulas_fails_early_naming_the_limit(tmp_path, monkeypatch):
    from xlhtx.xlsx import cells as rc
    from xlhtx.xlsx.package import read_parts
    monkeypatch.setattr(rc, "MAX_FORMULAS", 1)
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"], wb.active["A2"] = "=1+1", "=2+2"
    wb.save(tmp_path / "b.xlsx")
    with pytest.raises(RecalcError, match="2 formulas, more than the 1 headless"):
        recalc(tmp_path / "b.xlsx", tmp_path / "o.xlsx")
    assert rc.count_formulas(read_parts(ROOT / "workbook" / "xlhtx.xlsm")) > 156


def test_a_million_rows_with_an_unknown_contract_stay_small_and_fast():
    import resource
    import time as t
    from xlhtx.tables import metrics
    from xlhtx.coerce import Categorical
    n = 1_000_000
    cols = {"contract": Categorical(np.zeros(n, np.int64), ["NOPE-USDT"]),
            "side": np.ones(n), "contracts": np.ones(n), "entry_price": np.full(n, 3e4),
            "leverage": np.full(n, 10.0), "mark_price": np.full(n, 3e4)}
    t0 = t.perf_counter()
    out = metrics.compute(cols)
    assert t.perf_counter() - t0 < 10
    assert out["status"][0] is out["status"][-1]   # one message object, shared
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 3 * (1 << 20)  # KiB: < 3 GiB


# ------------------------------------------------------------------ kernel fuzzing


FUZZ = r"""
import numpy as np
from htxcore import liquidation, maxopen, position, account, book, insurance
from xlhtx.reference.snapshot import snapshot
t = snapshot(); tt = t.compile(); lm = t.ladder_margin.compile(t)
rng = np.random.default_rng(7)
n = 4000
C = len(t.codes)
contract = rng.integers(-3, C + 3, n).astype(np.int32)
mode = rng.integers(-2, 4, n).astype(np.int8)
side = rng.integers(-2, 3, n).astype(np.int8)
def f(): return rng.choice([np.nan, -1.0, 0.0, 1.0, 7.0, 125.0, 1e4, 1e9, 1e16, np.inf, 0.5], n)
q, e, lev, m, price = f(), f(), f(), f(), f()
o = lambda: np.empty(n); s = lambda: np.empty(n, np.int8)
position.liq_price_nb(tt, contract, mode, side, q, e, lev, m, o(), s())
position.margin_ratio_nb(tt, contract, mode, side, q, e, price, lev, m, o(), o(), s())
position.tier_nb(tt, contract, mode, lev, q, o(), o(), o(), s())
position.maint_margin_nb(tt, contract, mode, q, price, lev, o(), s())
liquidation.after_liq_nb(tt, contract, mode, side, q, e, lev, m, price, o(), o(), o(), s())
liquidation.add_margin_nb(tt, contract, mode, side, q, e, lev, price, m, o(), s())
liquidation.leverage_for_distance_nb(tt, contract, mode, side, q, e, price, o(), o(), s())
L = [np.empty((n, 6)) for _ in range(6)]
liquidation.liq_ladder_nb(tt, contract, mode, side, q, e, lev, m, *L, np.empty(n, np.int64), s())
maxopen.max_open_nb(tt, lm, contract, mode, q, price, lev, m, o(), o(), s())
insurance.insurance_nb(tt, contract, mode, side, q, e, lev, price, m, np.zeros(n), m, o(), o(), o(), s())
out = book.Metrics(*(o() for _ in book.Metrics._fields))
bs = book.MetricStatus(*(s() for _ in book.MetricStatus._fields))
book.metrics_nb(tt, contract, mode, side, q, e, price, lev, m, out, bs)
acc = rng.integers(0, 50, n).astype(np.int64)
account.account_nb(tt, acc, rng.integers(-1, 3, 50).astype(np.int8), rng.choice([np.nan, 0.0, 1e3, np.inf], 50),
                   rng.choice([0.0, 0.5, 1.0], (50, 2)), contract, side, np.abs(q), e, price, lev, f(), f(), o(), o(), o(), o(), s(), s(), o())
print("fuzzed", n)
"""


def test_kernels_under_boundscheck_read_no_index_out_of_range(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", FUZZ], env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "fuzzed 4000" in r.stdout


def test_a_large_tier_table_at_high_leverage_compiles_small():
    from xlhtx.reference.contracts import Contract
    from xlhtx.reference.tiers import Ladder
    n = 20_000
    contracts = {f"C{i}-USDT": Contract(f"C{i}-USDT", "linear", 1.0) for i in range(n)}
    ladders = [Ladder(f"C{i}-USDT", "isolated", 10_000.0 if i == 0 else 20.0, 0, 0, 1e9, 0.5)
               for i in range(n)]
    tt = TierTable(contracts, ladders).validated().compile()
    assert sum(a.nbytes for a in tt) < 50 << 20
    r = api.liq_price(["C0-USDT", "C1-USDT", "C1-USDT"], "long", 10, 100, [10_000, 20, 10_000],
                      tiers=TierTable(contracts, ladders).validated())
    assert r.ok.tolist() == [True, True, False]
    assert r.values[1] == pytest.approx((100 - 100 / 20 / 1) / (1 - 0.5 / 20), rel=1e-12)


def test_recalc_names_a_circular_reference(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A3"], ws["A4"] = 1, "=A4+1", "=A3+A1"
    wb.save(tmp_path / "c.xlsx")
    with pytest.raises(RecalcError, match=r"circular reference: S!A3 -> S!A4 -> S!A3"):
        recalc(tmp_path / "c.xlsx", tmp_path / "o.xlsx")


def test_recalc_does_not_read_a_bare_nan_as_a_number(tmp_path):
    from openpyxl import Workbook, load_workbook
    wb = Workbook()
    wb.active["A1"] = '=HTX_ROE("BTC-USDT","long",5000,30000,31000,nan)'
    wb.save(tmp_path / "n.xlsx")
    out = recalc(tmp_path / "n.xlsx", tmp_path / "o.xlsx")
    v = load_workbook(out, data_only=True).active["A1"].value
    assert isinstance(v, str) and v.startswith("#VALUE! leverage")


def test_no_third_party_progress_bars_leak(tmp_path, capsys):
    assert run_cli("recalc", ROOT / "workbook" / "xlhtx.xlsm", "-o", tmp_path / "v.xlsx",
                   "--values-only") == 0
    err = capsys.readouterr().err
    assert "it/s" not in err and "\r" not in err and "wrote" in err


def test_recalc_refuses_a_workbook_part_elsewhere(tmp_path):
    book = workbook_with(tmp_path, "=A1*2")
    rewrite_part(book, "_rels/.rels", lambda d: d.replace(b"xl/workbook.xml", b"xl/book.xml"))
    with pytest.raises(RecalcError, match="not xl/workbook.xml"):
        recalc(book, tmp_path / "out.xlsx")


def test_recalc_of_far_sparse_cells_stays_small_and_huge_ranges_are_refused(tmp_path):
    """One cell at the last row of 2,000 columns is 2,000 values, not 2 billion slots; a
    formula over the whole sheet is refused naming the range, not attempted."""
    import resource
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    for c in range(1, 2001):
        ws.cell(row=1_048_576, column=c, value=c)
    ws["A1"] = f"=SUM(A1048576:{get_column_letter(2000)}1048576)"
    wb.save(tmp_path / "far.xlsx")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = recalc(tmp_path / "far.xlsx", tmp_path / "o.xlsx")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 << 10   # KiB
    from openpyxl import load_workbook
    assert load_workbook(out, data_only=True)["S"]["A1"].value == 2000 * 2001 / 2
    wb.create_sheet("T")["A1"] = "=SUM(S!A1:XFD1048576)"
    wb.save(tmp_path / "huge.xlsx")
    with pytest.raises(RecalcError, match=r"reads S!A1:BXX1048576, 2,097,152,000 cells, more than"):
        recalc(tmp_path / "huge.xlsx", tmp_path / "o2.xlsx")
