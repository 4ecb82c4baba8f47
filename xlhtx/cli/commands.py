"""The ``xlhtx`` command line. Every command has ``--help`` with an example; errors end
with one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from xlhtx.version import __version__
from xlhtx.console import printable, progress, say
from xlhtx.errors import XlhtxError
from xlhtx.files import JsonError, parse_json, read_from
from xlhtx.tables.sources import load_tiers
from xlhtx.statuses import EMPTY


TIERS_HELP = ("tier source: a tier file (.json from `xlhtx tiers fetch`), a tier table "
              "(.csv/.parquet with the Tiers sheet's columns) or a workbook with a Tiers "
              "table (.xlsx/.xlsm); default: the bundled snapshot")

# a failure to report as one line, exit status 1: every library error is one
CliError = XlhtxError


def _parser(sub, name: str, help: str, example: str, func: Callable) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xlhtx", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="HTX futures margin, tier and liquidation maths: Excel add-in and "
                    "headless bulk tools.",
        epilog="examples:\n  xlhtx demo\n  xlhtx calc positions.csv -o results.parquet\n"
               "  xlhtx scenario --contract BTC-USDT --side long --contracts 5000 --entry 30000 "
               "--leverage 125\n"
               "  xlhtx tiers fetch -o tiers.json\n  xlhtx workbook build -o xlhtx.xlsm\n"
               "  xlhtx recalc book.xlsm -o book-values.xlsx")
    p.add_argument("--version", action="version", version=f"xlhtx {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    _parser(sub, "demo", "run the end-to-end demo on built-in sample data (no network)",
            "xlhtx demo --out demo-output", cmd_demo).add_argument(
        "--out", default="xlhtx-demo", help="folder for the demo's files (default: %(default)s)")

    c = _parser(sub, "calc", "compute a positions table (CSV, XLSX or Parquet) into results",
                "xlhtx calc positions.csv -o results.csv --tiers tiers.json", cmd_calc)
    c.add_argument("positions", help="input table: columns contract, side, contracts, "
                   "entry_price, leverage; optional margin, mark_price, margin_mode")
    c.add_argument("-o", "--output", help="output table (by extension); default: "
                   "POSITIONS-results with the same extension")
    c.add_argument("--sheet", help="sheet of an XLSX/XLSM input (default: Positions, else "
                   "the first)")
    c.add_argument("--tiers", help=TIERS_HELP)
    c.add_argument("--contracts", help="contracts table (contract_code, contract_size[, kind])")
    c.add_argument("--accounts", help="cross accounts' balances before unrealized PnL: a "
                   "table (CSV, XLSX, Parquet) with columns account, balance; cross rows are "
                   "computed as their account (column account or margin_account)")
    engine_options(c)

    t = sub.add_parser("tiers", help="tier tables: fetch from HTX")
    tsub = t.add_subparsers(dest="tiers_command", metavar="ACTION")
    f = _parser(tsub, "fetch", "download tier tables and contract sizes from HTX's public "
                "API: risk-limit tiers for USDT-M (/v5/market/risk/limit), adjustment "
                "factors for coin-M", "xlhtx tiers fetch --contract BTC-USDT "
                "-o tiers.json", cmd_tiers_fetch)
    f.add_argument("--contract", help="one contract code (default: all)")
    dest = f.add_mutually_exclusive_group(required=True)
    dest.add_argument("-o", "--output", help="tier file to write (JSON)")
    dest.add_argument("--workbook", help="workbook whose Tiers/Contracts/MarginLadders "
                      "sheets to replace")
    f.add_argument("--base-url", default=None, help="API base URL (default: HTX's)")
    f.add_argument("--timeout", type=timeout_arg, default=10.0,
                   help="seconds per request (0 < T <= 300)")
    f.add_argument("--retries", type=retries_arg, default=3,
                   help="retries per request (0 to 10)")

    pos = sub.add_parser("positions", help="positions: import from HTX responses")
    psub = pos.add_subparsers(dest="positions_command", metavar="ACTION")
    i = _parser(psub, "import", "turn HTX account or position responses (JSON) into a "
                "positions table with our liquidation price, margin ratio and risk rate "
                "beside HTX's",
                "xlhtx positions import swap_account_position_info.json -o positions.csv\n"
                "  xlhtx positions import positions.json balance.json -o positions.csv",
                cmd_positions_import)
    i.add_argument("file", nargs="+", help="JSON saved from HTX. USDT-M today (v5): "
                   "/v5/trade/position/opens or the 'positions' push, with /v5/account/balance "
                   "or the 'account' push of the same moment. Legacy (v1): "
                   "swap_account_position_info, swap_cross_account_position_info, "
                   "contract_account_position_info; or accounts (swap_account_info, "
                   "swap_cross_account_info, contract_account_info, sub-account info, the "
                   "accounts/accounts_cross pushes, v3 unified_account_info) with positions "
                   "(swap_position_info, swap_cross_position_info, contract_position_info, "
                   "the positions push) of the same moment")
    i.add_argument("-o", "--output", help="table to write (default: print CSV)")
    i.add_argument("--tiers", help=TIERS_HELP + "; used only where the response carries "
                   "no adjust_factor")
    i.add_argument("--contracts", help="contracts table (contract_code, contract_size[, "
                   "kind]) for contracts whose size is not bundled")

    whatif_commands(sub)

    lm = _parser(sub, "liqmap", "liquidation map of a book: contracts and notional "
                 "force-closed per price bucket, longs and shorts apart, following HTX's "
                 "tiered liquidation", "xlhtx liqmap positions.parquet --contract BTC-USDT "
                 "--from 25000 --to 35000 --step 100 -o map.csv --png map.png", cmd_liqmap)
    lm.add_argument("positions", help="positions table (CSV, XLSX, Parquet) or a partitioned "
                    "Parquet dataset (a folder or a glob)")
    lm.add_argument("--from", dest="price_from", type=float, required=True,
                    help="lowest price of the map")
    lm.add_argument("--to", dest="price_to", type=float, required=True,
                    help="highest price of the map")
    lm.add_argument("--step", type=float, required=True, help="width of a price bucket")
    lm.add_argument("--mark", type=price_arg, help="the price the cumulative column counts from "
                    "(default: the median of the book's mark_price, else the middle of the "
                    "range)")
    lm.add_argument("--contract", help="the contract to map, when the table holds several "
                    "(a map adds up contracts of one contract)")
    lm.add_argument("--sheet", help="sheet of an XLSX input")
    lm.add_argument("--tiers", help=TIERS_HELP)
    lm.add_argument("-o", "--output", help="map table (CSV or Parquet); default: print CSV")
    lm.add_argument("--png", help="chart of the map (PNG)")
    engine_options(lm)

    from xlhtx.cli import addins, workbook
    workbook.add_commands(sub, _parser)
    addins.add_commands(sub, _parser)

    _parser(sub, "version", "print the version and the tier snapshot's source",
            "xlhtx version", cmd_version)
    return p


# ----------------------------------------------------------------------- commands


def engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local: this process; dask: partitions on a Dask cluster")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler "
                   "(tcp://host:8786); default: a local cluster of two workers")


def cmd_liqmap(args: argparse.Namespace) -> int:
    import pyarrow as pa
    from xlhtx import api
    from xlhtx.tables import cluster
    from xlhtx.tables import formats
    from xlhtx.analysis import liqmap
    tiers = load_tiers(args.tiers)
    note_if_bundled(tiers)
    lo, hi, step = args.price_from, args.price_to, args.step
    n = api.map_buckets(lo, hi, step)
    mark = args.mark
    progress(f"mapping {args.positions} into {n:,} buckets ...")
    if args.engine == "dask":
        if not args.contract:
            raise XlhtxError("with --engine dask give --contract CODE: a map adds up "
                             "contracts of one contract")
        if mark is None:
            mark = (lo + hi) / 2
            say(f"note: no --mark: the cumulative column counts from {mark:g}, the middle "
                "of the range")
        left: list = []
        hist = cluster.liq_map_hist(args.positions, tiers, lo, hi, step, args.scheduler,
                                    args.contract, left)
        m = api.LiqMap(lo, step, hist, mark, api.Result(np.zeros(0), np.zeros(0, np.int16)))
        if left and left[0][0]:
            say(f"note: {left[0][0]:,} position(s) left out of the map, e.g. {left[0][1]}")
    else:
        table = (cluster.read_dataset(args.positions) if cluster.is_dataset(args.positions)
                 else formats.read_table(args.positions, args.sheet))
        table = liqmap.one_contract(table, args.contract)
        if mark is None:
            mark = liqmap.book_mark(table)
        table, past = liqmap.past_liquidation(table, tiers)
        if past:
            say(f"note: {past:,} position(s) already past their liquidation price at their "
                "mark_price: counted apart, not drawn")
        if mark is None:
            mark = (lo + hi) / 2
            say(f"note: no --mark and no mark_price column: the cumulative column counts "
                f"from {mark:g}, the middle of the range")
        m = liqmap.book_map(table, tiers, lo, hi, step, mark)
        bad = int(np.count_nonzero((m.result.status != 0) & (m.result.status != EMPTY)))
        if bad:
            first = next(iter(m.result.messages.values()), "")
            say(f"note: {bad:,} position(s) left out of the map, e.g. {first}")
    cols = m.columns()
    emit(pa.table({k: cols[k] for k in api.LIQMAP_COLUMNS}), args.output)
    if args.png:
        from xlhtx.analysis.charts import liq_map_png
        bands = None if args.engine == "dask" else liqmap.leverage_bands(
            table, tiers, lo, hi, step, mark)
        if bands is None:
            say("note: under --engine dask the PNG's bars are not split by leverage")
        liq_map_png(m, args.png, title=f"Liquidation map of {Path(args.positions).name}",
                    bands=bands)
        say(f"wrote {args.png}")
    return 0


def position_source(p: argparse.ArgumentParser) -> None:
    """A positions table, or one position given with options."""
    p.add_argument("positions", nargs="?", help="positions table (CSV, XLSX or Parquet); "
                   "or give one position with --contract ... below")
    p.add_argument("--sheet", help="sheet of an XLSX/XLSM input (default: Positions)")
    one = p.add_argument_group("one position (instead of a table)")
    one.add_argument("--contract", help="e.g. BTC-USDT")
    one.add_argument("--side", help="long or short")
    one.add_argument("--contracts", type=float, help="contracts held")
    one.add_argument("--entry", type=float, help="entry price")
    one.add_argument("--leverage", type=float, help="leverage, e.g. 20")
    one.add_argument("--margin", type=float, help="isolated margin balance (default: the "
                     "initial margin)")
    one.add_argument("--mark", type=price_arg, help="mark price (default: the entry)")
    p.add_argument("--tiers", help=TIERS_HELP)
    p.add_argument("-o", "--output", help="table to write (CSV, XLSX or Parquet); default: "
                   "print CSV")


def positions_of(args: argparse.Namespace):
    """The positions a what-if command was given, as an Arrow table."""
    import pyarrow as pa
    from xlhtx.tables import formats
    single = {"contract": args.contract, "side": args.side, "contracts": args.contracts,
              "entry_price": args.entry, "leverage": args.leverage}
    if args.positions:
        if any(v is not None for v in single.values()):
            raise XlhtxError("give a positions table or one position's options, not both")
        return formats.read_table(args.positions, args.sheet)
    missing = [f"--{'entry' if k == 'entry_price' else k}" for k, v in single.items()
               if v is None]
    if missing:
        raise XlhtxError(f"give a positions table, or one position with {', '.join(missing)}")
    row = {k: [v] for k, v in single.items()}
    row["margin"] = [args.margin]
    row["mark_price"] = [args.mark]
    return pa.table(row)


def bounded_arg(convert: Callable[[str], Any], ok: Callable[[Any], bool], noun: str,
                rule: str) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the option's text, kept only when ``ok`` (``nan``,
    ``inf`` or a value out of range is refused in one line, never a silent default)."""
    def parse(text: str) -> Any:
        try:
            x = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not ok(x):
            raise argparse.ArgumentTypeError(f"{text!r}: {rule}")
        return x
    return parse


