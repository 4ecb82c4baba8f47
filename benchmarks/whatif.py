"""What-if speed: ``scenario``, ``ladder`` and ``addmargin`` over 5,000 and 50,000
positions in one process (kernels warmed first), to show they grow linearly with rows.

    python benchmarks/whatif.py --json

Prints per command and size the seconds and input rows per second, and
``scenario_ratio`` (50k time / 5k time: 10 means linear).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bulk import make_positions  # noqa: E402

from xlhtx.analysis import whatif  # noqa: E402
from xlhtx.reference.snapshot import snapshot  # noqa: E402

COMMANDS = {
    "scenario": lambda t, tiers: whatif.scenario(t, tiers),
    "ladder": lambda t, tiers: whatif.ladder(t, tiers),
    "addmargin": lambda t, tiers: whatif.add_margin(t, tiers, distance=0.05),
}


def timed(f, *args) -> float:
    t0 = time.perf_counter()
    f(*args)
    return time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    tiers = snapshot()
    for f in COMMANDS.values():          # compile and warm every kernel on a small book
        f(make_positions(200, seed=1), tiers)
    res: dict = {}
    for n in (5_000, 50_000):
        book = make_positions(n)
        for name, f in COMMANDS.items():
            s = timed(f, book, tiers)
            res[f"{name}_{n // 1000}k_s"] = round(s, 3)
            res[f"{name}_{n // 1000}k_rows_per_s"] = round(n / s)
    res["scenario_ratio"] = round(res["scenario_50k_s"] / res["scenario_5k_s"], 2)
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
