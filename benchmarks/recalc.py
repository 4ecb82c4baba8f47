"""Headless recalculation of the template with many Positions rows.

    python benchmarks/recalc.py --json                   # 10,000 and 100,000 rows
    python benchmarks/recalc.py --json --rows 10000      # one size only

Prints ``recalc_10k_s`` / ``recalc_100k_s``: ``xlhtx recalc`` end to end (read the
file, plan, compute, write the copy with cached values), as a user waits for it, each in
a fresh process with its peak memory (``peak_mb_*``); and at 10,000 rows
``engine_only_10k_s``: the ``formulas`` engine's own model of the same book evaluated
cell by cell (HTX functions called per cell), the obvious alternative, with
``same_values`` saying whether both gave the same numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, resource, sys, time
from xlhtx.excel.headless import recalc
t = time.perf_counter()
recalc(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t
try:   # this process's own peak: ru_maxrss would include the parent's at the fork
    with open("/proc/self/status") as f:
        peak_kb = int(f.read().split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": seconds, "peak_mb": peak_kb / 1024}))
"""


def timed_recalc(book: Path, out: Path) -> dict:
    """``xlhtx recalc`` in a new process (the kernels' on-disk cache warm, as for a user
    who has run it before): seconds and peak memory."""
    res = subprocess.run([sys.executable, "-c", RUN, str(book), str(out)], check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def engine_only(book: Path, fast_out: Path) -> tuple[float, bool]:
    sys.path.insert(0, str(ROOT / "tests"))
    import engine_reference
    from xlhtx.excel.headless import workbook_model
    t = time.perf_counter()
    plain = engine_reference.calculate(book)
    seconds = time.perf_counter() - t
    fast = workbook_model(book).calculate()
    same = set(fast) == set(plain) and all(engine_reference.same(v, plain[k])
                                           for k, v in fast.items())
    return seconds, same


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, action="append",
                    help="Positions rows (repeatable; default 10,000 and 100,000)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from xlhtx.xlsx.template import build
    res: dict = {}
    with tempfile.TemporaryDirectory() as d:
        books = {}
        for rows in a.rows or [10_000, 100_000]:
            tag = f"{rows // 1000}k" if rows % 1000 == 0 else str(rows)
            book = build(Path(d) / f"book{rows}.xlsm", n_rows=rows)
            timed_recalc(book, Path(d) / "warm.xlsm")   # kernels compiled into the cache
            r = timed_recalc(book, Path(d) / f"out{rows}.xlsm")
            res[f"recalc_{tag}_s"] = r["s"]
            res[f"peak_mb_{tag}"] = r["peak_mb"]
            res[f"formula_cells_{tag}"] = rows * 15
            books[rows] = book
        # last: the engine's model of a whole book takes gigabytes
        if 10_000 in books:
            s, same = engine_only(books[10_000], Path(d) / "fast.xlsm")
            res["engine_only_10k_s"] = s
            res["speedup_10k"] = s / res["recalc_10k_s"]
            res["same_values"] = same
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
