"""xlhtx: HTX futures margin, tier and liquidation maths for Excel and bulk tables.

``xlhtx.calc(df)`` computes every metric of a positions DataFrame (pandas or polars);
the functions behind each Excel function are in ``xlhtx.api``, the Excel functions in
``xlhtx.excel.udfs``.
"""

from xlhtx.kernel_cache import ensure_fresh as _ensure_fresh_kernel_cache
from xlhtx.version import __version__

_ensure_fresh_kernel_cache()

__all__ = ["__version__", "calc"]


def calc(df, tiers=None, contracts=None):
    """Every metric of a positions DataFrame, as a DataFrame of the same kind (pandas or
    polars): the input columns, then notional, margin, tier, MMR, maintenance margin,
    liquidation and bankruptcy prices, PnL, ROE, equity, margin ratio, distance to
    liquidation, margin asset and status. See ``xlhtx.tables.frames.calc``."""
    from xlhtx.tables.frames import calc as _calc
    return _calc(df, tiers=tiers, contracts=contracts)
