"""Speed of the isolated liquidation price with tier lookup, against the alternatives.

    python benchmarks/kernels.py --json            # n = 10,000,000
    python benchmarks/kernels.py --json --n 1000000

Prints one JSON object: ``n``; ``numba_rows_per_s`` (the kernel, warm, best of 3);
``numpy_rows_per_s`` (a vectorized NumPy version: searchsorted tier lookup + closed
forms); ``python_rows_per_s`` (plain Python with bisect, measured on a sample and
scaled); ``bandwidth_rows_per_s`` (bytes the kernel must read and write per row against
a measured large-array copy); ``bound_rows_per_s`` (a kernel moving the same bytes with
the same threads and nothing else; outputs preallocated on both sides);
``avx2_rows_per_s`` (the kernel compiled for AVX2 only, ``NUMBA_CPU_NAME=haswell`` and
Haswell's ``NUMBA_CPU_FEATURES``, in a
new process with an empty cache); ``first_call_s`` / ``cached_start_s`` (a new process,
import + first call, with an empty / a warm Numba cache); ``ladder_rows_per_s`` (full
tiered-liquidation ladder for 1,000,000 positions); ratios of numba to the others. These
run on the legacy snapshot (every contract on adjustment-factor ladders). ``mixed_*``: the
same kernel and alternatives on a book of today's snapshot (USDT-M on risk-limit tiers,
coin-M on adjustment factors, one call), with ``mixed_avx2_rows_per_s`` and the ratios.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from numba import njit, prange

from htxcore.liquidation import liq_ladder_nb
from htxcore.position import liq_price_nb
from xlhtx.api import LADDER_COLUMNS, max_ladder_steps
from xlhtx.reference.snapshot import snapshot


# leverages every contract of today's snapshot takes (risk-limit tiers cap them by size)
MIXED_LEVERS = np.array([1.0, 2.0, 3.0, 5.0, 10.0, 20.0])


def make_book(n: int, seed: int = 7, table: str = "legacy"):
    """Random isolated positions on a bundled snapshot's contracts: ``legacy`` (its
    leverages, 1x..50x, every contract has them) or ``today`` (a mixed book)."""
    t = snapshot(table)
    tt = t.compile()
    rng = np.random.default_rng(seed)
    if table == "legacy":
        levers = np.array(sorted({lad.lever for lad in t.ladders if lad.contract == "BTC-USDT"}))
        lever = levers[rng.integers(0, 8, n)]  # 1x..50x: every contract has them
    else:
        lever = MIXED_LEVERS[rng.integers(0, len(MIXED_LEVERS), n)]
    contract = rng.integers(0, len(t.codes), n).astype(np.int32)
    book = dict(
        contract=contract, mode=np.zeros(n, np.int8),
        side=np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
        q=np.floor(rng.uniform(1, 150_000, n)),
        entry=rng.uniform(0.1, 70_000, n), lever=lever,
        margin=np.where(rng.random(n) < 0.5, np.nan, 0.0))
    *_, c_kind, c_size = plain(tt)
    im = np.where(c_kind[contract] == 0, book["q"] * c_size[contract] * book["entry"],
                  book["q"] * c_size[contract] / book["entry"]) / lever
    book["margin"] = np.where(np.isnan(book["margin"]), np.nan, im * rng.uniform(0.5, 3, n))
    return tt, book


def run_numba(tt, b, out=None, status=None):
    n = b["q"].shape[0]
    out = np.empty(n) if out is None else out
    status = np.empty(n, np.int8) if status is None else status
    liq_price_nb(tt, b["contract"], b["mode"], b["side"], b["q"], b["entry"], b["lever"],
                 b["margin"], out, status)
    return out, status


@njit(parallel=True)
def bound_nb(contract, mode, side, q, entry, lever, margin, out, status):
    """The least any kernel over these rows can cost: read every input once, write a
    price and a status, nothing else; same arrays, same threads as the kernel."""
    for i in prange(q.shape[0]):
        out[i] = q[i] + entry[i] + lever[i] + margin[i] + side[i] + mode[i] + contract[i]
        status[i] = 0


def run_bound(b, out, status):
    bound_nb(b["contract"], b["mode"], b["side"], b["q"], b["entry"], b["lever"],
             b["margin"], out, status)


# Haswell's features, AVX-512 off: with NUMBA_CPU_NAME alone Numba keeps the host's
# features, so on an AVX-512 machine the "AVX2" build would still use AVX-512
HASWELL = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fsgsbase,+lzcnt,+movbe,"
           "+pclmul,+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f,"
           "-avx512dq,-avx512bw,-avx512vl,-avx512cd")
AVX2_SCRIPT = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
import kernels
import numpy as np
tt, b = kernels.make_book(int(sys.argv[1]), table=sys.argv[3])
n = b["q"].shape[0]
out, status = np.empty(n), np.empty(n, np.int8)
kernels.run_numba(tt, b, out, status)
print(json.dumps(n / kernels.best(lambda: kernels.run_numba(tt, b, out, status))))
"""


