"""Workbook commands of the CLI: ``workbook build``, ``recalc`` and the reference-sheet
update behind ``tiers fetch --workbook``."""

from __future__ import annotations

import argparse
from pathlib import Path

from xlhtx.console import progress, say
from xlhtx.errors import XlhtxError
from xlhtx.tables.sources import load_tiers


def add_commands(sub, parser_factory) -> None:
    w = sub.add_parser("workbook", help="the template workbook")
    wsub = w.add_subparsers(dest="workbook_command", metavar="ACTION")
    b = parser_factory(wsub, "build", "build the template workbook (macro-enabled, wired "
                       "for xlwings)", "xlhtx workbook build -o xlhtx.xlsm", cmd_build)
    b.add_argument("-o", "--output", default="xlhtx.xlsm", help="where (default: %(default)s)")
    b.add_argument("--tiers", help="tier file to put in the Tiers sheet (default: bundled)")
    b.add_argument("--positions", help="positions table (CSV, XLSX or Parquet) for the "
                   "Positions sheet (default: the sample book)")
    b.add_argument("--rows", type=int, default=None,
                   help="repeat the positions to this many rows")
    r = parser_factory(sub, "recalc", "recalculate a workbook without Excel and write a "
                       "copy whose cells hold the values", "xlhtx recalc xlhtx.xlsm -o "
                       "xlhtx-values.xlsx --values-only", cmd_recalc)
    r.add_argument("book", help="workbook to recalculate (.xlsx or .xlsm)")
    r.add_argument("-o", "--output", help="copy to write (default: BOOK-values)")
    r.add_argument("--in-place", action="store_true", help="overwrite BOOK (atomically)")
    r.add_argument("--values-only", action="store_true",
                   help="drop formulas and macros: a plain .xlsx for any viewer")


def cmd_build(args: argparse.Namespace) -> int:
    from xlhtx.excel.headless import build_template
    table = load_tiers(args.tiers) if args.tiers else None
    positions = template_positions(args.positions) if args.positions else None
    out = build_template(args.output, table=table, positions=positions, n_rows=args.rows)
    say(f"built {out}")
    return 0


def template_positions(path: str) -> dict[str, list]:
    """A positions table as the Positions sheet's input columns."""
    from xlhtx.tables import formats
    from xlhtx.tables.metrics import require_columns
    from xlhtx.xlsx.template import SAMPLE_KEYS
    table = formats.read_table(path)
    keys = {formats.column_key(n): n for n in table.column_names}
    require_columns(keys, str(path))
    if table.num_rows == 0:
        raise XlhtxError(f"{path}: no positions")
    n = table.num_rows
    out = {}
    for key in SAMPLE_KEYS.values():
        col = table.column(keys[key]).to_pylist() if key in keys else [None] * n
        out[key] = ["isolated" if key == "margin_mode" and v is None else v for v in col]
    return out


def cmd_recalc(args: argparse.Namespace) -> int:
    from xlhtx.excel.headless import recalc
    out = recalc(args.book, args.output, in_place=args.in_place, values_only=args.values_only,
                 progress=progress)
    say(f"wrote {out}")
    return 0


def replace_reference_sheets(book: str | Path, table) -> None:
    """Put ``table`` into the Tiers, Contracts and MarginLadders sheets of ``book``, at
    the XML level so everything else in the workbook stays as it is."""
    from xlhtx.xlsx import template
    from xlhtx.files import atomic_write
    from xlhtx.reference.snapshot import snapshot
    from xlhtx.xlsx.workbook_io import WorkbookError, check_workbook_file
    from xlhtx.xlsx.package import (read_parts, replace_tables, stale_calc, workbook_part,
                                    write_parts)
    book = Path(book)
    try:
        check_workbook_file(book)
    except WorkbookError as e:
        raise XlhtxError(str(e)) from None
    parts = read_parts(book)
    ladders = table.ladder_margin or snapshot().ladder_margin
    for sheet, blocks in (("Tiers", template.tier_tables(table)),
                          ("Contracts", [("Contracts", template.contract_rows(table))]),
                          ("MarginLadders", [("MarginLadders", ladders.to_rows())])):
        spans = template.table_spans(blocks)
        first, width = spans[-1]
        notes = {(r, first + width + 2): text
                 for r, text in enumerate(template.reference_notes(table), start=1)}
        name = (template.TIERS, f"{sheet}!{template.tier_block(blocks)}") \
            if sheet == "Tiers" else None
        try:
            parts = replace_tables(parts, sheet, [(t, c + 1, rows) for (t, rows), (c, _) in
                                                  zip(blocks, spans)], notes, name)
        except KeyError as e:
            raise XlhtxError(f"{book}: not an xlhtx workbook: {e.args[0]}") from None
    book_part = workbook_part(dict(parts))
    # the cached values were computed with the old tables: until they are recomputed
    # the file must ask Excel to recompute it on open
    parts = [(n, stale_calc(d) if n == book_part else d) for n, d in parts]
    atomic_write(book, lambda tmp: write_parts(tmp, parts), replace_input=True)   # asked for
    from xlhtx.excel.headless import RecalcError, recalc
    try:
        recalc(book, in_place=True)   # fresh values, and no recompute on open needed
    except RecalcError as e:
        say(f"note: {book} will recompute when Excel opens it (headless recalculation "
            f"stopped: {e})")
