"""Keeping Numba's on-disk cache of the kernels consistent with their sources.

Numba invalidates a cached kernel when the file that defines it changes, but not when a
helper it inlined from another file of ``htxcore`` does: a stale kernel would then run
with old helper code. So the cache is stamped with a hash of all of ``htxcore``'s
sources and cleared when the stamp differs. Runs once per process, before any kernel is
loaded; a read-only install (no writable cache) is left alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

STAMP = "htxcore-sources.sha256"


def sources_hash(package_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(package_dir.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_dirs(package_dir: Path) -> list[Path]:
    """Where Numba keeps this package's cache: ``__pycache__`` beside the modules, and
    under ``NUMBA_CACHE_DIR`` the one folder Numba's own locator names for them (never a
    walk of that folder: it may be shared, or ``/usr``)."""
    dirs = [package_dir / "__pycache__"]
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        from numba.core.caching import UserProvidedCacheLocator
        sub = UserProvidedCacheLocator.get_suitable_cache_subpath(
            str(package_dir / "__init__.py"))
        dirs.append(Path(root) / sub)
    return [d for d in dirs if d.is_dir()]


def ensure_fresh(package_dir: Path | None = None) -> bool:
    """Clear stale kernel caches; True when something was cleared."""
    if package_dir is None:
        import htxcore
        package_dir = Path(htxcore.__file__).resolve().parent
    digest = sources_hash(package_dir)
    cleared = False
    for d in cache_dirs(package_dir):
        stamp = d / STAMP
        try:
            if stamp.exists() and stamp.read_text() == digest:
                continue
            for f in list(d.glob("*.nbi")) + list(d.glob("*.nbc")):
                f.unlink()
                cleared = True
            stamp.write_text(digest)
        except OSError:
            continue   # not ours to write: Numba falls back to its own checks
    return cleared