def avx2_rate(n: int, table: str = "legacy") -> float:
    """The kernel compiled for AVX2 only (a Haswell CPU, most laptops running Excel), in
    a new process with its own empty cache: a cached native build would otherwise be
    loaded and measured."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL,
                   NUMBA_CACHE_DIR=cache)
        res = subprocess.run([sys.executable, "-c", AVX2_SCRIPT, str(n),
                              os.path.dirname(os.path.abspath(__file__)), table], env=env,
                             check=True,
                             capture_output=True, text=True)
    return float(res.stdout.strip().splitlines()[-1])


def plain(tt):
    """The tier table as the alternatives would hold it: ladders one after another
    (no padding), each group's first row, contract kind and size apart."""
    real = tt.l_ladder >= 0
    g_start = np.concatenate([[0], np.cumsum(tt.g_len)])
    lad = np.ascontiguousarray(tt.lad[:, real].T)   # one row per ladder
    return (tt.g_key, tt.g_lever, g_start, lad, (tt.c_size < 0).astype(np.int8),
            np.abs(tt.c_size))


def run_numpy(tt, b):
    """The best vectorized NumPy version: composite-key searchsorted for group and ladder."""
    g_key, g_lever, g_start, lad, c_kind, c_size = plain(tt)
    l_min, l_max, l_mmr, l_cap = lad[:, 0], lad[:, 1], lad[:, 2], lad[:, 3]
    gk = g_key * 4096.0 + g_lever                    # group composite key, sorted
    base = (b["contract"] * 2 + b["mode"]) * 4096.0

    def find(key):
        g = np.minimum(np.searchsorted(gk, key), gk.shape[0] - 1)
        return g, gk[g] == key

    g, g_ok = find(base + b["lever"])
    g_any, any_ok = find(base)                       # a risk-limit (any-leverage) group
    g = np.where(g_ok, g, g_any)
    g_ok |= any_ok
    grp = np.repeat(np.arange(g_key.shape[0]), np.diff(g_start))
    lk = grp * 1e12 + l_min                          # ladder composite key, sorted
    k = np.searchsorted(lk, g * 1e12 + b["q"], side="right") - 1
    k = np.maximum(k, g_start[g])
    ok = g_ok & (b["q"] < l_max[k] + 1.0) & (b["lever"] <= l_cap[k])
    mmr = l_mmr[k]
    kind, size = c_kind[b["contract"]], c_size[b["contract"]]
    qs = b["q"] * size
    s = b["side"].astype(np.float64)
    lin = kind == 0
    m = np.where(np.isnan(b["margin"]),
                 np.where(lin, qs * b["entry"], qs / b["entry"]) / b["lever"], b["margin"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(lin, (s * b["entry"] * qs - m) / (qs * (s - mmr)),
                     qs * (mmr + s) / (m + s * qs / b["entry"]))
    return np.where(ok & (p > 0) & np.isfinite(p), p, np.nan)


def run_python(tt, b, rows):
    """Plain Python: bisect over the same flat tables, one row at a time."""
    g_key, g_lever, g_start, lad, c_kind, c_size = (x.tolist() for x in plain(tt))
    l_min, l_max, l_mmr = [r[0] for r in lad], [r[1] for r in lad], [r[2] for r in lad]
    l_cap = [r[3] for r in lad]
    groups = list(zip(g_key, g_lever))
    cols = [b[k][:rows].tolist() for k in ("contract", "mode", "side", "q", "entry", "lever",
                                           "margin")]
    out = []
    for c, mode, s, q, e, lev, m in zip(*cols):
        g = bisect.bisect_left(groups, (c * 2 + mode, lev))
        if g == len(groups) or groups[g] != (c * 2 + mode, lev):
            g = bisect.bisect_left(groups, (c * 2 + mode, 0.0))   # any leverage
            if g == len(groups) or groups[g] != (c * 2 + mode, 0.0):
                out.append(math.nan)
                continue
        k = max(bisect.bisect_right(l_min, q, g_start[g], g_start[g + 1]) - 1, g_start[g])
        if q >= l_max[k] + 1 or lev > l_cap[k]:
            out.append(math.nan)
            continue
        mmr = l_mmr[k]
        qs = q * c_size[c]
        if c_kind[c] == 0:
            m = qs * e / lev if math.isnan(m) else m
            p = (s * e * qs - m) / (qs * (s - mmr))
        else:
            m = qs / e / lev if math.isnan(m) else m
            den = m + s * qs / e
            p = qs * (mmr + s) / den if den else math.nan
        out.append(p if p > 0 else math.nan)
    return out


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def copy_bandwidth(nbytes=800 * 2**20):
    """Bytes per second moved (read + write) by a large array copy."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    t = best(lambda: np.copyto(dst, src), 5)
    return 2 * src.nbytes / t


START_SCRIPT = """
import time; t0 = time.perf_counter()
from xlhtx import api
api.liq_price("BTC-USDT", "long", 5000, 30000, 50)
print(time.perf_counter() - t0)
"""


def start_times():
    """(first call with an empty cache, start with a warm cache), new processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        run = lambda: float(subprocess.run(  # noqa: E731
            [sys.executable, "-c", START_SCRIPT], env=env, check=True, capture_output=True,
            text=True).stdout.strip().splitlines()[-1])
        first = run()
        cached = min(run() for _ in range(3))
    return first, cached


def ladder_rate(n=1_000_000):
    t = snapshot("legacy")
    tt, b = make_book(n, seed=11)
    steps = max_ladder_steps(t)
    outs = [np.empty((n, steps)) for _ in LADDER_COLUMNS[1:]]
    n_steps, status = np.empty(n, np.int64), np.empty(n, np.int8)
    call = lambda: liq_ladder_nb(tt, b["contract"], b["mode"], b["side"], b["q"],  # noqa: E731
                                 b["entry"], b["lever"], b["margin"], *outs, n_steps, status)
    call()
    return n / best(call)


def mixed(n: int, rows: int) -> dict:
    """The kernel and its alternatives on a book of today's snapshot: both systems of
    tiers in one call (checked to agree before timing)."""
    tt, b = make_book(n, seed=13, table="today")
    got, status = run_numba(tt, b)
    assert np.allclose(got, run_numpy(tt, b), rtol=1e-9, equal_nan=True), \
        "numba and numpy disagree on the mixed book"
    assert np.allclose(got[:1000], run_python(tt, b, 1000), rtol=1e-9, equal_nan=True), \
        "numba and python disagree on the mixed book"
    out, status = np.empty(n), np.empty(n, np.int8)
    return {"mixed_rows_per_s": n / best(lambda: run_numba(tt, b, out, status)),
            "mixed_numpy_rows_per_s": n / best(lambda: run_numpy(tt, b), 2),
            "mixed_python_rows_per_s": rows / best(lambda: run_python(tt, b, rows), 1),
            "mixed_avx2_rows_per_s": avx2_rate(n, "today"),
            "mixed_ok_fraction": float((status == 0).mean())}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--python-rows", type=int, default=100_000)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    first, cached = start_times()
    tt, b = make_book(a.n)
    got, status = run_numba(tt, b)   # compile / load before timing
    ref = run_numpy(tt, b)
    assert np.allclose(got, ref, rtol=1e-9, equal_nan=True), "numba and numpy disagree"
    out, status = np.empty(a.n), np.empty(a.n, np.int8)   # preallocated on both sides
    t_numba = best(lambda: run_numba(tt, b, out, status))
    run_bound(b, out, status)
    t_bound = best(lambda: run_bound(b, out, status))
    t_numpy = best(lambda: run_numpy(tt, b), 2)
    rows = min(a.python_rows, a.n)
    t_py = best(lambda: run_python(tt, b, rows), 1)
    bytes_per_row = sum(b[k].itemsize for k in b) + 8 + 1   # inputs + price + status
    res = {
        "n": a.n,
        "numba_rows_per_s": a.n / t_numba,
        "numpy_rows_per_s": a.n / t_numpy,
        "python_rows_per_s": rows / t_py,
        "bandwidth_rows_per_s": copy_bandwidth() / bytes_per_row,
        "bound_rows_per_s": a.n / t_bound,
        "avx2_rows_per_s": avx2_rate(a.n),
        "bytes_per_row": bytes_per_row,
        "first_call_s": first,
        "cached_start_s": cached,
        "ladder_rows_per_s": ladder_rate(),
        **mixed(a.n, min(a.python_rows, a.n)),
        "threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
    }
    res["numba_vs_numpy"] = res["numba_rows_per_s"] / res["numpy_rows_per_s"]
    res["numba_vs_python"] = res["numba_rows_per_s"] / res["python_rows_per_s"]
    res["fraction_of_bandwidth"] = res["numba_rows_per_s"] / res["bandwidth_rows_per_s"]
    res["fraction_of_bound"] = res["numba_rows_per_s"] / res["bound_rows_per_s"]
    res["avx2_vs_native"] = res["avx2_rows_per_s"] / res["numba_rows_per_s"]
    res["mixed_vs_numpy"] = res["mixed_rows_per_s"] / res["mixed_numpy_rows_per_s"]
    res["mixed_vs_python"] = res["mixed_rows_per_s"] / res["mixed_python_rows_per_s"]
    res["mixed_avx2_vs_native"] = res["mixed_avx2_rows_per_s"] / res["mixed_rows_per_s"]
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
