"""Numba's on-disk cache works from an installed package (not only from a checkout):
the first process compiles and writes index files next to the installed module, the
next one loads them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
from htxcore.position import liq_price_nb
from xlhtx import api
import htxcore, json
api.liq_price("BTC-USDT", "long", 5000, 30000, 125)
st = liq_price_nb.stats
print(json.dumps([htxcore.__file__, sum(st.cache_hits.values()), sum(st.cache_misses.values())]))
"""


@pytest.mark.slow
def test_cache_from_an_installed_package(tmp_path):
    target = tmp_path / "site"
    src = tmp_path / "src"   # a copy, so the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    for name in ("core", "xlhtx"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(src)],
                   check=True, capture_output=True, text=True)
    # every module of the source is installed (an explicit package list once left the
    # subpackages out, and a wheel could not import xlhtx.api)
    for name, installed in (("core", "htxcore"), ("xlhtx", "xlhtx")):
        source = {p.relative_to(ROOT / name) for p in (ROOT / name).rglob("*.py")
                  if "__pycache__" not in p.parts}
        there = {p.relative_to(target / installed) for p in (target / installed).rglob("*.py")}
        assert source - there == set(), sorted(source - there)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(target)

    def run():
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                             check=True, capture_output=True, text=True).stdout
        return __import__("json").loads(out.strip().splitlines()[-1])

    where, hits, misses = run()
    assert Path(where).parent == target / "htxcore"     # the installed copy, not the checkout
    assert (hits, misses) == (0, 1)
    assert list((target / "htxcore" / "__pycache__").glob("position.liq_price_nb*.nbi"))
    where, hits, misses = run()
    assert (hits, misses) == (1, 0)


def test_a_changed_helper_clears_the_stale_kernel_cache(tmp_path):
    from xlhtx.kernel_cache import STAMP, ensure_fresh
    pkg = tmp_path / "htxcore"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "tiers.py").write_text("MAX_LADDERS = 5\n")
    (pkg / "position.py").write_text("x = 1\n")
    index = pkg / "__pycache__" / "position.liq_price_nb-1.py311.nbi"
    index.write_bytes(b"cached")
    assert ensure_fresh(pkg) is True and not index.exists()          # first stamp
    index.write_bytes(b"cached")
    assert ensure_fresh(pkg) is False and index.exists()             # sources unchanged
    (pkg / "tiers.py").write_text("MAX_LADDERS = 8\n")               # a helper changed
    assert ensure_fresh(pkg) is True and not index.exists()
    assert (pkg / "__pycache__" / STAMP).read_text()


VECTOR_PROBE = """
import re, sys
sys.path.insert(0, sys.argv[1])
import kernels
tt, b = kernels.make_book(64)
kernels.run_numba(tt, b)
from htxcore.position import liq_price_nb
asm = "".join(r.library.get_asm_str() for r in liq_price_nb.overloads.values())
print(len(re.findall(r"\\bvdivpd\\b", asm)), len(re.findall(r"%zmm", asm)))
"""


@pytest.mark.slow
def test_liquidation_kernel_vectorizes_on_avx2(tmp_path):
    """Most laptops running Excel have AVX2, not AVX-512: the hot kernel must still divide
    several rows per instruction there (a branch in a row helper silently stops it)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from kernels import HASWELL
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL,
               NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", VECTOR_PROBE, str(ROOT / "benchmarks")],
                         env=env, check=True, capture_output=True, text=True).stdout.split()
    packed_divisions, zmm_registers = int(out[0]), int(out[1])
    assert packed_divisions >= 3 and zmm_registers == 0
