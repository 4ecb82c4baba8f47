"""The bundled reference snapshot and tier files written by ``xlhtx tiers fetch``."""

from __future__ import annotations

import json
from importlib import resources

from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.tables import TableError
from xlhtx.reference.tiers import TierTable



_SNAPSHOT: TierTable | None = None


def load_snapshot_json(doc: dict) -> TierTable:
    """A tier file as written by ``xlhtx tiers fetch`` or the bundled snapshot."""
    adj = doc.get("adjustfactor")
    if adj is None:
        raise TableError("tier file: no 'adjustfactor' entry")
    table = TierTable.from_api(adj, doc.get("contract_info"), source=doc.get("source", ""),
                               as_of=doc.get("as_of", ""))
    if doc.get("ladder_margin") is not None:
        table.ladder_margin = MarginLadders.from_api(doc["ladder_margin"])
    return table


def snapshot() -> TierTable:
    """The bundled tier snapshot (parsed once per process)."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        raw = resources.files("xlhtx").joinpath("data/snapshot.json").read_text("utf-8")
        _SNAPSHOT = load_snapshot_json(json.loads(raw))
    return _SNAPSHOT
