"""The HTX_* functions beyond Windows Excel, generated from the function registry: a
LibreOffice Calc extension (``libreoffice``, with ``calc_bridge`` run inside Calc)."""
