"""Reading and writing positions tables (CSV, Parquet, XLSX, chosen by extension) with
pyarrow, and turning them into the columns ``xlhtx.tables.metrics`` computes on.

Text columns become ``coerce.Categorical`` through Arrow's dictionary encoding, so a
million rows of contract codes are mapped once per distinct code. Numeric columns with
empty cells keep ``None`` for them, so the messages say "is empty".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


from xlhtx.coerce import Categorical
from xlhtx.files import atomic_write, read_from
from xlhtx.errors import XlhtxError
from xlhtx.messages import NO_EQUITY
from xlhtx.xlsx.results import write_results

TEXT_COLUMNS = ("contract", "side", "margin_mode")
NUMBER_COLUMNS = ("contracts", "entry_price", "leverage", "margin", "mark_price")
FORMATS = (".csv", ".parquet", ".xlsx", ".xlsm")


class TableFileError(XlhtxError):
    """A table file that cannot be read or written, with the reason."""


def file_format(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise TableFileError(f"{path}: unknown table format {ext or '(none)'}; use "
                             f"{', '.join(FORMATS)}")
    return ext


def csv_delimiter(path: Path) -> str:
    """``;`` for a CSV whose header has more semicolons than commas (what Excel writes in
    locales with a decimal comma), else ``,``."""
    with open(path, "rb") as f:
        head = f.readline(1 << 16)
    return ";" if head.count(b";") > head.count(b",") else ","


def plain_text(table: pa.Table) -> pa.Table:
    """``table`` with every text column as Arrow's ``string`` (and dictionaries of text as
    dictionaries of ``string``): polars writes ``large_string``/``string_view`` and
    categoricals of them, which the rest reads as one type."""
    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t) or _is_string_view(t):
            return pa.string()
        if pa.types.is_dictionary(t):
            return pa.dictionary(pa.int32(), plain(t.value_type))
        return t
    schema = pa.schema([f.with_type(plain(f.type)) for f in table.schema])
    if schema.equals(table.schema):
        return table
    cols = []
    for col, f in zip(table.columns, schema):
        if pa.types.is_dictionary(f.type) and col.type != f.type:
            col = col.cast(f.type.value_type).dictionary_encode()
            col = col.cast(pa.dictionary(pa.int32(), f.type.value_type))
        elif col.type != f.type:
            col = col.cast(f.type)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _is_string_view(t: pa.DataType) -> bool:
    return getattr(pa.types, "is_string_view", lambda _: False)(t)


def read_table(path: str | Path, sheet: str | None = None) -> pa.Table:
    """A positions table from CSV, Parquet or XLSX/XLSM (header in row 1; the sheet
    ``sheet``, else a sheet named Positions, else the first)."""
    path = Path(path)
    fmt = file_format(path)
    if not path.exists():
        raise TableFileError(f"{path}: no such file")
    read_from(path)
    try:
        if fmt == ".csv":
            text_types = {c: pa.string() for c in TEXT_COLUMNS}
            return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(
                delimiter=csv_delimiter(path)), convert_options=pacsv.ConvertOptions(
                column_types=text_types, strings_can_be_null=True))
        if fmt == ".parquet":
            return plain_text(pq.read_table(path))
        return _read_xlsx(path, sheet)
    except TableFileError:
        raise
    except (pa.ArrowInvalid, OSError, KeyError, ValueError) as e:
        raise TableFileError(f"{path}: cannot read it as {fmt[1:].upper()}: {e}") from None


def _read_xlsx(path: Path, sheet: str | None = None) -> pa.Table:
    """The sheet's values, read beside its formulas: a formula cell whose file holds no
    saved value reads as empty, and an empty margin is the initial margin (a silent
    wrong number), so such a file is refused naming the cell (files written by Excel
    always hold the values; some generators do not)."""
    from openpyxl.utils import get_column_letter
    from xlhtx.xlsx.workbook_io import open_workbook
    wb = open_workbook(path, read_only=True, data_only=True)
    fw = open_workbook(path, read_only=True, data_only=False)
    try:
        names = {ws.title.lower(): ws for ws in wb.worksheets}
        if sheet is not None and sheet.lower() not in names:
            raise TableFileError(f"{path}: no sheet {sheet!r}; it has "
                                 f"{', '.join(ws.title for ws in wb.worksheets)}")
        ws = names.get((sheet or "positions").lower(), wb.worksheets[0])
        header, data = None, []
        for r, (row, frow) in enumerate(zip(ws.iter_rows(values_only=True),
                                            fw[ws.title].iter_rows(values_only=True)), start=1):
            for c, (v, f) in enumerate(zip(row, frow), start=1):
                if v is None and isinstance(f, str) and f.startswith("="):
                    what = header[c - 1] if header and c <= len(header) and header[c - 1] \
                        else "a cell"
                    raise TableFileError(
                        f"{path}: {ws.title}!{get_column_letter(c)}{r} ({what}) holds the "
                        f"formula {f[:40]} with no saved value; open and save the file in "
                        "Excel or LibreOffice (or run `xlhtx recalc` on it) first")
            if header is None:
                header = [str(h).strip() if h is not None else "" for h in row]
            elif any(v is not None for v in row):
                data.append(list(row))
        header = header or []
    finally:
        wb.close()
        fw.close()
    keep = [(j, h) for j, h in enumerate(header) if h]
    names = [h for _, h in keep]
    return pa.table([_arrow_column(column_key(h), [r[j] if j < len(r) else None for r in data])
                     for j, h in keep], names=names)


def _arrow_column(name: str, values: list) -> pa.Array:
    if name in NUMBER_COLUMNS:
        try:
            return pa.array([None if v in (None, "") else float(v) for v in values],
                            type=pa.float64())
        except (TypeError, ValueError):
            pass  # text in a number column: keep it, the row's message will say so
    if not values:
        return pa.array([])
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or kinds <= {bool}:
        return pa.array(values, from_pandas=True)
    # text, or numbers mixed with text (a formula column that shows a message in some
    # rows): a text column, each cell as it reads
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def column_key(name: str) -> str:
    """A header as a column key: case, spaces and dashes forgiven (``Entry price`` ->
    ``entry_price``)."""
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def columns(table: pa.Table) -> dict[str, Any]:
    """Arrow table -> the columns ``book.compute`` takes (keys from ``column_key``).

    Two headers that name the same column (``leverage`` and ``Leverage``) are refused:
    which one a row was computed with would be a guess."""
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for j, name in enumerate(table.column_names):
        key = column_key(name)
        if key in seen:
            raise TableFileError(f"columns {seen[key]!r} and {name!r} both name {key}; "
                                 "keep one of them")
        seen[key] = name
        col = table.column(j).combine_chunks()
        if pa.types.is_nested(col.type) or pa.types.is_binary(col.type):
            raise TableFileError(f"column {name!r} holds {col.type}, not numbers or text")
        if pa.types.is_dictionary(col.type) or pa.types.is_string(col.type) or \
                pa.types.is_large_string(col.type):
            enc = col.dictionary_encode() if not pa.types.is_dictionary(col.type) else col
            codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
            out[key] = Categorical(codes.astype(np.int64), enc.dictionary.to_pylist())
        elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            if col.null_count:
                out[key] = col.to_pylist()  # None marks the empty cells
            else:
                out[key] = col.to_numpy(zero_copy_only=False).astype(np.float64)
        else:
            out[key] = col.to_pylist()
    return ccxt_columns(out)


# ccxt's position fields, read when the table has no column of xlhtx's own name
CCXT = {"symbol": "contract", "entryprice": "entry_price", "markprice": "mark_price",
        "marginmode": "margin_mode"}


def ccxt_code(symbol: Any) -> Any:
    """A ccxt symbol as HTX's contract code: ``BTC/USDT:USDT`` -> ``BTC-USDT``,
    ``BTC/USD:BTC`` -> ``BTC-USD``, ``BTC/USDT:USDT-250627`` -> ``BTC-USDT-250627``,
    ``BTC/USD:BTC-250627`` -> ``BTC250627``; anything else as it is."""
    if not isinstance(symbol, str) or "/" not in symbol:
        return symbol
    base, rest = symbol.strip().upper().split("/", 1)
    quote, _, settle = rest.partition(":")
    expiry = settle.split("-", 1)[1] if "-" in settle else ""
    if quote == "USD" and expiry:
        return f"{base}{expiry}"
    return f"{base}-{quote}" + (f"-{expiry}" if expiry else "")


def ccxt_columns(out: dict[str, Any]) -> dict[str, Any]:
    """ccxt's names (``symbol``, ``entryPrice``, ``markPrice``, ``marginMode``) where the
    table lacks xlhtx's, and signed contracts (negative = short) where it has no side."""
    for alias, key in CCXT.items():
        if key not in out and alias in out:
            out[key] = out.pop(alias)
            if key == "contract":
                col = out[key]
                out[key] = Categorical(col.codes, [ccxt_code(c) for c in col.categories]) \
                    if isinstance(col, Categorical) else [ccxt_code(c) for c in col]
    if "side" not in out and "contracts" in out and not isinstance(out["contracts"],
                                                                    Categorical):
        try:
            q = np.asarray([np.nan if v is None else v for v in out["contracts"]],
                           dtype=float)
        except (TypeError, ValueError):
            return out   # text among the sizes: the rows' own messages say so
        if np.nanmin(q, initial=0.0) < 0:
            out["side"] = np.where(q < 0, "short", "long").tolist()
            out["contracts"] = np.abs(q)
    return out


