"""What-ifs over one position or a positions table: the margin top-up that moves the
liquidation price to a target, HTX's tiered liquidation ladder, and a price scenario.
The same API functions as the Excel functions (``HTX_ADDMARGIN``, ``HTX_LIQLADDER``,
``HTX_AFTERLIQ``) compute them; these only lay the results out as tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from xlhtx import api
from xlhtx.coerce import Batch, Categorical
from xlhtx.errors import XlhtxError
from xlhtx.tables.formats import column_key
from xlhtx.tables.metrics import position_args, position_columns, row_options


def reference_price(cols: dict[str, Any]) -> np.ndarray:
    """The mark price where a row has one, else its entry."""
    b = Batch(entry=cols["entry_price"], mark=cols.get("mark_price"))
    entry, mark = b.floats("entry"), b.floats("mark", default=np.nan)
    return np.where(np.isfinite(mark) & (mark > 0), mark, entry)


def add_margin(table: pa.Table, tiers: Any, target_price: float | None = None,
               distance: float | None = None) -> pa.Table:
    """Margin to add (negative: removable) per row so that the liquidation price becomes
    ``target_price``, or sits ``distance`` (a fraction) from the mark (entry without one),
    or, with neither, the row's own ``target_liq_price`` column."""
    cols = position_columns(table)
    n = table.num_rows
    if target_price is not None:
        target: Any = np.full(n, float(target_price))
    elif distance is not None:
        if not 0 < distance < 1:
            raise XlhtxError(f"--distance {distance:g}: a fraction from 0 to below 1 "
                             "(0.05 or 5% for 5%)")
        side = Batch(side=cols["side"]).sides().astype(float)
        target = reference_price(cols) * (1 - side * distance)
    elif "target_liq_price" in cols:
        target = cols["target_liq_price"]
    else:
        raise XlhtxError("give --target-price P or --distance D, or a target_liq_price column")
    r = api.add_margin(*position_args(cols), target, **row_options(cols, tiers))
    liq = api.liq_price(*position_args(cols), **row_options(cols, tiers))
    return _append(table, {"liq_price": liq, "target_liq_price": _column(target, n),
                           "margin_to_add": r}, status_of=r)


def ladder(table: pa.Table, tiers: Any) -> pa.Table:
    """HTX's tiered liquidation ladder of every row: one output row per step."""
    cols = position_columns(table)
    lad = api.liq_ladder(*position_args(cols), **row_options(cols, tiers))
    out: dict[str, list] = {k: [] for k in ("position", *api.LADDER_COLUMNS, "status")}
    ok = lad.result.ok
    for i in range(table.num_rows):
        steps = int(lad.n_steps[i])
        if not ok[i]:
            for k in out:
                out[k].append(None)
            out["position"][-1] = i + 1
            out["status"][-1] = lad.result.cell(i) or ""
            continue
        for k in range(steps):
            out["position"].append(i + 1)
            out["step"].append(k + 1)
            for c in api.LADDER_COLUMNS[1:]:
                v = float(lad.columns[c][i, k])
                out[c].append(None if c == "tier_after" and v < 0 else v)
            out["status"].append("fully liquidated" if out["contracts_after"][-1] == 0 else "")
    return with_ids(table, pa.table(out), np.asarray(out["position"], dtype=np.int64) - 1)


# the columns every what-if row already carries, or computes: the others (ids, accounts,
# tags) are the user's, and come along with each output row
POSITION_KEYS = {"contracts", "entry_price", "leverage", "margin", "mark_price",
                 "margin_mode", "target_liq_price", "price", "status"}


def with_ids(table: pa.Table, out: pa.Table, rows: np.ndarray) -> pa.Table:
    """``out`` (rows of ``table``'s positions ``rows``) with the input's contract and id
    columns in front, so every output row says which position it is."""
    import pyarrow.compute as pc
    ids = [c for c in table.column_names if column_key(c) not in POSITION_KEYS
           and column_key(c) not in {column_key(n) for n in out.column_names}]
    if not ids:
        return out
    take = pa.array(rows)
    front = {c: pc.take(table.column(c), take) for c in ids}
    return pa.table({**front, **{c: out.column(c) for c in out.column_names}})


