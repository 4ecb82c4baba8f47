"""``xlhtx serve``: the HTTPS server the Office.js add-in calls.

One POST per function call: ``/functions/HTX_LIQPRICE`` with ``{"args": [...]}``, each
argument a matrix (rows of values, as Excel passes a custom function's matrix argument)
or null when left out; the answer is ``{"values": rows}``, a row that cannot be
computed holding ``{"error": "#VALUE!", "message": "..."}``, which functions.js turns
into Excel's error value with its message. The same Excel functions as xlwings' compute
it, off the event loop, within a size and a time limit. Every call carries the token
(``Authorization: Bearer ...``): there is no open endpoint. Cross-origin calls are
allowed only from the server's own address and Office's. The add-in's files are served
under ``/addin/``.
"""


import asyncio
import hmac
import json
import os
import secrets
from itertools import chain
from pathlib import Path
from typing import Any

from xlhtx.addins import officejs
from xlhtx.addins.rows import called
from xlhtx.errors import XlhtxError
from xlhtx.excel.registry import FUNCTIONS
from xlhtx.statuses import excel_error
from xlhtx.version import __version__

# the origins Office runs add-ins and their pages from (Excel on the web, Office hosts)
OFFICE_ORIGINS = (r"https://([a-z0-9-]+\.)*(officeapps\.live\.com|office\.com|office\.net|"
                  r"office365\.com|sharepoint\.com|microsoft\.com)")
MAX_BYTES = 64 * 1024 * 1024    # a request's body: 100,000 rows of a book are ~10 MB
TIMEOUT_S = 120.0               # one call's computing time
SCALARS = {str, int, float, bool, type(None)}
TYPES = {".xml": "application/xml", ".json": "application/json",
         ".js": "text/javascript", ".html": "text/html; charset=utf-8", ".png": "image/png"}


def token_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xlhtx" / "serve-token"


def load_token(path: str | Path | None = None) -> str:
    """The server's token: read from ``path`` (default ~/.config/xlhtx/serve-token), or
    made and saved there, readable by its owner only."""
    path = Path(path) if path else token_path()
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    except OSError as e:
        raise XlhtxError(f"{path}: cannot read the token: {e.strerror or e}") from None
    if text:
        return text
    text = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return text


def error_cell(v: Any) -> Any:
    """A message a row shows (``#VALUE! ...``) as an error cell for functions.js."""
    if isinstance(v, str):
        code, words = excel_error(v)
        if code:
            return {"error": code, "message": words}
    return v


def check_args(name: str, body: Any) -> list:
    """The request's arguments, each None, a value or rows of values; else why not."""
    if name not in FUNCTIONS:
        raise ValueError(f"no function {name!r}: the functions are {', '.join(FUNCTIONS)}")
    if not isinstance(body, dict) or not isinstance(body.get("args"), list):
        raise ValueError('the body is {"args": [...]}: one entry per argument')
    args, n = body["args"], len(FUNCTIONS[name].args)
    if len(args) > n:
        raise ValueError(f"{name} takes {n} arguments; {len(args)} were sent")
    for k, a in enumerate(args):
        if isinstance(a, list):   # types gathered at C speed: a column can be 1e5 rows
            if not (set(map(type, a)) <= {list} and
                    set(map(type, chain.from_iterable(a))) <= SCALARS):
                raise ValueError(f"argument {k + 1} ({FUNCTIONS[name].args[k].name}): a "
                                 "matrix is rows of numbers, texts or nulls")
        elif type(a) not in SCALARS:
            raise ValueError(f"argument {k + 1}: a value, a matrix or null")
    return [a if a is None or isinstance(a, list) else [[a]] for a in args]


def compute(name: str, args: list) -> list:
    """The function's rows, error cells marked (only texts can be one)."""
    rows = called(name, args)
    if str not in set(map(type, chain.from_iterable(rows))):
        return rows
    return [[error_cell(v) for v in row] for row in rows]


def make_app(url: str, token: str, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S):
    """The ASGI application (FastAPI) for the server reached at ``url``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    from starlette.middleware.cors import CORSMiddleware

    base = officejs.base_url(url)
    addin = officejs.files(url)
    app = FastAPI(title="xlhtx", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=[base], allow_origin_regex=OFFICE_ORIGINS,
                       allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type"])

    def refused(status: int, message: str, code: str = "#VALUE!") -> JSONResponse:
        return JSONResponse({"error": message, "code": code}, status_code=status)

    def unauthorized(request: Request) -> JSONResponse | None:
        """The refusal of a request without the token, None for one with it."""
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        return refused(401, "wrong or missing token: paste the token `xlhtx serve` printed "
                            "into the add-in's task pane")

    @app.get("/addin/{name}")
    async def addin_file(name: str) -> Response:
        if name not in addin:
            return refused(404, f"no add-in file {name!r}")
        return Response(addin[name], media_type=TYPES[Path(name).suffix])

    @app.get("/status")
    async def status(request: Request) -> JSONResponse:
        if (no := unauthorized(request)) is not None:
            return no
        from xlhtx.reference.snapshot import snapshot
        s = snapshot()
        return JSONResponse({"version": __version__, "functions": len(FUNCTIONS),
                             "tiers": f"{s.as_of}: {s.source}"[:500]})

    @app.post("/functions/{name}")
    async def function(name: str, request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return refused(413, f"request of {int(declared):,} bytes; the limit is "
                                f"{max_bytes:,}: pass the tier table by its HTX_TIERSET handle "
                                "or split the range")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > max_bytes:
                return refused(413, f"request over {max_bytes:,} bytes")
        try:
            args = check_args(name, json.loads(data or b"null"))
        except (ValueError, UnicodeDecodeError) as e:
            return refused(400, str(e))
        try:
            values = await asyncio.wait_for(asyncio.to_thread(compute, name, args), timeout_s)
        except asyncio.TimeoutError:
            return refused(504, f"{name} took longer than {timeout_s:g} s", "#N/A")
        return Response(json.dumps({"values": values}, allow_nan=False),
                        media_type="application/json")

    return app


def serve(host: str, port: int, cert: str | None, key: str | None, url: str | None = None,
          token_file: str | None = None, plain_http: bool = False,
          say: Any = print) -> None:
    """Run the server until interrupted."""
    import uvicorn
    if plain_http:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise XlhtxError("--plain-http serves loopback only (Office needs HTTPS)")
    elif not (cert and key):
        raise XlhtxError("give --cert and --key (a certificate the browser or Office trusts: "
                         "`mkcert localhost` makes one; docs/frontends.md), or --plain-http "
                         "for a loopback test without Office")
    for f in (cert, key):
        if f and not Path(f).is_file():
            raise XlhtxError(f"{f}: no such file")
    url = url or f"https://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}"
    token = load_token(token_file)
    say(f"xlhtx serve: {url} (add-in: {url}/addin/manifest.xml); token: {token}")
    uvicorn.run(make_app(url, token), host=host, port=port,
                ssl_certfile=None if plain_http else cert,
                ssl_keyfile=None if plain_http else key, log_level="warning")
