"""The Office.js route: the add-in's files written from the function registry, the
server (`xlhtx serve`) over real HTTPS on loopback with the exact JSON functions.js
sends, and functions.js itself run under Node against that server with Office's objects
stubbed."""

import json
import math
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from lxml import etree

from xlhtx import api
from xlhtx.addins import officejs, server
from xlhtx.excel.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- the add-in's files

def test_the_metadata_is_the_registrys():
    meta = officejs.metadata()["functions"]
    assert [f["id"] for f in meta] == [officejs.short_name(n) for n in FUNCTIONS]
    for f, declared in zip(meta, FUNCTIONS.values()):
        assert f["name"] == f["id"] and f["description"] == declared.summary
        assert f["result"] == {"type": "any", "dimensionality": "matrix"}
        assert [(p["name"], p["description"], p["optional"]) for p in f["parameters"]] == \
            [(a.name, a.help, a.optional) for a in declared.args]
        assert {p["dimensionality"] for p in f["parameters"]} <= {"matrix"}
        optional = [p["optional"] for p in f["parameters"]]
        assert optional == sorted(optional), f["id"]   # Office: optional ones come last


def test_the_manifest_names_the_servers_files_and_the_namespace():
    xml = etree.fromstring(officejs.manifest("https://desk.example:8443").encode())
    bt = "{http://schemas.microsoft.com/office/officeappbasictypes/1.0}"
    urls = {u.get("id"): u.get("DefaultValue") for u in xml.iter(f"{bt}Url")}
    assert urls["Functions.Script.Url"] == "https://desk.example:8443/addin/functions.js"
    assert urls["Functions.Metadata.Url"] == "https://desk.example:8443/addin/functions.json"
    names = {s.get("id"): s.get("DefaultValue") for s in xml.iter(f"{bt}String")}
    assert names["Functions.Namespace"] == "HTX"
    with pytest.raises(Exception, match="HTTPS address"):
        officejs.manifest("http://desk.example:8443")


def test_functions_js_associates_every_function():
    js = officejs.functions_js("https://localhost:8443")
    names = json.loads(js.split("const NAMES = ", 1)[1].split(";\n", 1)[0])
    assert names == {officejs.short_name(n): n for n in FUNCTIONS}
    assert 'const XLHTX_URL = "https://localhost:8443";' in js


