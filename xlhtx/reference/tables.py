"""Reading reference tables given as a header row plus rows (an Excel range, a CSV).

Shared by the tier, contract and margin-ladder parsers so that each states only its
columns. Errors name the table, the row (1 = first data row) and the column.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence
from xlhtx.errors import XlhtxError


class TableError(XlhtxError):
    """A reference table that cannot be used, with a message for a person."""


def norm_header(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_").replace("-", "_")


def records(rows: Iterable[Sequence[Any]], table: str, required: Sequence[str],
            optional: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Header + rows -> a list of dicts keyed by the normalized column names.

    Blank rows (every cell empty) are skipped; unknown columns are ignored.
    """
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in rows]
    if not rows:
        raise TableError(f"{table}: the range is empty; expected a header row with "
                         f"{', '.join(required)}")
    header = [norm_header(h) for h in rows[0]]
    for j, h in enumerate(header):
        if h and h in header[:j]:
            raise TableError(f"{table}: columns {rows[0][header.index(h)]!r} and "
                             f"{rows[0][j]!r} both name {h}; keep one of them")
    missing = [c for c in required if c not in header]
    if missing:
        raise TableError(f"{table}: header row lacks column(s) {', '.join(missing)}; "
                         f"it has {', '.join(h for h in header if h) or 'nothing'}")
    cols = {c: header.index(c) for c in (*required, *optional) if c in header}
    out = []
    for i, row in enumerate(rows[1:], start=1):
        if all(_blank(v) for v in row):
            continue
        rec = {c: (row[j] if j < len(row) else None) for c, j in cols.items()}
        rec["_row"] = i
        out.append(rec)
    return out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def number(rec: dict, col: str, table: str, *, blank: float | None = None,
           minimum: float | None = None) -> float:
    """A finite number from ``rec[col]``; ``blank`` if empty and a default is allowed."""
    v = rec.get(col)
    if _blank(v) or (isinstance(v, str) and v.strip().lower() in ("null", "none", "inf")):
        if blank is not None:
            return blank
        raise TableError(f"{table} row {rec['_row']}: {col} is empty; a number is required")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TableError(f"{table} row {rec['_row']}: {col} = {v!r} is not a number") from None
    if isinstance(v, bool) or not math.isfinite(x):
        raise TableError(f"{table} row {rec['_row']}: {col} = {v!r} is not a finite number")
    if minimum is not None and x < minimum:
        raise TableError(f"{table} row {rec['_row']}: {col} = {v!r} must be >= {minimum:g}")
    return x


def text(rec: dict, col: str, table: str, default: str | None = None) -> str:
    v = rec.get(col)
    if _blank(v):
        if default is not None:
            return default
        raise TableError(f"{table} row {rec['_row']}: {col} is empty")
    return str(v).strip()


def api_data(payload: Any, what: str) -> list:
    """The ``data`` list of an HTX API response (or the list itself), checking ``status``."""
    if isinstance(payload, dict):
        if payload.get("status") == "error":
            raise TableError(f"HTX returned an error for {what}: "
                             f"{payload.get('err_code')} {payload.get('err_msg')}")
        payload = payload.get("data")
    if not isinstance(payload, list):
        raise TableError(f"{what}: expected HTX's response shape "
                         "{'status': 'ok', 'data': [...]}")
    return payload
