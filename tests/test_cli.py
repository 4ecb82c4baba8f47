"""The command line: calc on CSV/Parquet/XLSX with bad rows, tiers fetch
against recorded HTX responses (no network), positions import, --help and errors."""

import json
import math
import threading
import time
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from xlhtx import cli
from xlhtx.reference import fetch
from xlhtx.reference.tiers import ADJUST_FACTOR, RISK_LIMIT
from xlhtx.reference.snapshot import load_snapshot_json

DATA = Path(__file__).parent / "data" / "htx"
GOOD = 29915.560916767186


def recorded(url: str, timeout: float) -> bytes:
    """Replay HTX's recorded answers by endpoint (v5 risk limits: HTX's documented
    BTC-USDT cross example)."""
    if "/v5/market/risk/limit" in url:
        return (DATA.parent / "htx-v5" / "market-risk-limit-btc-usdt.json").read_bytes()
    kind = "linear" if "/linear-swap-api/" in url else "inverse"
    name = url.split("?")[0].rsplit("/", 1)[-1]
    return (DATA / f"{kind}_{name}.json").read_bytes()


def write_positions(path: Path):
    table = pa.table({
        "contract": ["BTC-USDT", "BTC-USDT", "NOPE", "BTC-USDT", None],
        "side": ["long", "short", "long", "long", "long"],
        "contracts": [5000.0, 5000.0, 1.0, -3.0, None],
        "entry_price": [30000.0] * 5,
        "leverage": [125.0, 125.0, 10.0, 10.0, None],
        "mark_price": [29950.0, 30050.0, 1.0, 1.0, None],
    })
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    elif path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        from openpyxl import Workbook
        wb = Workbook()
        ws = wb.active
        ws.append(table.column_names)
        for row in zip(*(c.to_pylist() for c in table.columns)):
            ws.append(list(row))
        wb.save(path)


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx"])
def test_calc_each_format_keeps_bad_rows_apart(tmp_path, ext):
    src = tmp_path / f"pos{ext}"
    write_positions(src)
    out = tmp_path / f"out{ext}"
    assert cli.main(["calc", "--tiers", "legacy", str(src), "-o", str(out)]) == 0
    if ext == ".csv":
        t = pacsv.read_csv(out)
    elif ext == ".parquet":
        t = pq.read_table(out)
    else:
        from openpyxl import load_workbook
        rows = list(load_workbook(out).active.iter_rows(values_only=True))
        t = pa.table({h: [r[j] for r in rows[1:]] for j, h in enumerate(rows[0])})
    d = t.to_pydict()
    assert d["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert d["bankruptcy_price"][1] == pytest.approx(30240)
    assert d["pnl"][0] == pytest.approx(-250)
    assert d["margin_ratio"][0] == pytest.approx(0.0052 * 149750 / 950, rel=1e-12)
    assert d["status"][0] == "warning"   # margin ratio 82%
    assert d["status"][2].startswith("error: contract 'NOPE'")
    assert d["status"][3].startswith("error: contracts = -3")
    assert d["liq_price"][3] is None or math.isnan(d["liq_price"][3])
    assert d["status"][4].startswith("error: contract is empty")
    assert t.column_names[:6] == ["contract", "side", "contracts", "entry_price", "leverage",
                                  "mark_price"]


def test_calc_refuses_to_overwrite_its_input_and_names_missing_columns(tmp_path, capsys):
    src = tmp_path / "p.csv"
    write_positions(src)
    assert cli.main(["calc", "--tiers", "legacy", str(src), "-o", str(src)]) == 1
    assert "would overwrite the input" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("contract,side\nBTC-USDT,long\n")
    assert cli.main(["calc", "--tiers", "legacy", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == "xlhtx: positions: missing column(s) contracts, entry_price, leverage; " \
                  "required: contract, side, contracts, entry_price, leverage"


def test_fetch_builds_a_tier_file_from_recorded_responses(tmp_path):
    doc = fetch.fetch_tables(get=recorded, sleep=lambda s: None)
    t = load_snapshot_json(doc)
    assert set(t.codes) == {"BTC-USDT", "BTC-USD"}
    assert t.contract("BTC-USD").kind == "inverse" and t.contract("BTC-USDT").size == 0.001
    # USDT-M from /v5/market/risk/limit (risk-limit tiers), coin-M from adjustment factors
    assert t.systems == {"BTC-USDT": RISK_LIMIT, "BTC-USD": ADJUST_FACTOR}
    from xlhtx import api
    assert api.liq_price("BTC-USDT", "long", 300, 30000, 100, tiers=t, mode="cross").values[0] \
        == pytest.approx((30000 - 300) / (1 - 0.00385), rel=1e-12)
    assert api.tier("BTC-USDT", 20, 9000, mode="cross", tiers=t)["mmr"].values[0] == 0.02
    assert api.max_open("BTC-USDT", 150000, 50000, 20, tiers=t, mode="cross")[
        "contracts"].values[0] == 60000
    # HTX's example table is cross only: an isolated position is refused by name
    iso = api.liq_price("BTC-USDT", "long", 300, 30000, 100, tiers=t)
    assert iso.messages[0] == ("#N/A no isolated risk-limit tiers for BTC-USDT in the tier "
                               "table (it has cross)")


def test_fetch_one_coin_margined_contract_asks_only_the_coin_api():
    urls = []
    doc = fetch.fetch_tables("BTC-USD", get=lambda u, t: urls.append(u) or recorded(u, t))
    assert all("/swap-api/" in u and u.endswith("?contract_code=BTC-USD") for u in urls)
    assert doc["adjustfactor"]["data"][0]["contract_code"] == "BTC-USD"


def test_htx_error_payload_is_one_clear_error():
    err = (DATA / "error_invalid_contract.json").read_bytes()
    with pytest.raises(fetch.FetchError, match="HTX answered with an error for "
                       r"/v5/market/risk/limit\?contract_code=X-USDT: 1014 "
                       "This contract doesnt exist."):
        fetch.fetch_tables("X-USDT", get=lambda u, t: err)
    # the v5 envelope: a code other than 200 with its message
    v5 = b'{"code": 1010, "message": "Account does not exist", "data": null}'
    with pytest.raises(fetch.FetchError, match=r"error for /v5/market/risk/limit: 1010 "
                       "Account does not exist"):
        fetch.fetch_tables(get=lambda u, t: v5)


def test_offline_retries_with_backoff_then_says_so():
    calls, sleeps = [], []

    def offline(url, timeout):
        calls.append(timeout)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    with pytest.raises(fetch.FetchError, match=r"no connection .* \(after 4 attempts\); "
                       "offline\\? The bundled snapshot keeps working"):
        fetch.get_json("https://api.hbdm.com/x", get=offline, timeout=2.5, retries=3,
                       sleep=sleeps.append)
    assert calls == [2.5] * 4 and sleeps == [0.5, 1.0, 2.0]


class SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        self.send_response(500 if self.path.startswith("/fail") else 200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok", "data": []}')

    def log_message(self, *a):
        pass


@pytest.fixture
def local_server():
    srv = HTTPServer(("127.0.0.1", 0), SlowHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_real_http_path_times_out_and_reports_http_errors(local_server):
    assert fetch.get_json(local_server + "/ok") == {"status": "ok", "data": []}
    t0 = time.perf_counter()
    with pytest.raises(fetch.FetchError, match="no complete answer within 0.2 s"):
        fetch.get_json(local_server + "/slow", timeout=0.2, retries=1, sleep=lambda s: None)
    assert time.perf_counter() - t0 < 3
    with pytest.raises(fetch.FetchError, match="HTTP 500"):
        fetch.get_json(local_server + "/fail", retries=1, sleep=lambda s: None)


def test_tiers_fetch_command_writes_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "urllib_get", recorded)
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    out = tmp_path / "tiers.json"
    assert cli.main(["tiers", "fetch", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["source"].startswith("HTX public API") and doc["as_of"]
    assert "wrote" in capsys.readouterr().err
    # and calc uses it
    src = tmp_path / "p.csv"
    write_positions(src)
    assert cli.main(["calc", str(src), "--tiers", str(out), "-o", str(tmp_path / "r.csv")]) == 0


def test_tiers_fetch_offline_exits_1_with_one_line(monkeypatch, capsys, tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("no route")
    monkeypatch.setattr(fetch, "urllib_get", offline)
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    assert cli.main(["tiers", "fetch", "-o", str(tmp_path / "t.json")]) == 1
    err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("xlhtx:")]
    assert len(err) == 1 and "no connection (no route)" in err[0]
    assert not (tmp_path / "t.json").exists()


def test_positions_import_compares_with_htx(tmp_path):
    """A positions file with the account file of the same moment (margin_static = the
    position's margin, no adjust_factor: the tier table's)."""
    src = json.loads((DATA / "swap_position_info.json").read_text())
    pos = tmp_path / "pos.json"
    pos.write_text(json.dumps(dict(src, data=src["data"][:1], ts=1)))
    acc = tmp_path / "acc.json"
    acc.write_text(json.dumps({"status": "ok", "ts": 1, "data": [{
        "symbol": "BTC", "contract_code": "BTC-USDT", "margin_mode": "isolated",
        "margin_account": "BTC-USDT", "margin_static": 1200, "margin_balance": 950,
        "margin_frozen": 0, "risk_rate": None, "liquidation_price": 29915.56,
        "lever_rate": 125}]}))
    out = tmp_path / "pos.csv"
    assert cli.main(["positions", "import", str(pos), str(acc), "-o", str(out),
                     "--tiers", "legacy"]) == 0
    d = pacsv.read_csv(out).to_pydict()
    assert d["side"] == ["long"]
    assert d["liq_price"][0] == pytest.approx(GOOD, rel=1e-12)
    assert d["liq_price_diff"][0] == pytest.approx(GOOD - 29915.56, abs=1e-9)


def test_positions_import_account_shape_prints_csv(capsys):
    assert cli.main(["positions", "import", str(DATA / "swap_account_position_info.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('"margin_account","margin_mode","contract","side"')
    assert len(out) == 2 and "28650" in out[1]


def test_positions_import_bad_file(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    assert cli.main(["positions", "import", str(bad)]) == 1
    assert "cannot read it as JSON" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["calc"], ["tiers", "fetch"], ["positions", "import"],
                                  ["demo"], ["version"]])
def test_every_command_has_help_with_an_example(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv + ["--help"])
    assert e.value.code == 0
    assert "example:\n  xlhtx " + argv[0] in capsys.readouterr().out


def test_demo_runs_end_to_end(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "liquidation 29,915.5609" in out and "trigger 28,159.69" in out
    assert (tmp_path / "positions-results.csv").exists()
    # the sample book: one long at 1x has no liquidation price, two are at >= 80%
    assert "(12 rows, 1 without a liquidation price; status: 1 no liquidation, 9 ok, " \
        "2 warning)" in out
    assert "recalculated without Excel" in out and "liq 29,847.7157" in out
    assert "tier 1, MMR 0.385%): liquidation 29,814.7869" in out   # today's USDT-M system
    from openpyxl import load_workbook
    ws = load_workbook(tmp_path / "xlhtx-values.xlsx")["Positions"]
    assert ws["S2"].value == pytest.approx((30000 - 600) / (1 - 0.015), rel=1e-12)


def test_calc_with_a_contracts_table_overrides_sizes(tmp_path):
    src = tmp_path / "p.csv"
    write_positions(src)
    sizes = tmp_path / "contracts.csv"
    sizes.write_text("contract_code,contract_size\nBTC-USDT,0.01\n")
    out = tmp_path / "r.csv"
    assert cli.main(["calc", "--tiers", "legacy", str(src), "--contracts", str(sizes), "-o", str(out)]) == 0
    d = pacsv.read_csv(out).to_pydict()
    assert d["notional"][0] == pytest.approx(5000 * 0.01 * 29950)
    assert d["initial_margin"][0] == pytest.approx(12000)