price_arg = bounded_arg(float, lambda x: 0 < x < math.inf, "a number", "give a price > 0")
timeout_arg = bounded_arg(float, lambda x: 0 < x <= 300, "a number of seconds",
                          "give seconds above 0 and at most 300")
retries_arg = bounded_arg(int, lambda n: 0 <= n <= 10, "a whole number", "give 0 to 10 retries")


def emit(table, output: str | None) -> None:
    """A result table to ``output`` (by extension), or as CSV on stdout (no ``-o``, or
    ``-o -``)."""
    from xlhtx.tables import formats
    if output and output != "-":
        formats.write_table(table, output)
        say(f"wrote {output}: {table.num_rows} rows")
    else:
        sys.stdout.write(formats.csv_text(table))


def whatif_commands(sub) -> None:
    a = _parser(sub, "addmargin", "margin to add (negative: removable) so the liquidation "
                "price becomes a target, or sits a distance from the mark",
                "xlhtx addmargin --contract BTC-USDT --side long --contracts 5000 --entry "
                "30000 --leverage 125 --distance 2%", cmd_addmargin)
    position_source(a)
    target = a.add_mutually_exclusive_group()
    target.add_argument("--target-price", type=float, help="the liquidation price wanted")
    target.add_argument("--distance", help="distance from the mark to the liquidation price "
                        "wanted: 0.05 or 5%%")
    ld = _parser(sub, "ladder", "HTX's tiered (partial) liquidation ladder of each position",
                 "xlhtx ladder --contract BTC-USDT --side long --contracts 100000 --entry "
                 "30000 --leverage 125", cmd_ladder)
    position_source(ld)
    sc = _parser(sub, "scenario", "each position over a price grid centred on its "
                 "liquidation price: contracts left, margin ratio, equity, PnL",
                 "xlhtx scenario positions.csv -o scenario.csv --points 25", cmd_scenario)
    position_source(sc)
    sc.add_argument("--points", type=int, default=25, help="prices in the grid (default 25)")
    sc.add_argument("--span", type=float, default=3.0, help="the grid reaches this many "
                    "times the distance to liquidation either side (default 3)")


