"""Speed of the liquidation map (HTX's tiered liquidation, per price bucket).

    python benchmarks/liqmap.py --json              # 10,000,000 positions
    python benchmarks/liqmap.py --json --rows 1000000

Prints one JSON object: ``rows``; ``kernel_s`` (the kernel on in-memory columns, warm,
best of 3) and ``positions_per_s``; ``numpy_s`` (the same map with vectorized NumPy, one
ladder step at a time) and ``numpy_ratio``; ``single_s`` (``xlhtx liqmap``'s path in one
process: a 10-partition Parquet dataset read, coerced and mapped) and ``dask_s`` (the
same on a local Dask cluster of two workers, started before the clock); ``same_map``
(all three maps equal to the digit). BTC-USDT books, leverages 5x to 125x (3 ladders), on
the legacy snapshot's adjustment-factor ladders (tiered liquidation step by step).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from htxcore.liqmap import HIST_ROWS, liq_map_nb
from xlhtx import api
from xlhtx.tables import cluster
from xlhtx.tables import formats
from xlhtx.reference.snapshot import snapshot

LO, HI, STEP = 20_000.0, 40_000.0, 50.0


def make_book(n: int, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    btc = snapshot("legacy").contract_id("BTC-USDT")
    return {"contract": np.full(n, btc, np.int32), "mode": np.zeros(n, np.int8),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "q": np.floor(rng.uniform(1, 150_000, n)), "entry": rng.uniform(28_000, 32_000, n),
            "lever": rng.choice([5.0, 10.0, 20.0, 50.0, 125.0], n),
            "margin": np.full(n, np.nan)}


def run_kernel(tt, b) -> np.ndarray:
    n_b = int(round((HI - LO) / STEP))
    hist = np.zeros((HIST_ROWS, n_b))
    status = np.empty(b["q"].shape[0], np.int8)
    liq_map_nb(tt, b["contract"], b["mode"], b["side"], b["q"], b["entry"], b["lever"],
               b["margin"], LO, STEP, hist, status, numba.get_num_threads() * 4)
    return hist


def run_numpy(table, b) -> np.ndarray:
    """The obvious vectorized version: every position takes its next ladder step at once,
    up to the number of ladders; tiers by searchsorted over (leverage, min_size)."""
    lads = [x for x in table.ladders if x.contract == "BTC-USDT" and x.mode == "isolated"]
    levers = np.array(sorted({x.lever for x in lads}))
    mins = np.full((len(levers), 5), np.inf)
    maxs = np.full((len(levers), 5), np.inf)
    mmrs = np.zeros((len(levers), 5))
    count = np.zeros(len(levers), np.int64)
    for x in sorted(lads, key=lambda x: (x.lever, x.min_size)):
        g = int(np.searchsorted(levers, x.lever))
        j = count[g]
        mins[g, j], maxs[g, j], mmrs[g, j] = x.min_size, x.max_size, x.adjust_factor / x.lever
        count[g] += 1
    cs = table.contract("BTC-USDT").size
    g = np.searchsorted(levers, b["lever"])
    side = b["side"].astype(float)
    q = b["q"].copy()
    e = b["entry"]
    m = q * cs * e / b["lever"]
    n_b = int(round((HI - LO) / STEP))
    hist = np.zeros((4, n_b))
    alive = np.ones(q.shape[0], bool)
    for _ in range(5):
        k = (mins[g] <= q[:, None]).sum(axis=1) - 1
        mmr = mmrs[g, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = (side * e * q * cs - m) / (q * cs * (side - mmr))
        alive &= (p > 0) & (q > 0)
        equity = m + side * q * cs * (p - e)
        q_after = np.zeros_like(q)
        for j in range(4, -1, -1):     # nearest lower ladder whose MM fits the equity
            lower = (j < k) & (maxs[g, np.minimum(j, 4)] < q) & \
                    (mmrs[g, np.minimum(j, 4)] * maxs[g, np.minimum(j, 4)] * cs * p < equity)
            q_after = np.where(lower & (q_after == 0), maxs[g, np.minimum(j, 4)], q_after)
        closed = np.where(alive, q - q_after, 0.0)
        bucket = np.floor((p - LO) / STEP)
        ok = alive & (bucket >= 0) & (bucket < n_b)
        b_idx = np.where(ok, bucket, 0).astype(np.int64)
        for row, want in ((0, 1.0), (1, -1.0)):
            sel = ok & (side == want)
            hist[row] += np.bincount(b_idx[sel], closed[sel], n_b)
            hist[row + 2] += np.bincount(b_idx[sel], closed[sel] * cs * p[sel], n_b)
        with np.errstate(invalid="ignore"):
            m = m + side * (q - q_after) * cs * (p - e)
        q = np.where(alive, q_after, 0.0)
        alive &= q > 0
    return hist


def best(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t = snapshot("legacy")
    tt = t.compile()
    b = make_book(args.rows)
    run_kernel(tt, make_book(1000))
    kernel_s, hist = best(lambda: run_kernel(tt, b))
    numpy_s, hist_np = best(lambda: run_numpy(t, b), 1)
    n = args.rows
    with tempfile.TemporaryDirectory() as d:
        ds = Path(d) / "book"
        ds.mkdir()
        step = -(-n // 10)
        for k in range(10):
            sl = slice(k * step, min(n, (k + 1) * step))
            pq.write_table(pa.table({
                "contract": np.full(sl.stop - sl.start, "BTC-USDT"),
                "side": np.where(b["side"][sl] > 0, "long", "short"),
                "contracts": b["q"][sl], "entry_price": b["entry"][sl],
                "leverage": b["lever"][sl]}), ds / f"part-{k:02d}.parquet")

        def single():
            c = formats.columns(cluster.read_dataset(str(ds)))
            return api.liq_map(c["contract"], c["side"], c["contracts"], c["entry_price"],
                               c["leverage"], None, LO, HI, STEP, tiers=t).hist
        single_s, hist_single = best(single, 1)
        with cluster.dask_client() as client:
            client.run(lambda: None)           # workers up before the clock
            from xlhtx.tables.cluster import _map_part, _partitions
            import dask
            shared = client.scatter(t, broadcast=True)
            dask.compute(*[dask.delayed(_map_part)(p, shared, LO, HI, STEP)   # warm workers
                           for p in _partitions(str(ds))[:2]])
            t0 = time.perf_counter()
            parts = _partitions(str(ds))
            hists = dask.compute(*[dask.delayed(_map_part)(p, shared, LO, HI, STEP)
                                   for p in parts])
            from htxcore.liqmap import merge_nb
            total = np.zeros_like(hists[0])
            for h in hists:
                merge_nb(total, h)
            dask_s = time.perf_counter() - t0
    value = lambda h: (h[0], h[1], h[2] + (h[4] if h.shape[0] > 4 else 0))  # noqa: E731
    same = all(np.array_equal(a, c) for a, c in zip(value(hist), value(hist_single))) and \
        all(np.array_equal(a, c) for a, c in zip(value(hist), value(total)))
    out = {"rows": n, "kernel_s": round(kernel_s, 3),
           "positions_per_s": round(n / kernel_s), "numpy_s": round(numpy_s, 3),
           "numpy_ratio": round(numpy_s / kernel_s, 1), "single_s": round(single_s, 3),
           "dask_s": round(dask_s, 3), "dask_vs_single": round(dask_s / single_s, 2),
           "same_map": bool(same),
           "numpy_contracts_agree": bool(np.array_equal(hist[:2], hist_np[:2]))}
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
