"""Fetching tier, contract and margin-ladder tables from HTX's public REST API.

Endpoints (HTX API reference): USDT-margined swaps are on HTX's trading system of 2026,
whose tiers are ``GET /v5/market/risk/limit`` (risk-limit tiers; "Get Futures Risk
Limit"), with contract sizes from ``/linear-swap-api/v1/swap_contract_info``;
coin-margined ``/swap-api/v1/swap_adjustfactor`` and ``swap_contract_info`` (adjustment
factors). The legacy USDT-M ``swap_adjustfactor`` / ``swap_ladder_margin`` endpoints are
discontinued by HTX (after 2026-07-13) and no longer asked. Every request has a timeout
and is retried with exponential backoff; offline, HTTP errors and HTX error payloads
(``"status": "error"``, ``err_code``, ``err_msg``; v5: ``code`` other than 200 with its
``message``) end in one clear ``FetchError``.

The transport is a function ``get(url, timeout) -> bytes`` so tests replay recorded
responses and never touch the network.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

from xlhtx.version import __version__
from xlhtx.reference.contracts import infer_kind
from xlhtx.console import printable
from xlhtx.errors import XlhtxError
from xlhtx.files import JsonError, parse_json

DEFAULT_BASE = "https://api.hbdm.com"
LINEAR = "/linear-swap-api/v1/"
INVERSE = "/swap-api/v1/"
RISK_LIMIT = "/v5/market/risk/limit"

Transport = Callable[[str, float], bytes]


class FetchError(XlhtxError):
    """The tables could not be fetched; the message says why."""


MAX_BYTES = 16 << 20   # an answer larger than this is not one of HTX's tables
MAX_TOTAL = 32 << 20   # all the answers of one fetch together
MAX_BACKOFF = 8.0      # seconds between retries at most: a fetch gives up in minutes


def urllib_get(url: str, timeout: float) -> bytes:
    """GET ``url``: the whole request (connect, headers, body) within ``timeout`` seconds
    and at most ``MAX_BYTES``; a server that trickles or never ends is cut off."""
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(url, headers={"User-Agent": f"xlhtx/{__version__}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise ResponseTooLarge(f"the answer declares {int(declared) >> 20} MiB")
        chunks, size = [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete answer within {timeout:g} s")
            sock = getattr(getattr(getattr(r, "fp", None), "raw", None), "_sock", None)
            if sock is not None:
                sock.settimeout(left)
            chunk = r.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_BYTES:
                raise ResponseTooLarge(f"the answer exceeds {MAX_BYTES >> 20} MiB")
            chunks.append(chunk)


class ResponseTooLarge(OSError):
    """An answer over the byte cap: not retried."""


def get_json(url: str, *, get: Transport | None = None, timeout: float = 10.0,
             retries: int = 3, backoff: float = 0.5, sleep: Callable | None = None) -> Any:
    """GET ``url`` and decode HTX's JSON envelope, with retries for passing failures."""
    get = get or urllib_get
    sleep = sleep or time.sleep
    last = ""
    for attempt in range(retries + 1):
        try:
            payload = parse_json(get(url, timeout), _short(url))
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code} {e.reason}"
            if e.code < 500 and e.code != 429:
                break  # a client error does not get better by asking again
        except ResponseTooLarge as e:
            last = f"refused: {e}"
            break
        except (socket.timeout, TimeoutError):
            last = f"no complete answer within {timeout:g} s"
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            last = f"no connection ({reason})"
        except JsonError as e:
            last = f"the answer was not usable JSON ({str(e).split(': ', 1)[-1]})"
            break
        else:
            if isinstance(payload, dict) and payload.get("status") == "error":
                raise FetchError(f"HTX answered with an error for {_short(url)}: "
                                 f"{printable(payload.get('err_code'), 40)} "
                                 f"{printable(payload.get('err_msg'), 300)}")
            if isinstance(payload, dict) and payload.get("code") not in (None, 200, "200"):
                raise FetchError(f"HTX answered with an error for {_short(url)}: "
                                 f"{printable(payload.get('code'), 40)} "
                                 f"{printable(payload.get('message'), 300)}")
            return payload
        if attempt < retries:
            sleep(min(backoff * 2 ** attempt, MAX_BACKOFF))
    raise FetchError(f"could not fetch {_short(url)}: {last} (after {attempt + 1} "
                     f"attempt{'s' if attempt else ''}); offline? The bundled snapshot "
                     "keeps working without the network")


def _short(url: str) -> str:
    p = urllib.parse.urlsplit(url)
    return p.path + (f"?{p.query}" if p.query else "")


def fetch_tables(contract: str | None = None, *, base: str = DEFAULT_BASE,
                 get: Transport | None = None, timeout: float = 10.0, retries: int = 3,
                 sleep: Callable | None = None, progress: Callable[[str], None] = lambda s: None
                 ) -> dict:
    """All tables as a tier-file document (the bundled snapshot's shape)."""
    query = f"?contract_code={urllib.parse.quote(contract.upper())}" if contract else ""
    kind = infer_kind(contract) if contract else None   # None: both kinds
    got = [0]
    transport = get or urllib_get

    def counted(url: str, t: float) -> bytes:
        body = transport(url, t)
        got[0] += len(body)
        if got[0] > MAX_TOTAL:
            raise ResponseTooLarge(f"the answers together exceed {MAX_TOTAL >> 20} MiB")
        return body

    def one(path: str) -> list:
        progress(f"fetching {path}{query}")
        doc = get_json(base.rstrip("/") + path + query, get=counted, timeout=timeout,
                       retries=retries, sleep=sleep)
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise FetchError(f"{path}: unexpected answer (no data list)")
        return data

    adj, info, ladders, risk = [], [], [], []
    if kind in (None, "linear"):
        risk += one(RISK_LIMIT)
        info += one(LINEAR + "swap_contract_info")
    if kind in (None, "inverse"):
        adj += [dict(x, margin_mode="isolated") for x in one(INVERSE + "swap_adjustfactor")]
        info += [dict(x, kind="inverse") for x in one(INVERSE + "swap_contract_info")]
    if not adj and not risk:
        raise FetchError(f"HTX has no tiers for {contract or 'any contract'}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {"source": f"HTX public API {base} (USDT-M: {RISK_LIMIT} risk-limit tiers; "
                      "coin-M: swap_adjustfactor; swap_contract_info)",
            "as_of": stamp,
            "contract_info": {"status": "ok", "data": info},
            "risk_limit": {"code": 200, "data": risk},
            "adjustfactor": {"status": "ok", "data": adj},
            "ladder_margin": {"status": "ok", "data": ladders}}