def _fraction(text: str) -> float:
    t = text.strip()
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise XlhtxError(f"--distance {text!r}: a fraction (0.05) or a percentage (5%)") \
            from None


def cmd_addmargin(args: argparse.Namespace) -> int:
    from xlhtx.analysis import whatif
    distance = _fraction(args.distance) if args.distance is not None else None
    emit(whatif.add_margin(positions_of(args), load_tiers(args.tiers), args.target_price,
                           distance), args.output)
    return 0


def cmd_ladder(args: argparse.Namespace) -> int:
    from xlhtx.analysis import whatif
    emit(whatif.ladder(positions_of(args), load_tiers(args.tiers)), args.output)
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from xlhtx.analysis import whatif
    emit(whatif.scenario(positions_of(args), load_tiers(args.tiers), args.points, args.span),
         args.output)
    return 0


def note_if_bundled(tiers) -> None:
    """Results on the bundled tier snapshot say so, once, on stderr."""
    from xlhtx.reference.snapshot import snapshot
    if tiers.ladders is snapshot().ladders:
        say(f"note: {BUNDLED_NOTE}")


BUNDLED_NOTE = ("tiers from the bundled illustrative snapshot, not HTX's live tables; "
                "`xlhtx tiers fetch -o tiers.json` and --tiers tiers.json for those")


