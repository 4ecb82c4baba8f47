"""Questions asked of a position or a book: what-ifs (``whatif``), the liquidation map
(``liqmap``) and its chart (``charts``)."""
