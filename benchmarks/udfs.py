"""Speed of the Excel functions as xlwings calls them.

    python benchmarks/udfs.py --json

Prints ``n``; ``array_call_s`` (one HTX_LIQPRICE over n rows passed as Python lists of
one-cell rows, as xlwings passes a column; best of 5); ``scalar_call_s`` (median of
one single-cell call); ``array_speedup`` (n x scalar_call_s / array_call_s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from xlhtx.excel.udfs import HTX_LIQPRICE


def position_columns(n: int) -> list:
    """n positions as xlwings hands a column to HTX_LIQPRICE (one-cell rows): contract,
    side, contracts, entry price, leverage, and an empty margin column."""
    contracts = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USD"]
    return [[[contracts[i % 4]] for i in range(n)], [["long" if i % 3 else "short"] for i in range(n)],
            [[float(1 + i % 5000)] for i in range(n)], [[30000.0 + i % 997] for i in range(n)],
            [[float((5, 10, 20)[i % 3])] for i in range(n)], [[None] for _ in range(n)]]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    n = a.n
    cols = position_columns(n)
    HTX_LIQPRICE(*cols)  # compile / load the kernel first
    array = []
    for _ in range(5):
        t0 = time.perf_counter()
        HTX_LIQPRICE(*cols)
        array.append(time.perf_counter() - t0)
    scalar = []
    for i in range(5000):
        t0 = time.perf_counter()
        HTX_LIQPRICE([["BTC-USDT"]], [["long"]], [[5000.0]], [[30000.0]], [[50.0]], None, None)
        scalar.append(time.perf_counter() - t0)
    res = {"n": n, "array_call_s": min(array), "scalar_call_s": statistics.median(scalar)}
    res["array_speedup"] = n * res["scalar_call_s"] / res["array_call_s"]
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
