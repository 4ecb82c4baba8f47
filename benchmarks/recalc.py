"""Headless recalculation of the template with many Positions rows.

    python benchmarks/recalc.py --json              # 10,000 rows

Prints ``rows``; ``xlhtx_s`` (``xlhtx recalc``: HTX cells batched into kernel calls,
ordinary formulas by the formula engine); ``engine_only_s`` (the same book evaluated
cell by cell by the formula engine, HTX functions called per cell); both include
reading the workbook and compiling its formulas, as a user waits for both.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from xlhtx.headless import workbook_model as WorkbookModel
from xlhtx.xlsx.template import build


def timed(path: Path, batch: bool) -> tuple[float, dict]:
    t0 = time.perf_counter()
    values = WorkbookModel(path, batch=batch).calculate()
    return time.perf_counter() - t0, values


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        book = build(Path(d) / "book.xlsm", n_rows=a.rows)
        xlhtx_s, v1 = timed(book, True)
        engine_s, v2 = timed(book, False)
    same = all(v1[k] == v2[k] or (isinstance(v1[k], float) and abs(v1[k] - v2[k]) <=
                                  1e-9 * abs(v1[k])) for k in v1)
    res = {"rows": a.rows, "xlhtx_s": xlhtx_s, "engine_only_s": engine_s,
           "speedup": engine_s / xlhtx_s, "cells": len(v1), "same_values": same}
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
