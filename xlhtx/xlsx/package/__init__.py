"""The parts of an .xlsx/.xlsm package, read and edited through an XML library (lxml),
so a namespace prefix, attribute order or encoding is the parser's business, not ours.

* Reading: which part holds which sheet, the shared strings, the Tables and defined
  names, and each sheet's cells, streamed row by row (a 100,000-row sheet is never
  held as one tree).
* Writing cached values (``inject_values``): one streaming pass per sheet that puts the
  computed values into formula cells and the cells a formula spills into, optionally
  dropping formulas and the VBA project; every other part is copied byte for byte.
* ``replace_tables``: refreshing the reference Tables of a workbook in place (the template
  itself is written by XlsxWriter).

One module per concern: ``parts`` (the zip, relationships, layout), ``reading`` (cells,
shared strings, Tables, names), ``writing`` (cached values into a copy), ``charts``
(chart caches), ``calc`` (calculation settings), ``reference_tables`` (reference Tables
refreshed).
"""

from __future__ import annotations

# the names the rest of xlhtx uses, from the modules that hold them
# ruff: noqa: F401
from xlhtx.xlsx.package.parts import (C, ERRORS, ExcelError, F, FIXED_TIME, IS, LayoutError,
                                      MAIN, MAX_COL, MAX_ROW, PARSER, PKG_REL, Parts, R, REL,
                                      ROW, SHEET_DATA, STRICT, T, TYPES, V, check_layout,
                                      document, drop_overrides, drop_relationships, parse, q,
                                      read_parts, relationships, rels_part, sheet_parts,
                                      workbook_part, write_parts, zip_info)
from xlhtx.xlsx.package.reading import (Formula, SheetCells, TableInfo, cell_ref, cell_value,
                                        decode, defined_names, iter_rows, read_cells,
                                        read_fast, row_number, shared_strings, split_ref,
                                        tables)
from xlhtx.xlsx.package.writing import (MAX_TEXT, SharedStrings, SheetValues, inject_values,
                                        rewrite_sheet, safe_value_xml, sheet_chunks,
                                        value_xml)
from xlhtx.xlsx.package.charts import CHART, chart_with_values
from xlhtx.xlsx.package.calc import EXCEL_CALC_ID, fresh_calc, stale_calc
from xlhtx.xlsx.package.reference_tables import replace_tables
