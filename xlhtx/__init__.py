"""xlhtx: HTX futures margin, tier and liquidation maths for Excel and bulk tables.

The Python API lives in ``xlhtx.api``; the Excel functions in ``xlhtx.udfs``.
"""

__version__ = "0.1.0"

from xlhtx.kernel_cache import ensure_fresh as _ensure_fresh_kernel_cache  # noqa: E402

_ensure_fresh_kernel_cache()