def calc_dataset(args: argparse.Namespace, tiers, t0: float) -> int:
    """calc over a partitioned Parquet dataset: a folder of result files out."""
    from xlhtx.tables import metrics
    from xlhtx.tables import cluster
    from xlhtx.tables import formats
    if not args.output or Path(args.output).suffix:
        raise XlhtxError("a dataset's results are a dataset: give -o a folder name")
    if args.engine == "dask":
        rows = cluster.calc(args.positions, args.output, tiers, args.scheduler)
    else:
        table = cluster.read_dataset(args.positions)
        results = metrics.compute(formats.columns(table), tiers, load_accounts(args.accounts))
        formats.write_table(formats.result_table(table, results, tiers),
                            Path(args.output) / "part-00000.parquet")
        rows = table.num_rows
    say(f"done in {time.perf_counter() - t0:.1f} s: {rows:,} positions into {args.output}/")
    return 0


def status_counts(statuses: list[str]) -> str:
    """``12 positions: 9 ok, 1 warning, 1 past liquidation, 1 with an error (see
    status)``."""
    from collections import Counter
    from xlhtx.tables.metrics import ERROR
    c = Counter("error" if s.startswith(ERROR) else s for s in statuses)
    parts = [f"{c[k]:,} {k}" for k in ("ok", "warning", "past liquidation", "no liquidation")
             if c[k]]
    if c["error"]:
        parts.append(f"{c['error']:,} {'with an error' if c['error'] == 1 else 'with errors'} "
                     "(see status)")
    return f"{len(statuses):,} positions: " + ", ".join(parts)


