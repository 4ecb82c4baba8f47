"""The ``xlhtx`` command line: ``commands`` (parser and the table commands), ``workbook``
(workbook build, recalc and reference sheets) and ``demo``."""

from xlhtx.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