# --------------------------------------------------------------------- a real server

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tls, tmp_path_factory):
    """`xlhtx serve` on loopback over HTTPS, as a user starts it."""
    cert, key = tls
    port, token_file = free_port(), tmp_path_factory.mktemp("cfg") / "token"
    proc = subprocess.Popen([sys.executable, "-m", "xlhtx", "serve", "--port", str(port),
                             "--cert", str(cert), "--key", str(key),
                             "--token-file", str(token_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"https://localhost:{port}"
    ctx = ssl.create_default_context(cafile=str(cert))
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/addin/functions.html", context=ctx, timeout=5)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("xlhtx serve did not start: " + proc.stderr.read()[-2000:])
            time.sleep(0.2)
    token = token_file.read_text().strip()
    yield url, token, ctx, cert
    proc.terminate()
    proc.wait(timeout=30)


def post(url, path, body, token, ctx, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}",
        **(headers or {})})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def close(got, want) -> bool:
    return math.isclose(got, float(want), rel_tol=1e-12)


def test_the_server_answers_only_with_the_token(served):
    url, token, ctx, _ = served
    code, body = post(url, "/functions/HTX_NOTIONAL", {"args": [[["BTC-USDT"]], [[1]], [[1]]]},
                      "wrong", ctx)
    assert code == 401 and "token" in body["error"]
    req = urllib.request.Request(f"{url}/status", headers={"Authorization": f"Bearer {token}"})
    status = json.loads(urllib.request.urlopen(req, context=ctx, timeout=30).read())
    assert status["functions"] == len(FUNCTIONS) and status["version"]
    assert status["tiers"].startswith(api.resolve_tiers().as_of)


def test_a_single_cell_and_a_range_as_functions_js_sends_them(served):
    url, token, ctx, _ = served
    one = {"args": [[["BTC-USDT"]], [["long"]], [[300]], [[30000]], [[100]], None, None, None]}
    code, body = post(url, "/functions/HTX_LIQPRICE", one, token, ctx)
    assert code == 200 and close(body["values"][0][0], api.liq_price(
        "BTC-USDT", "long", 300, 30000, 100).values[0])
    many = {"args": [[["BTC-USDT"]], [["long"]], [[5000], [300], [8000]], [[30000]],
                     [[50], [100], [0]], [[""]], [["legacy"]]]}
    code, body = post(url, "/functions/HTX_LIQPRICE", many, token, ctx)
    want = api.liq_price("BTC-USDT", "long", [5000, 300, 8000], 30000, [50, 100, 0],
                         tiers="legacy")
    assert code == 200 and len(body["values"]) == 3
    for row, w, ok, msg in zip(body["values"], want.values, want.ok, want.words()):
        if ok:
            assert close(row[0], w)
        else:   # Excel's error value with the row's message, not a failed call
            assert row[0] == {"error": msg.split(" ", 1)[0], "message": msg.split(" ", 1)[1]}
    assert not want.ok.all()


def test_a_book_crosses_once_then_columns_travel_by_handle(served):
    url, token, ctx, _ = served
    q, lev = [[5000], [300], [1]], [[50], [100], [5]]
    code, body = post(url, "/functions/HTX_BOOK", {"args": [
        [["BTC-USDT"]] * 3, [["long"]] * 3, q, [[30000]] * 3, lev]}, token, ctx)
    handle = body["values"][0][0]
    assert code == 200 and handle.startswith("book ") and handle.endswith(": 3 positions")
    column = {"args": [[[handle]], [["liq_price"]]]}
    assert len(json.dumps(column)) < 100          # what travels per column: the handle
    code, body = post(url, "/functions/HTX_BOOKCOLUMN", column, token, ctx)
    want = api.liq_price("BTC-USDT", "long", [5000, 300, 1], 30000, [50, 100, 5]).values
    assert code == 200 and [close(r[0], w) for r, w in zip(body["values"], want)] == [True] * 3


@pytest.mark.parametrize("path,body,why", [
    ("/functions/HTX_NOSUCH", {"args": []}, "no function 'HTX_NOSUCH'"),
    ("/functions/HTX_NOTIONAL", {"rows": 1}, '{"args": [...]}'),
    ("/functions/HTX_NOTIONAL", {"args": [1, 2, 3, 4, 5]}, "takes 4 arguments; 5 were sent"),
    ("/functions/HTX_NOTIONAL", {"args": [[[{"x": 1}]]]}, "a matrix is rows"),
    ("/functions/HTX_NOTIONAL", b"{not json", "Expecting property name"),
])
def test_a_bad_request_says_what_is_wrong(served, path, body, why):
    url, token, ctx, _ = served
    code, answer = post(url, path, body, token, ctx)
    assert code == 400 and why in answer["error"]


def test_cross_origin_calls_only_from_office(served):
    url, token, ctx, _ = served

    def preflight(origin):
        req = urllib.request.Request(f"{url}/functions/HTX_NOTIONAL", method="OPTIONS", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        try:
            r = urllib.request.urlopen(req, context=ctx, timeout=30)
        except urllib.error.HTTPError as e:
            r = e
        return r.headers.get("access-control-allow-origin")
    assert preflight("https://excel.officeapps.live.com") == "https://excel.officeapps.live.com"
    assert preflight(url) == url
    assert preflight("https://evil.example") is None


def test_the_server_serves_the_add_in_it_is_the_server_of(served):
    url, _, ctx, _ = served
    files = officejs.files(url)
    for name in ("manifest.xml", "functions.js", "functions.json", "icon-32.png"):
        got = urllib.request.urlopen(f"{url}/addin/{name}", context=ctx, timeout=30).read()
        assert got == files[name], name


def test_size_and_time_limits(tls):
    """A body over the limit is refused before it is read whole; a call over the time
    limit answers 504 (the in-process app, with small limits)."""
    import uvicorn
    cert, key = tls
    port = free_port()
    url = f"https://localhost:{port}"
    app = server.make_app(url, "t", max_bytes=2000, timeout_s=1e-6)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                        ssl_certfile=str(cert), ssl_keyfile=str(key)))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    ctx = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.time() + 30
        while not srv.started and time.time() < deadline:
            time.sleep(0.05)
        big = {"args": [[["BTC-USDT"]] * 400]}
        code, body = post(url, "/functions/HTX_NOTIONAL", big, "t", ctx)
        assert code == 413 and "the limit is 2,000" in body["error"]
        code, body = post(url, "/functions/HTX_NOTIONAL",
                          {"args": [[["BTC-USDT"]], [[1]], [[1]]]}, "t", ctx)
        assert code == 504 and "took longer than" in body["error"]
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


