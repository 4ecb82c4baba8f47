"""``xlhtx demo``: HTX's worked examples and a sample book, computed by the kernels,
with no network."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

from xlhtx import api
from xlhtx.tables import metrics
from xlhtx.errors import XlhtxError
from xlhtx.tables.samples import sample_csv, sample_positions


def fmt(v: Any, spec: str = ",.2f") -> str:
    if isinstance(v, str):
        return v
    if v is None or v != v:
        return "-"
    return format(v, spec)


def worked_examples(say: Callable[[str], None]) -> None:
    say("HTX's USDT-M system since 2026 (risk-limit tiers, HTX's BTC-USDT example table):")
    for q, lev in ((300, 100), (5000, 50), (5000, 125)):
        tier = api.tier("BTC-USDT", lev, q)
        liq = api.liq_price("BTC-USDT", "long", q, 30000, lev).cell(0)
        where = (f"tier {tier['ladder'].cell(0):.0f}, MMR {tier['mmr'].cell(0):.3%}"
                 if tier["ladder"].ok[0] else "refused")
        say(f"  long {q:>5,} at 30,000, {lev:>3}x ({where}): liquidation {fmt(liq, ',.4f')}")
    say("Legacy rules (adjustment factors; coin-margined today): BTC-USDT, 5,000 contracts "
        "at 30,000, 125x, margin = IM")
    for side in ("long", "short"):
        liq = api.liq_price("BTC-USDT", side, 5000, 30000, 125, tiers="legacy").cell(0)
        bk = api.bankruptcy_price("BTC-USDT", side, 5000, 30000, 125, tiers="legacy").cell(0)
        say(f"  {side:5}  liquidation {fmt(liq, ',.4f')}   bankruptcy {fmt(bk, ',.2f')}")
    say("Tiered liquidation (legacy rules): long 100,000 BTC-USDT at 30,000, 125x, margin 24,000")
    for row in api.liq_ladder("BTC-USDT", "long", 100000, 30000, 125, tiers="legacy").table(0)[1:]:
        step, p, qb, qa, kb, ka, m = row
        after = f"reduce to {qa:,} (ladder {ka})" if qa else "fully liquidated"
        say(f"  step {step}: trigger {p:,.2f}  {qb:,} contracts (ladder {kb}) -> {after}")
    say("Max open under HTX's tiered available margin (legacy rules), BTC-USDT at 50,000:")
    for lev, eq in ((30, 100000), (50, 100000), (100, 100000), (10, 100)):
        r = api.max_open("BTC-USDT", eq, 50000, lev, tiers="legacy")
        say(f"  {lev:>3}x equity {eq:>7,}: available {fmt(r['available'].cell(0), ',.0f')}"
            f" -> {fmt(r['contracts'].cell(0), ',.0f')} contracts")
    say("Max open today (risk-limit tiers cap the size by leverage), BTC-USDT at 50,000, "
        "equity 100,000:")
    for lev in (30, 50, 100):
        r = api.max_open("BTC-USDT", 100000, 50000, lev)
        say(f"  {lev:>3}x -> {fmt(r['contracts'].cell(0), ',.0f')} contracts")


def sample_book(say: Callable[[str], None]) -> None:
    cols = sample_positions()
    out = metrics.compute(cols)
    say(f"Sample book ({len(cols['contract'])} positions, bundled tier snapshot):")
    say(f"  {'contract':10} {'side':5} {'lev':>4} {'contracts':>9} {'entry':>10} {'mark':>10}"
        f" {'tier':>4} {'MMR':>7} {'margin ratio':>12} {'liq price':>12} {'dist':>7}")
    for i in range(len(cols["contract"])):
        liq = out["liq_price"][i]
        say(f"  {cols['contract'][i]:10} {cols['side'][i]:5} {cols['leverage'][i]:>4.0f}"
            f" {cols['contracts'][i]:>9,.0f} {cols['entry_price'][i]:>10,.6g}"
            f" {cols['mark_price'][i]:>10,.6g} {fmt(out['tier'][i], '>4.0f')}"
            f" {fmt(out['mmr'][i], '>7.4%')} {fmt(out['margin_ratio'][i], '>12.2%')}"
            f" {fmt(liq, '>12,.5g') if liq == liq else 'none':>12}"
            f" {fmt(out['distance_to_liq'][i], '>7.2%')}"
            + (f"  ({out['status'][i]})" if out["status"][i] != "ok" else ""))


def bulk(out_dir: Path, say: Callable[[str], None]) -> Path:
    """The sample book through the same path as ``xlhtx calc``: CSV in, CSV out."""
    from xlhtx.tables import formats
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "positions.csv"
    src.write_text(sample_csv())
    table = formats.read_table(src)
    results = metrics.compute(formats.columns(table))
    dst = out_dir / "positions-results.csv"
    formats.write_table(formats.result_table(table, results, api.resolve_tiers(None)), dst)
    liq = np.asarray(results["liq_price"], dtype=float)
    counts = Counter(results["status"])
    say(f"Bulk calc: {src} -> {dst} ({table.num_rows} rows, "
        f"{int(np.isnan(liq).sum())} without a liquidation price; status: "
        + ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) + ")")
    return dst


def workbook(out_dir: Path, say: Callable[[str], None]) -> None:
    """Build the template and recalculate it without Excel."""
    from openpyxl import load_workbook

    from xlhtx.excel.headless import build_template, build_values_copy
    book = build_template(out_dir / "xlhtx.xlsm")
    values = build_values_copy(out_dir / "xlhtx-values.xlsx")
    ws = load_workbook(values, read_only=True)["Positions"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    numeric = [r for r in rows if isinstance(r[18], (int, float))]
    say(f"Workbook: built {book}; recalculated without Excel into {values} "
        f"({len(rows)} positions, {len(numeric)} with a liquidation price; first: "
        f"{numeric[0][0]} {numeric[0][1]} liq {numeric[0][18]:,.4f})")


def run(say: Callable[[str], None] = print, out_dir: Path = Path("xlhtx-demo")) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise XlhtxError(f"{out_dir}: is a file; --out takes a folder for the demo's files")
    worked_examples(say)
    say("")
    sample_book(say)
    say("")
    bulk(out_dir, say)
    workbook(out_dir, say)
    say(f"Done: open {out_dir / 'xlhtx.xlsm'} in Excel with the xlwings add-in, or "
        f"{out_dir / 'xlhtx-values.xlsx'} in any spreadsheet.")