def result_table(table: pa.Table, results: dict[str, Any], tiers: Any = None) -> pa.Table:
    """The input columns followed by the result columns, with ``margin_asset`` (USDT or
    the coin: the unit of the money columns) before ``status``. A result whose column the
    input already has (a re-run on its own output) replaces it where it stands: the input
    then keeps its ids and order, and no stale figure stays beside a new one."""
    arrays = {name: table.column(name) for name in table.column_names}
    keys = {column_key(n): n for n in table.column_names}
    results = dict(results)
    status = results.pop("status")
    if tiers is not None and "contract" in keys:
        results["margin_asset"] = margin_assets(table, tiers)
    results["status"] = status
    for name, values in results.items():
        name = keys.get(column_key(name), name)
        if isinstance(values, pa.Array):
            arrays[name] = values
            continue
        text = name in ("status", "margin_asset")
        # NaN is "no number": a null in every format (an empty cell, polars' null)
        arrays[name] = pa.array(values, type=pa.string() if text else None, from_pandas=True)
    return pa.table(arrays)


def margin_assets(table: pa.Table, tiers: Any) -> pa.Array:
    """Per row the margin asset of its contract (null for an unknown contract), mapped
    once per distinct code."""
    name = next(n for n in table.column_names if column_key(n) == "contract")
    enc = table.column(name).combine_chunks().cast(pa.string()).dictionary_encode()
    assets = pa.array([None if v is None or tiers.contract(v) is None
                       else tiers.contract(v).margin_asset
                       for v in enc.dictionary.to_pylist()], type=pa.string())
    return pc.take(assets, enc.indices)


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write by extension, atomically: a temporary file in the same folder, then a rename,
    so a failed write never leaves half a file where the old one was."""
    path = Path(path)
    fmt = file_format(path)
    if fmt == ".xlsm":
        raise TableFileError(f"{path}: results carry no macros; name the output .xlsx")
    atomic_write(path, lambda tmp: _write(table, tmp, fmt))


def _write(table: pa.Table, tmp: str, fmt: str) -> None:
    if fmt == ".csv":
        pacsv.write_csv(inert_csv(table), tmp)
    elif fmt == ".parquet":
        pq.write_table(table, tmp)
    else:
        keys = [column_key(n).removesuffix("_result") for n in table.column_names]
        write_results(table, tmp, keys, {"margin_ratio": NO_EQUITY})


# OWASP "CSV injection": a cell a spreadsheet would read as a formula gets a leading
# apostrophe, which spreadsheets show as text (and which survives a round trip as text)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_csv(table: pa.Table) -> pa.Table:
    """``table`` ready for CSV: text that starts like a formula prefixed with ``'``, NaN
    written as an empty cell (no value), not as the text ``nan``."""
    cols = []
    for col in table.columns:
        col = col.combine_chunks()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.starts_with(col, "=")
            for ch in FORMULA_START[1:]:
                risky = pc.or_(risky, pc.starts_with(col, ch))
            col = pc.if_else(pc.fill_null(risky, False), pc.binary_join_element_wise(
                "'", col, ""), col)
        elif pa.types.is_floating(col.type):
            col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def csv_text(table: pa.Table) -> str:
    """A table as CSV text (for printing to stdout)."""
    buf = pa.BufferOutputStream()
    pacsv.write_csv(inert_csv(table), buf)
    return buf.getvalue().to_pybytes().decode()