# ------------------------------------------------------------- functions.js under Node

def test_functions_js_under_node_returns_the_apis_values(served, tmp_path):
    node = shutil.which("node")
    assert node, "the Office.js tests need Node.js (`make test` expects Debian's nodejs)"
    url, token, _, cert = served
    script = tmp_path / "functions.js"
    script.write_text(officejs.functions_js(url))
    calls = [
        ["LIQPRICE", [["BTC-USDT"]], [["long"]], [[300]], [[30000]], [[100]], None, None, None],
        ["LIQPRICE", [["BTC-USDT"]], [["short"]], [[5000], [300]], [[30000]], [[50], [100]],
         [[""]], [["legacy"]], None],
        ["LIQPRICE", [["BTC-USDT"]], [["sideways"]], [[300]], [[30000]], [[100]]],
        ["MARGINASSET", [["BTC-USD"], ["ETH-USDT"]]],
        ["NOTIONAL", [["BTC-USDT"]], [[1]], [[1]]],
    ]
    run = subprocess.run([node, str(ROOT / "tests" / "officejs_harness.js")],
                         input=json.dumps({"script": str(script), "token": token,
                                           "calls": calls}),
                         capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(cert)})
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert sorted(out["associated"]) == sorted(officejs.short_name(n) for n in FUNCTIONS)
    one, two, bad, assets, _ = out["results"]
    assert close(one["values"][0][0], api.liq_price("BTC-USDT", "long", 300, 30000, 100).values[0])
    want = api.liq_price("BTC-USDT", "short", [5000, 300], 30000, [50, 100], tiers="legacy")
    assert [close(r[0], w) for r, w in zip(two["values"], want.values)] == [True, True]
    assert bad["values"] == [[{"error": "#VALUE!",
                               "message": "side = 'sideways': use long or short (buy/sell, 1/-1)"}]]
    assert assets["values"] == [["BTC"], ["USDT"]]


def test_functions_js_says_when_the_server_is_down(tmp_path):
    node = shutil.which("node")
    script = tmp_path / "functions.js"
    script.write_text(officejs.functions_js(f"https://localhost:{free_port()}"))
    run = subprocess.run([node, str(ROOT / "tests" / "officejs_harness.js")],
                         input=json.dumps({"script": str(script), "token": "t",
                                           "calls": [["NOTIONAL", [["BTC-USDT"]], [[1]], [[1]]]]}),
                         capture_output=True, text=True, timeout=120)
    thrown = json.loads(run.stdout)["results"][0]["thrown"]
    assert thrown["error"] == "#N/A" and "not reachable" in thrown["message"]



json_values = hs.recursive(hs.none() | hs.booleans() | hs.floats(allow_nan=False)
                           | hs.text(max_size=12),
                           lambda inner: hs.lists(inner, max_size=4)
                           | hs.dictionaries(hs.text(max_size=5), inner, max_size=3),
                           max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(hs.sampled_from(sorted(FUNCTIONS)), json_values)
def test_any_json_body_is_refused_with_words_or_computed(name, body):
    """Whatever JSON a client sends, the server either says what is wrong with it or
    computes rows of numbers, texts and error cells: never a traceback."""
    try:
        args = server.check_args(name, {"args": body} if isinstance(body, list) else body)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return
    out = server.compute(name, args)
    assert out and all(isinstance(r, list) for r in out)
    for row in out:
        for v in row:
            assert isinstance(v, (float, str)) or set(v) == {"error", "message"}
            assert not isinstance(v, float) or math.isfinite(v)


def test_the_token_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / "cfg" / "token"
    first = server.load_token(path)
    assert len(first) >= 40 and server.load_token(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_serve_refuses_to_run_without_https_or_off_loopback(capsys):
    from xlhtx import cli
    assert cli.main(["serve", "--port", "1"]) == 1
    assert "give --cert and --key" in capsys.readouterr().err
    assert cli.main(["serve", "--plain-http", "--host", "0.0.0.0"]) == 1
    assert "--plain-http serves loopback only" in capsys.readouterr().err
