"""The ``xlhtx`` command line. Every command has ``--help`` with an example; errors end
with one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

from xlhtx.version import __version__
from xlhtx.console import printable, say
from xlhtx.errors import XlhtxError
from xlhtx.sources import load_tiers


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

    t = sub.add_parser("tiers", help="tier tables: fetch from HTX")
    tsub = t.add_subparsers(dest="tiers_command", metavar="ACTION")
    f = _parser(tsub, "fetch", "download adjustment factors, contract sizes and ladder "
                "margins from HTX's public API", "xlhtx tiers fetch --contract BTC-USDT "
                "-o tiers.json", cmd_tiers_fetch)
    f.add_argument("--contract", help="one contract code (default: all)")
    dest = f.add_mutually_exclusive_group(required=True)
    dest.add_argument("-o", "--output", help="tier file to write (JSON)")
    dest.add_argument("--workbook", help="workbook whose Tiers/Contracts/MarginLadders "
                      "sheets to replace")
    f.add_argument("--base-url", default=None, help="API base URL (default: HTX's)")
    f.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    f.add_argument("--retries", type=int, default=3, help="retries per request")

    pos = sub.add_parser("positions", help="positions: import from HTX responses")
    psub = pos.add_subparsers(dest="positions_command", metavar="ACTION")
    i = _parser(psub, "import", "turn an HTX account or position response (JSON) into a "
                "positions table with our liquidation price and risk rate beside HTX's",
                "xlhtx positions import swap_account_position_info.json -o positions.csv",
                cmd_positions_import)
    i.add_argument("file", help="JSON saved from swap_account_position_info, "
                   "swap_cross_account_position_info, contract_account_position_info, "
                   "swap_position_info or swap_cross_position_info")
    i.add_argument("-o", "--output", help="table to write (default: print CSV)")
    i.add_argument("--tiers", help=TIERS_HELP + "; used only where the response carries "
                   "no adjust_factor")
    i.add_argument("--contracts", help="contracts table (contract_code, contract_size[, "
                   "kind]) for contracts whose size is not bundled")

    from xlhtx import workbook_cli
    workbook_cli.add_commands(sub, _parser)

    _parser(sub, "version", "print the version and the tier snapshot's source",
            "xlhtx version", cmd_version)
    return p


# ----------------------------------------------------------------------- commands


def note_if_bundled(tiers) -> None:
    """Results on the bundled tier snapshot say so, once, on stderr."""
    from xlhtx.reference.snapshot import snapshot
    if tiers.ladders is snapshot().ladders:
        say(f"note: {BUNDLED_NOTE}")


BUNDLED_NOTE = ("tiers from the bundled illustrative snapshot, not HTX's live tables; "
                "`xlhtx tiers fetch -o tiers.json` and --tiers tiers.json for those")


def cmd_calc(args: argparse.Namespace) -> int:
    from xlhtx import book, tableio
    src = Path(args.positions)
    out = Path(args.output) if args.output else src.with_name(f"{src.stem}-results{src.suffix}")
    if out.resolve() == src.resolve():
        raise CliError(f"{out}: the output would overwrite the input; choose another -o")
    tiers = load_tiers(args.tiers, args.contracts)
    note_if_bundled(tiers)
    tableio.file_format(out)
    t0 = time.perf_counter()
    say(f"reading {src} ...")
    table = tableio.read_table(src, args.sheet)
    say(f"  {table.num_rows:,} rows in {time.perf_counter() - t0:.1f} s; computing ...")
    t1 = time.perf_counter()
    results = book.compute(tableio.columns(table), tiers)
    bad = sum(1 for s in results["status"] if s)
    say(f"  computed in {time.perf_counter() - t1:.1f} s ({bad:,} rows without a "
        f"number); writing {out} ...")
    tableio.write_table(tableio.result_table(table, results, tiers), out)
    say(f"done in {time.perf_counter() - t0:.1f} s: {out}")
    return 0


def cmd_tiers_fetch(args: argparse.Namespace) -> int:
    from xlhtx.reference import fetch
    from xlhtx.reference.snapshot import load_snapshot_json
    doc = fetch.fetch_tables(args.contract, base=args.base_url or fetch.DEFAULT_BASE,
                             timeout=args.timeout, retries=args.retries, progress=say)
    table = load_snapshot_json(doc)  # refuse tables we could not use before writing
    if args.output:
        from xlhtx.files import atomic_write
        out = Path(args.output)
        atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1)))
        say(f"wrote {out}: {len(table.codes)} contracts, {len(table.ladders)} ladders")
    else:
        from xlhtx import workbook_cli
        workbook_cli.replace_reference_sheets(args.workbook, table)
        say(f"replaced the reference sheets of {args.workbook}")
    return 0


def cmd_positions_import(args: argparse.Namespace) -> int:
    import pyarrow as pa
    from xlhtx import positions, tableio
    try:
        payload = json.loads(Path(args.file).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise XlhtxError(f"{args.file}: cannot read it as JSON: {e}") from None
    accounts = positions.parse_accounts(payload)
    tiers = load_tiers(args.tiers, args.contracts)
    if any(leg.adjust_factor is None for acc in accounts for leg in acc.legs):
        note_if_bundled(tiers)   # only legs without HTX's adjust_factor use the tiers
    cols = positions.compare(accounts, tiers)
    table = pa.table({k: pa.array(v, type=pa.string() if k in positions.TEXT_COLUMNS
                                  else pa.float64()) for k, v in cols.items()})
    if args.output:
        tableio.write_table(table, args.output)
        say(f"wrote {args.output}: {table.num_rows} positions")
    else:
        sys.stdout.write(tableio.csv_text(table))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from xlhtx import demo
    demo.run(out_dir=Path(args.out))
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    from xlhtx.reference.snapshot import snapshot
    s = snapshot()
    print(f"xlhtx {__version__}; tier snapshot as of {s.as_of}: {s.source}")
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
