"""htxcore: Numba kernels for HTX futures margin, tier and liquidation maths.

Pure numerics: NumPy arrays in, arrays and per-row status codes (``htxcore.status``) out.
No I/O, no Excel, no pandas. ``xlhtx`` is the boundary that coerces input and maps
status codes to messages.
"""
