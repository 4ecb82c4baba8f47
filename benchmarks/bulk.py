"""Bulk calc speed: ``xlhtx calc`` on 1,000,000 positions, CSV -> CSV and Parquet ->
Parquet, each in a fresh process (Numba cache warm).

    python benchmarks/bulk.py --json

Prints ``rows``, ``csv_s``, ``parquet_s`` (wall time of the command), ``xlsx_100k_s``
(the first 100,000 rows, Parquet -> XLSX results: the sheet a desk opens) and ``peak_mb``
(largest resident set of the runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def make_positions(n: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    contracts = np.array(["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "BTC-USD", "ETH-USD"])
    entry = rng.uniform(1, 70000, n)
    return pa.table({
        "contract": contracts[rng.integers(0, len(contracts), n)],
        "side": np.where(rng.random(n) < 0.5, "long", "short"),
        "margin_mode": np.full(n, "isolated"),
        "leverage": rng.choice([2.0, 5.0, 10.0, 20.0, 50.0], n),
        "contracts": np.floor(rng.uniform(1, 100_000, n)),
        "entry_price": entry,
        "mark_price": entry * rng.uniform(0.9, 1.1, n),
        "margin": np.where(rng.random(n) < 0.7, np.nan, entry),
    })


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    xlhtx = [sys.executable, "-m", "xlhtx.cli", "calc"]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        table = make_positions(a.rows)
        pacsv.write_csv(table, d / "in.csv")
        pq.write_table(table, d / "in.parquet")
        run(xlhtx + [str(d / "in.csv"), "-o", str(d / "warm.csv")])  # warms the Numba cache
        csv_s = run(xlhtx + [str(d / "in.csv"), "-o", str(d / "out.csv")])
        parquet_s = run(xlhtx + [str(d / "in.parquet"), "-o", str(d / "out.parquet")])
        rows_out = pq.read_metadata(d / "out.parquet").num_rows
        pq.write_table(table.slice(0, 100_000), d / "in100k.parquet")
        xlsx_s = run(xlhtx + [str(d / "in100k.parquet"), "-o", str(d / "out.xlsx")])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res = {"rows": a.rows, "csv_s": csv_s, "parquet_s": parquet_s, "xlsx_100k_s": xlsx_s,
           "peak_mb": peak_mb, "rows_out": rows_out}
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
