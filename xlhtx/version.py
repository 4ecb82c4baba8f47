"""The add-in's version (one place: the package, the CLI, the workbook and HTX_VERSION)."""

__version__ = "0.1.0"
