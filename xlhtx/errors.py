"""The errors xlhtx raises, one family so callers can catch them as one.

Library code raises these with a message written for the person who gave the input;
only the command line (``xlhtx.cli``) turns them into exit codes, and only the Excel
functions (``xlhtx.excel.udfs``) turn them into cell text.
"""


class XlhtxError(ValueError):
    """Input that cannot be used, with the reason in words."""


class CellError(XlhtxError):
    """A spreadsheet call that cannot be computed; its text is what the cell shows."""