def load_accounts(path: str | None) -> dict[str, float] | None:
    """``--accounts FILE``: account -> balance before unrealized PnL."""
    if not path:
        return None
    from xlhtx.tables import formats
    from xlhtx.coerce import Batch
    cols = formats.columns(formats.read_table(path))
    if "account" not in cols or "balance" not in cols:
        raise XlhtxError(f"{path}: an accounts table has columns account, balance")
    b = Batch(account=cols["account"], balance=cols["balance"])
    values = b.floats("balance")
    if b.errors:
        i = min(b.errors)
        raise XlhtxError(f"{path}: row {i + 2}: {b.errors[i].replace('#VALUE! ', '')}")
    out: dict[str, float] = {}
    for i in range(b.n):
        name = str(b.value("account", i) or "").strip()
        if not name:
            raise XlhtxError(f"{path}: row {i + 2}: account is empty")
        if name in out and out[name] != values[i]:
            raise XlhtxError(f"{path}: account {name} is listed twice with different "
                             "balances")
        out[name] = float(values[i])
    return out


def cmd_calc(args: argparse.Namespace) -> int:
    from xlhtx.tables import metrics
    from xlhtx.tables import cluster
    from xlhtx.tables import formats
    src = Path(args.positions)
    to_stdout = args.output == "-"    # CSV on stdout, for a pipe
    out = Path(args.output) if args.output else src.with_name(f"{src.stem}-results{src.suffix}")
    if not to_stdout and out.resolve() == src.resolve():
        raise CliError(f"{out}: the output would overwrite the input; choose another -o")
    tiers = load_tiers(args.tiers, args.contracts)
    note_if_bundled(tiers)
    t0 = time.perf_counter()
    if args.engine == "dask" or cluster.is_dataset(args.positions):
        return calc_dataset(args, tiers, t0)
    if not to_stdout:
        formats.file_format(out)
    progress(f"reading {src} ...")
    table = formats.read_table(src, args.sheet)
    progress(f"  {table.num_rows:,} rows in {time.perf_counter() - t0:.1f} s; computing ...")
    t1 = time.perf_counter()
    results = metrics.compute(formats.columns(table), tiers, load_accounts(args.accounts))
    say(f"  computed in {time.perf_counter() - t1:.1f} s: {status_counts(results['status'])}; "
        f"writing {'stdout' if to_stdout else out} ...")
    emit(formats.result_table(table, results, tiers), None if to_stdout else str(out))
    say(f"done in {time.perf_counter() - t0:.1f} s: {'stdout' if to_stdout else out}")
    return 0


