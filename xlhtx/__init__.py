"""xlhtx: HTX futures margin, tier and liquidation maths for Excel and bulk tables.

The Python API lives in ``xlhtx.api``; the Excel functions in ``xlhtx.udfs``.
"""

__version__ = "0.1.0"
