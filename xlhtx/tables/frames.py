"""DataFrames in and out: ``calc(df)`` for pandas and polars, through Arrow.

The frame becomes an Arrow table (pandas: ``pa.Table.from_pandas``; polars:
``DataFrame.to_arrow``, zero-copy for numeric columns), goes through the same one-pass
table computation as ``xlhtx calc`` (``xlhtx.tables.metrics``), and comes back as the kind of frame
that came in. Column names forgive case, spaces and the workbook's headers
(``Entry price`` is ``entry_price``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from xlhtx.tables import metrics
from xlhtx.tables import formats
from xlhtx.errors import XlhtxError
from xlhtx.tables.sources import load_tiers


def frame_kind(df: Any) -> str:
    """``"pandas"`` or ``"polars"`` (or an error naming what came instead)."""
    mod = type(df).__module__.split(".")[0]
    if mod in ("pandas", "polars") and type(df).__name__ == "DataFrame":
        return mod
    raise XlhtxError(f"calc takes a pandas or polars DataFrame, not {type(df).__name__}")


def to_arrow(df: Any) -> pa.Table:
    if frame_kind(df) == "polars":
        return formats.plain_text(df.to_arrow())
    try:
        return formats.plain_text(pa.Table.from_pandas(df, preserve_index=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # a column mixing numbers and text: each such column as text, so one bad cell
        # is that row's message and not the whole frame's failure
        return pa.table({str(k): _column(df[k]) for k in df.columns})


def _column(series: Any) -> pa.Array:
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if v is None or v != v else str(v) for v in series],
                        type=pa.string())


def from_arrow(table: pa.Table, kind: str) -> Any:
    if kind == "pandas":
        return table.to_pandas()
    import polars as pl
    return pl.from_arrow(table)


def calc(df: Any, tiers: Any = None, contracts: Any = None) -> Any:
    """Every metric of the positions in ``df``, as a frame of the same kind: the input
    columns followed by the results and ``status`` (empty, or why a row has no number).

    ``tiers``: ``None`` (the bundled snapshot), a ``TierTable``, or a tier source path
    (tier file JSON, a CSV/XLSX/Parquet tier table, or a workbook with a Tiers table);
    ``contracts``: a contracts table path.
    """
    kind = frame_kind(df)
    table = to_arrow(df)
    if tiers is None or isinstance(tiers, (str, bytes)) or hasattr(tiers, "__fspath__"):
        tiers = load_tiers(tiers, contracts)
    results = metrics.compute(formats.columns(table), tiers)
    out = from_arrow(formats.result_table(table, results, tiers), kind)
    if kind == "pandas":
        out.index = df.index   # account or position ids stay the frame's index
    return out
