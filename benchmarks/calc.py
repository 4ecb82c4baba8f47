"""First-call latency of the HTX_* functions in LibreOffice Calc (headless).

    python benchmarks/calc.py --json

Builds the Calc extension, installs it into a private LibreOffice profile (shared when
run as root, which unopkg requires; removed afterwards), starts Calc and times entering
a formula and reading its value: ``first_call_s`` (the first HTX_* call after Calc
starts: LibreOffice's Python imports xlhtx and loads the cached kernels),
``next_call_s`` (median of the next 20 single cells) and ``column_100k_s`` (one array
formula over 100,000 rows). Needs what the Calc tests need (LibreOffice, its SDK and
python3-uno).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from xlhtx.addins import libreoffice

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        oxt = libreoffice.build(Path(tmp) / "xlhtx.oxt")
        profile = Path(tmp) / "profile"
        scope = ["--shared"] if os.geteuid() == 0 else []
        env = f"-env:UserInstallation={profile.as_uri()}"
        subprocess.run(["unopkg", "add", "-f", *scope, env, str(oxt)], check=True,
                       capture_output=True, timeout=300)
        try:
            n = 100_000
            steps = [{"timed": ["A1", '=HTX_LIQPRICE("BTC-USDT";"long";300;30000;100)']}]
            steps += [{"timed": [f"A{k}", f'=HTX_LIQPRICE("BTC-USDT";"long";{k};30000;20)']}
                      for k in range(2, 22)]
            steps += [{"timed": [f"D1:D{n}",
                                 f'=HTX_LIQPRICE("BTC-USDT";"long";ROW(B1:B{n});30000;20)']}]
            req = {"profile": str(profile), "file": None, "steps": steps}
            out = subprocess.run(["/usr/bin/python3", str(ROOT / "tests" / "calc_driver.py")],
                                 input=json.dumps(req), capture_output=True, text=True,
                                 timeout=600, check=True)
            times = json.loads(out.stdout)["times"]
        finally:
            subprocess.run(["unopkg", "remove", *scope, env, libreoffice.IDENTIFIER],
                           capture_output=True, timeout=300)
    res = {"first_call_s": times[0], "next_call_s": statistics.median(times[1:21]),
           "column_100k_s": times[21]}
    print(json.dumps(res, indent=None if a.json else 2))
    return res


if __name__ == "__main__":
    main()