def scenario(table: pa.Table, tiers: Any, points: int = 25, span: float = 3.0) -> pa.Table:
    """Each row over a price grid centred on its liquidation price: from ``span`` times
    its distance to liquidation below to the same above (a position with no liquidation
    price: its mark +-50%). Per price: contracts left after HTX's tiered liquidation,
    margin ratio and equity of what is left (an isolated loss stops at the margin), and
    the PnL that equity means against the margin at the start."""
    if not 3 <= points <= 1000:
        raise XlhtxError(f"--points {points}: from 3 to 1,000")
    if not 0 < span <= 100:
        raise XlhtxError(f"--span {span:g}: a multiple of the distance, above 0 and up to 100")
    cols = position_columns(table)
    n = table.num_rows
    liq = api.liq_price(*position_args(cols), **row_options(cols, tiers))
    ref = reference_price(cols)
    dist = np.abs(ref - liq.values)
    centre = np.where(liq.ok, liq.values, ref)
    half = np.where(liq.ok & (dist > 0), span * dist, 0.5 * ref)
    grid = centre[:, None] + half[:, None] * np.linspace(-1.0, 1.0, points)[None, :]
    lowest = np.where(np.isfinite(ref), ref, 1.0)[:, None] * 1e-6
    grid = np.maximum(grid, lowest)                      # prices stay above 0
    rows = np.repeat(np.arange(n), points)
    pick = lambda v: _rows_of(v, rows, n)  # noqa: E731
    prices = grid.ravel()
    after = api.after_liq(pick(cols["contract"]), pick(cols["side"]), pick(cols["contracts"]),
                          pick(cols["entry_price"]), pick(cols["leverage"]), prices,
                          margin=pick(cols.get("margin")), tiers=tiers, mode=pick(cols.get("margin_mode")))
    start = api.margin_ratio(cols["contract"], cols["side"], cols["contracts"],
                             cols["entry_price"], ref, cols["leverage"], margin=cols.get("margin"),
                             tiers=tiers, mode=cols.get("margin_mode"))["equity"]
    pnl0 = api.pnl(cols["contract"], cols["side"], cols["contracts"], cols["entry_price"],
                   ref, tiers=tiers)
    margin0 = start.values - pnl0.values             # the margin balance the position holds
    equity = after["equity"].values
    result = pa.table({
        "position": rows + 1,
        "price": prices,
        "move_from_mark": prices / np.repeat(ref, points) - 1,
        "liq_price": np.repeat(np.where(liq.ok, liq.values, np.nan), points),
        "contracts_left": after["contracts"].values,
        "margin_ratio": after["margin_ratio"].values,
        "equity": equity,
        "pnl": equity - np.repeat(margin0, points),
        "status": [w or ("fully liquidated" if left == 0 else "") for w, left in
                   zip(after["contracts"].words(), after["contracts"].values.tolist())],
    }).replace_schema_metadata(None)
    return with_ids(table, result, rows)


def _rows_of(v: Any, rows: np.ndarray, n: int) -> Any:
    """Column ``v`` (a list, array or ``Categorical``) repeated per grid row."""
    if v is None:
        return None
    if isinstance(v, Categorical):   # codes repeated, categories shared: no per-row text
        return Categorical(v.codes[rows], v.categories)
    arr = list(v) if not isinstance(v, np.ndarray) else v
    if len(arr) == 1 and n > 1:
        return arr
    return [arr[i] for i in rows.tolist()] if not isinstance(arr, np.ndarray) else arr[rows]


def _column(v: Any, n: int) -> api.Result:
    arr = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
    return api.Result(arr, np.zeros(n, dtype=np.int16))


def _append(table: pa.Table, results: dict[str, api.Result], status_of: api.Result) -> pa.Table:
    arrays = {name: table.column(name) for name in table.column_names}
    keys = {column_key(c): c for c in arrays}
    for name, r in results.items():   # a re-run replaces its own columns where they stand
        arrays[keys.get(column_key(name), name)] = pa.array(
            np.where(r.ok, r.values, np.nan), from_pandas=True)
    arrays[keys.get("status", "status")] = pa.array(status_of.words(), type=pa.string())
    return pa.table(arrays)
