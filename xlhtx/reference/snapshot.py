"""The bundled reference snapshots and tier files written by ``xlhtx tiers fetch``.

Two snapshots ship with xlhtx: ``today`` (the default: USDT-margined swaps on the
risk-limit tiers of HTX's trading system since 2026, coin-margined ones on adjustment
factors) and ``legacy`` (every contract on adjustment-factor ladders, as HTX margined
USDT-M before its migration; the worked examples of HTX's adjustment-factor pages
reproduce on it). A tier argument may name either.
"""

from __future__ import annotations

import json
from importlib import resources

from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.tables import TableError
from xlhtx.reference.tiers import TierTable

SNAPSHOTS = {"today": "data/snapshot.json", "legacy": "data/snapshot-legacy.json"}
_LOADED: dict[str, TierTable] = {}


def load_snapshot_json(doc: dict) -> TierTable:
    """A tier file as written by ``xlhtx tiers fetch`` or a bundled snapshot: HTX's
    ``adjustfactor`` and/or ``risk_limit`` (``/v5/market/risk/limit``) responses, its
    ``contract_info`` and optional ``ladder_margin``."""
    adj, risk = doc.get("adjustfactor"), doc.get("risk_limit")
    if adj is None and risk is None:
        raise TableError("tier file: no 'adjustfactor' or 'risk_limit' entry")
    table = TierTable.from_api(adj, doc.get("contract_info"), source=doc.get("source", ""),
                               as_of=doc.get("as_of", ""), risk_limit=risk)
    if doc.get("ladder_margin") is not None:
        table.ladder_margin = MarginLadders.from_api(doc["ladder_margin"])
    return table


def snapshot_name(name: object) -> str | None:
    """``today`` / ``legacy`` for a text naming a bundled snapshot, else None."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    return key if key in SNAPSHOTS else None


def snapshot(name: str = "today") -> TierTable:
    """A bundled tier snapshot (parsed once per process): ``today`` or ``legacy``."""
    key = snapshot_name(name)
    if key is None:
        raise TableError(f"snapshot {name!r}: the bundled snapshots are "
                         f"{' and '.join(SNAPSHOTS)}")
    if key not in _LOADED:
        raw = resources.files("xlhtx").joinpath(SNAPSHOTS[key]).read_text("utf-8")
        _LOADED[key] = load_snapshot_json(json.loads(raw))
    return _LOADED[key]