def cmd_tiers_fetch(args: argparse.Namespace) -> int:
    from xlhtx.reference import fetch
    from xlhtx.reference.snapshot import load_snapshot_json
    doc = fetch.fetch_tables(args.contract, base=args.base_url or fetch.DEFAULT_BASE,
                             timeout=args.timeout, retries=args.retries, progress=progress)
    table = load_snapshot_json(doc)  # refuse tables we could not use before writing
    if args.output:
        from xlhtx.files import atomic_write
        out = Path(args.output)
        atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1)))
        say(f"wrote {out}: {len(table.codes)} contracts, {len(table.ladders)} ladders")
    else:
        from xlhtx.cli import workbook
        workbook.replace_reference_sheets(args.workbook, table)
        say(f"replaced the reference sheets of {args.workbook}")
    return 0


def cmd_positions_import(args: argparse.Namespace) -> int:
    import pyarrow as pa
    from xlhtx.htx import v1
    from xlhtx.htx import v5
    from xlhtx.tables import formats
    payloads = []
    for name in args.file:
        read_from(name)
        try:
            payloads.append((name, parse_json(Path(name).read_bytes(), "the response")))
        except (OSError, JsonError) as e:
            raise XlhtxError(f"{name}: cannot read it as JSON: "
                             f"{getattr(e, 'strerror', None) or e}") from None
    is_v5 = [v5.is_v5(p) for _, p in payloads]
    tiers = load_tiers(args.tiers, args.contracts)
    if all(is_v5):
        moment = v5.Moment()
        for name, p in payloads:
            v5.read(moment, p, Path(name).name)
        cols, text = v5.compare(moment, tiers), v5.TEXT_COLUMNS
    elif any(is_v5):
        new = ", ".join(n for (n, _), x in zip(payloads, is_v5) if x)
        raise XlhtxError(f"{new}: HTX's new USDT-M (v5) responses; the others are legacy (v1) "
                         "ones: import each system's files on their own")
    else:
        accounts = [a for _, p in payloads for a in v1.parse_accounts(p)]
        if any(leg.adjust_factor is None for acc in accounts for leg in acc.legs):
            note_if_bundled(tiers)   # only legs without HTX's adjust_factor use the tiers
        cols, text = v1.compare(accounts, tiers), v1.TEXT_COLUMNS
    table = pa.table({k: pa.array(v, type=pa.string() if k in text else pa.float64())
                      for k, v in cols.items()})
    if table.num_rows == 0:
        raise XlhtxError(f"{', '.join(args.file)}: no position and no account in the "
                         "response(s); nothing to write")
    if args.output:
        formats.write_table(table, args.output)
        say(f"wrote {args.output}: {_import_summary(cols)}")
    else:
        sys.stdout.write(formats.csv_text(table))
    return 0


def _import_summary(cols: dict[str, list]) -> str:
    """``3 rows: 2 computed, 1 HTX's figures only (see status)``."""
    n = len(cols["status"])
    ours = [c for c in ("liq_price", "margin_ratio", "risk_rate") if c in cols]
    done = sum(1 for i in range(n) if any(cols[c][i] is not None for c in ours))
    rest = n - done
    return f"{n} rows: {done} computed" + (f", {rest} with HTX's figures only or not "
                                           "computed (see status)" if rest else "")


def cmd_demo(args: argparse.Namespace) -> int:
    from xlhtx.cli import demo
    demo.run(out_dir=Path(args.out))
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    from xlhtx.reference.snapshot import snapshot
    s = snapshot()
    print(f"xlhtx {__version__}; tier snapshot as of {s.as_of} ({s.system_summary()}): "
          f"{s.source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except XlhtxError as e:
        print(f"xlhtx: {printable(e)}", file=sys.stderr)
        return 1
    except OSError as e:   # a file or folder the system refused: one line, not a traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"xlhtx: {printable(where)}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("xlhtx: interrupted", file=sys.stderr)
        return 130
    except Exception as e:   # a defect of ours: still one line; XLHTX_DEBUG=1 shows where
        if os.environ.get("XLHTX_DEBUG"):
            raise
        print(f"xlhtx: unexpected error ({type(e).__name__}: {printable(e, 300)}); please "
              "report it (XLHTX_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
