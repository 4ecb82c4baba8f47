"""HTX's own account and position responses turned into positions tables with our
figures beside HTX's: the v1 API of coin-margined and legacy USDT-M futures (``v1``) and
the v5 API of the new USDT-M system (``v5``)."""
