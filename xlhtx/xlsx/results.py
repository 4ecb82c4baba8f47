"""A results table (``xlhtx calc``, the what-ifs, ``positions import``) as an .xlsx
workbook a desk opens and reads at once, written part by part.

Why not a general writer: 100,000 rows x 25 columns are 2.5 million cells, and a writer
that makes one Python object per cell (openpyxl, XlsxWriter) spends 15-45 s on them.
Here each column is turned into its cells' XML in one pass over an Arrow column, text
goes to the shared-strings part once per distinct value (a million rows share a few
contract codes and statuses), and rows are streamed into the zip in blocks.

What a reader gets:

* one sheet ``results``: a Table ``Results`` (filter buttons, banded rows) or, when the
  headers cannot name Table columns (duplicates, blanks), an AutoFilter; the header row
  frozen;
* numbers stay numbers; the number format carries the unit and the decimals: money in
  the row's margin asset (``1,234.56 USDT``, ``0.01234567 BTC``), prices with decimals
  by the size of the row's entry price, ratios as percentages, contracts whole or to 4
  decimals; a margin ratio with no equity left (+inf, which a cell cannot hold) says so
  in words;
* columns as wide as their widest formatted value (within 8-60 characters);
* rows tinted by status (red past liquidation, amber warning, grey error) with
  conditional formats, so a re-sort or a filter keeps the colours;
* text is always a string cell, never a formula; characters XML cannot carry are written
  as ``\\xNN``.

The parts follow what Excel itself writes (shared strings, ``r`` on every row and cell,
a Table part with its own relationship); the zip's timestamps are fixed, so the same
table gives the same bytes.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as ILLEGAL_XML
from openpyxl.utils import get_column_letter

from xlhtx.errors import XlhtxError
from xlhtx.xlsx.package import (FIXED_TIME, MAIN, MAX_COL as MAX_COLS, MAX_ROW as MAX_ROWS,
                                MAX_TEXT, PKG_REL as PKG, REL)

BLOCK = 20_000          # rows per write into the zip
SHEET, TABLE = "results", "Results"

# result columns by what they hold (the column's key: lower case, ``_result`` taken off)
PRICES = frozenset(("entry_price", "mark_price", "liq_price", "bankruptcy_price",
                    "trigger_price", "target_liq_price", "price", "cost_hold",
                    "htx_liq_price", "liq_price_diff", "last_price", "cost_open"))
MONEY = frozenset(("notional", "initial_margin", "maint_margin", "pnl", "equity", "margin",
                   "margin_to_add", "margin_after", "margin_balance", "position_margin",
                   "balance", "margin_static", "profit_unreal", "margin_position",
                   "margin_frozen", "withdraw_available", "loss_at_price"))
PERCENTS = frozenset(("margin_ratio", "roe", "distance_to_liq", "mmr", "move_from_mark"))
COUNTS = frozenset(("contracts", "contracts_left", "contracts_before", "contracts_after",
                    "volume", "available"))
RATES = frozenset(("risk_rate", "htx_risk_rate", "adjust_factor"))
STABLE = frozenset(("USDT", "USDC", "USD"))   # money shown to the cent

PERCENT = "#,##0.00%"
RATE = "0.0000"
WHOLE, FRACTION = "#,##0", "#,##0.####"
DATE_TIME, DATE = "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"
EXCEL_EPOCH_DAYS = 25569            # 1970-01-01 as an Excel serial day

# status tints: (text prefix, font colour, fill) — Excel's own "bad", "neutral" and a grey
TINTS = (("past liquidation", "FF9C0006", "FFFFC7CE"),
         ("warning", "FF9C5700", "FFFFEB9C"),
         ("error", "FF3F3F3F", "FFD9D9D9"))


class ResultsFileError(XlhtxError):
    """A table an .xlsx sheet cannot hold; nothing is written."""


# --------------------------------------------------------------------------- styles

@dataclass
class Styles:
    """Number formats in order of first use; cell style ``i`` is format ``i - 1`` (0 is
    General)."""
    codes: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def style(self, code: str | None) -> int:
        if not code:
            return 0
        if code not in self.index:
            self.codes.append(code)
            self.index[code] = len(self.codes)
        return self.index[code]

    def xml(self) -> str:
        # the font names its colour: this package has no theme part for theme colours
        fmts = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{_attr(c)}"/>'
                       for i, c in enumerate(self.codes))
        xfs = "".join(f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" '
                      f'xfId="0" applyNumberFormat="1"/>' for i in range(len(self.codes)))
        dxfs = "".join(f'<dxf><font><color rgb="{font}"/></font><fill><patternFill>'
                       f'<bgColor rgb="{fill}"/></patternFill></fill></dxf>'
                       for _, font, fill in TINTS)
        return (
            f'<styleSheet xmlns="{MAIN}">'
            + (f'<numFmts count="{len(self.codes)}">{fmts}</numFmts>' if self.codes else "")
            + '<fonts count="1"><font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/>'
              '<family val="2"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill>'
              '<fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
              '</border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
              '</cellStyleXfs>'
            + f'<cellXfs count="{len(self.codes) + 1}"><xf numFmtId="0" fontId="0" '
              f'fillId="0" borderId="0" xfId="0"/>{xfs}</cellXfs>'
            + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
              '</cellStyles>'
            + f'<dxfs count="{len(TINTS)}">{dxfs}</dxfs>'
            + '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
              'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')


def money_format(asset: str | None) -> str:
    """Money in its asset: cents for USDT, 8 decimals (a satoshi) for a coin."""
    if not asset or not re.fullmatch(r"[A-Za-z0-9]{1,12}", asset):
        return "#,##0.00######"
    decimals = 2 if asset.upper() in STABLE else 8
    return f'#,##0.{"0" * decimals}" {asset.upper()}"'


def price_decimals(reference: np.ndarray) -> np.ndarray:
    """About six significant figures, 2 to 8 decimals: 29,915.56, 3.05937, 0.19858452."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.floor(np.log10(np.abs(reference)))
    return np.clip(np.nan_to_num(5 - digits, nan=2.0, posinf=8.0, neginf=2.0), 2, 8
                   ).astype(np.int64)


# --------------------------------------------------------------------------- columns

@dataclass
class Column:
    """One column ready to write: ``cells(start, end)`` is the XML of those data rows'
    cells ('' for an empty cell) as an Arrow string array, made a block at a time so
    that only one block is ever held."""
    cells: Callable[[int, int], pa.Array]
    width: float


class At(NamedTuple):
    """Where a column goes: its letter and the data rows' numbers as text."""
    letter: str
    rows: pa.Array


def cell_xml(at: At, a: int, b: int, middle: Any, value: pa.Array,
             close: str) -> pa.Array:
    """``<c r="B7"`` + middle + value + close per row, joined by Arrow (not a Python
    string per cell); null where ``value`` is null."""
    return pc.binary_join_element_wise(f'<c r="{at.letter}', at.rows[a:b], middle, value,
                                       close, "")


def _xml_text(text: str) -> str:
    text = ILLEGAL_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) > MAX_TEXT:   # a longer cell makes Excel repair the file
        text = _cut(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str) -> str:
    """``text`` cut to ``MAX_TEXT`` characters, the note saying how many went: the note's
    own length moves the cut, so the count is settled first."""
    gone = len(text) - MAX_TEXT
    while True:
        note = f" ... ({gone:,} characters cut)"
        settled = len(text) - (MAX_TEXT - len(note))
        if settled == gone:
            return text[:MAX_TEXT - len(note)] + note
        gone = settled


def _attr(text: str) -> str:
    return _xml_text(text).replace('"', "&quot;")


class SharedStrings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0

    def ids(self, values: Iterable[str]) -> list[int]:
        out = []
        for v in values:
            i = self.index.get(v)
            if i is None:
                i = self.index[v] = len(self.index)
            out.append(i)
        return out

    def xml(self) -> str:
        items = []
        for s in self.index:
            t = _xml_text(s)
            space = ' xml:space="preserve"' if t != t.strip() or "\n" in t else ""
            items.append(f"<si><t{space}>{t}</t></si>")
        return (f'<sst xmlns="{MAIN}" count="{self.count}" uniqueCount="{len(self.index)}">'
                + "".join(items) + "</sst>")


def text_column(col: pa.ChunkedArray, at: At, sst: SharedStrings) -> Column:
    enc = col.combine_chunks().dictionary_encode()
    words = [str(w) for w in enc.dictionary.to_pylist()]
    idx = enc.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    valid = idx < len(words)
    used = np.unique(idx[valid])
    ids = np.full(len(words) + 1, -1, dtype=np.int64)
    ids[used] = sst.ids(words[k] for k in used.tolist())   # only strings a cell shows
    per_row = ids[idx]
    sst.count += int(valid.sum())
    width = max((min(len(words[k]), MAX_TEXT) for k in used.tolist()), default=0)
    cells = string_cells(at, per_row)
    return Column(lambda a, b: cells(a, b).fill_null(""), width)


def string_cells(at: At, ids: np.ndarray) -> Callable[[int, int], pa.Array]:
    """Cells showing shared string ``ids[i]`` (-1: null, no cell)."""
    text = pa.array(ids, mask=ids < 0).cast(pa.string())
    return lambda a, b: cell_xml(at, a, b, '" t="s"><v>', text[a:b], "</v></c>")


def number_column(values: np.ndarray, styles: np.ndarray, codes: list[str],
                  style_ids: list[int], at: At, sst: SharedStrings,
                  infinite_word: str = "∞") -> Column:
    """``styles[i]`` indexes ``codes``/``style_ids`` (the row's format). A cell cannot
    hold ±inf: it gets words (``infinite_word`` for +inf)."""
    tags = pa.array([f'" s="{s}"><v>' if s else '"><v>' for s in style_ids])
    finite = np.isfinite(values)
    infinite = np.flatnonzero(np.isinf(values))
    words = {math.inf: infinite_word, -math.inf: "-∞"}
    said = np.full(len(values), -1, dtype=np.int64)
    said[infinite] = sst.ids(words[values[i]] for i in infinite.tolist())
    sst.count += len(infinite)
    words_at = string_cells(at, said)
    # Arrow writes a double's shortest round-trip digits, as repr() does ("1" for 1.0)
    text = pa.array(values, mask=~finite).cast(pa.string())
    row_tags = tags.take(pa.array(styles))

    def cells(a: int, b: int) -> pa.Array:
        out = cell_xml(at, a, b, row_tags[a:b], text[a:b], "</v></c>")
        if len(infinite):
            out = pc.coalesce(out, words_at(a, b))
        return out.fill_null("")
    width = min(24.0, max((len(words[values[i]]) for i in infinite.tolist()), default=0))
    for k, code in enumerate(codes):
        rows = finite & (styles == k)
        if rows.any():
            width = max(width, shown_width(values[rows], code))
    return Column(cells, width)


def shown_width(values: np.ndarray, code: str) -> float:
    """The widest of ``values`` as ``code`` shows them (digits, separators, decimals,
    suffix), from the largest magnitude and the sign: no per-cell formatting."""
    big = float(np.max(np.abs(values)))
    if "%" in code:
        big *= 100
    if not code or code == "General":
        return min(11, max(len(repr(float(v))) for v in (np.max(values), np.min(values))))
    digits = 1 if big < 1 else int(math.floor(math.log10(big))) + 1
    grouped = digits + (digits - 1) // 3 if "," in code else digits
    decimals = len(re.search(r"\.([0#]*)", code).group(1)) if "." in code else 0
    suffix = re.search(r'"([^"]*)"', code)
    return (grouped + (decimals + 1 if decimals else 0) + bool((values < 0).any())
            + ("%" in code) + (len(suffix.group(1)) if suffix else 0))


def column_formats(key: str, values: np.ndarray, assets: Assets | None,
                   entry: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Per row an index into the returned format codes."""
    n = len(values)
    if key in MONEY and assets is not None:
        return assets.rows, [money_format(a) for a in assets.names]
    if key in MONEY:
        return np.zeros(n, np.int64), ["#,##0.00######"]
    if key in PRICES:
        dec = price_decimals(entry if entry is not None else values)
        codes = ["#,##0." + "0" * d for d in range(2, 9)]
        return dec - 2, codes
    if key in PERCENTS:
        return np.zeros(n, np.int64), [PERCENT]
    if key in RATES:
        return np.zeros(n, np.int64), [RATE]
    if key in COUNTS:
        whole = np.isfinite(values) & (values == np.round(values))
        return np.where(whole, 0, 1), [WHOLE, FRACTION]
    return np.zeros(n, np.int64), [""]


def _numbers(col: pa.ChunkedArray) -> np.ndarray:
    arr = col.combine_chunks()
    if pa.types.is_decimal(arr.type) or pa.types.is_integer(arr.type):
        arr = arr.cast(pa.float64(), safe=False)
    return np.asarray(arr.fill_null(math.nan).to_numpy(zero_copy_only=False), dtype=float)


def _times(col: pa.ChunkedArray) -> tuple[np.ndarray, str]:
    arr = col.combine_chunks()
    if pa.types.is_date(arr.type):
        days = arr.cast(pa.date32()).cast(pa.int32())
        return _numbers(pa.chunked_array([days])) + EXCEL_EPOCH_DAYS, DATE
    micros = arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(pa.int64())
    code = DATE_TIME + (' "UTC"' if arr.type.tz else "")
    return _numbers(pa.chunked_array([micros])) / 86_400e6 + EXCEL_EPOCH_DAYS, code


# --------------------------------------------------------------------------- the sheet

CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def write_results(table: pa.Table, path: str, keys: list[str] | None = None,
                  infinite: dict[str, str] | None = None, sheet: str = SHEET) -> None:
    """Write ``table`` to ``path`` (an .xlsx) as described in the module docstring.
    ``keys``: per column what it holds (``liq_price``, ``pnl``, ``margin_asset``, ...;
    default the lower-cased names); ``infinite``: by key, the words a +inf cell shows (a
    margin ratio with no equity left, as the Excel functions say it)."""
    n, k = table.num_rows, table.num_columns
    if n + 1 > MAX_ROWS or k > MAX_COLS:
        raise ResultsFileError(
            f"{n:,} rows x {k:,} columns do not fit one Excel sheet (at most "
            f"{MAX_ROWS - 1:,} rows and {MAX_COLS:,} columns): write .csv or .parquet")
    names = [str(c) for c in table.column_names]
    keys = keys or [n.strip().lower() for n in names]
    sst, styles = SharedStrings(), Styles()
    assets = assets_by_row(table, keys)
    entry = _numbers(table.column(keys.index("entry_price"))) if "entry_price" in keys else None
    header = sst.ids(names)
    sst.count += k
    letters = [get_column_letter(j + 1) for j in range(k)]
    rows = pa.array(np.arange(2, n + 2)).cast(pa.string())
    columns = [_column(table.column(j), keys[j], At(letters[j], rows), sst, styles, assets,
                       entry, (infinite or {}).get(keys[j], "∞")) for j in range(k)]
    widths = [min(60.0, max(8.0, len(_xml_text(h)) + 3, c.width + 2))
              for h, c in zip(names, columns)]
    last = f"{letters[-1]}{n + 1}" if k else "A1"
    as_table = k and n and _table_names_ok(names)
    status = keys.index("status") if "status" in keys else None

    def sheet_rows() -> Iterable[str]:
        yield (f'<row r="1" spans="1:{k}">' + "".join(
            f'<c r="{L}1" t="s"><v>{i}</v></c>' for L, i in zip(letters, header)) + "</row>")
        spans = f'" spans="1:{k}">'
        for start in range(0, n, BLOCK):
            end = min(n, start + BLOCK)
            xml = pc.binary_join_element_wise('<row r="', rows[start:end], spans,
                                              *(c.cells(start, end) for c in columns),
                                              "</row>", "")
            yield concatenated(xml)

    head = (DECL + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="A1:{last}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" '
            'topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection '
            'pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + ("<cols>" + "".join(f'<col min="{j}" max="{j}" width="{w:.4g}" customWidth="1"/>'
                                  for j, w in enumerate(widths, 1)) + "</cols>" if k else "")
            + "<sheetData>")
    tail = "</sheetData>"
    if k and n and not as_table:
        tail += f'<autoFilter ref="A1:{last}"/>'
    if status is not None and n:
        col = letters[status]
        tail += f'<conditionalFormatting sqref="A2:{last}">' + "".join(
            f'<cfRule type="expression" dxfId="{d}" priority="{d + 1}" stopIfTrue="1">'
            f'<formula>LEFT(${col}2,{len(word)})="{word}"</formula></cfRule>'
            for d, (word, _, _) in enumerate(TINTS)) + "</conditionalFormatting>"
    tail += ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
             'footer="0.3"/><pageSetup orientation="landscape"/>')
    tail += '<tableParts count="1"><tablePart r:id="rId1"/></tableParts>' if as_table else ""
    tail += "</worksheet>"

    parts: list[tuple[str, str | Callable[[], Iterable[str]]]] = [
        ("[Content_Types].xml", _content_types(as_table)),
        ("_rels/.rels", _rels([("officeDocument", f"{REL}/officeDocument", "xl/workbook.xml"),
                               ("core", f"{PKG}/metadata/core-properties", "docProps/core.xml"),
                               ("app", f"{REL}/extended-properties", "docProps/app.xml")])),
        ("docProps/app.xml", _app(sheet)),
        ("docProps/core.xml", _core()),
        ("xl/workbook.xml", _workbook(sheet, as_table, last)),
        ("xl/_rels/workbook.xml.rels", _rels([
            ("", f"{REL}/worksheet", "worksheets/sheet1.xml"),
            ("", f"{REL}/styles", "styles.xml"),
            ("", f"{REL}/sharedStrings", "sharedStrings.xml")])),
        ("xl/worksheets/sheet1.xml", lambda: [head, *sheet_rows(), tail]),
    ]
    if as_table:
        parts.append(("xl/worksheets/_rels/sheet1.xml.rels",
                      _rels([("", f"{REL}/table", "../tables/table1.xml")])))
        parts.append(("xl/tables/table1.xml", _table(names, last)))
    parts.append(("xl/styles.xml", lambda: [DECL + styles.xml()]))
    parts.append(("xl/sharedStrings.xml", lambda: [DECL + sst.xml()]))
    _zip(path, parts)


def _column(col: pa.ChunkedArray, key: str, at: At, sst: SharedStrings, styles: Styles,
            assets: Assets | None, entry: np.ndarray | None, infinite_word: str) -> Column:
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if pa.types.is_null(t):
        return Column(lambda a, b: pa.array([""] * (b - a)), 0)
    if pa.types.is_boolean(t):
        flags = col.combine_chunks().cast(pa.int8()).cast(pa.string())
        return Column(lambda a, b: cell_xml(at, a, b, '" t="b"><v>', flags[a:b], "</v></c>"
                                            ).fill_null(""), 5)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        values, code = _times(col)
        c = number_column(values, np.zeros(len(values), np.int64), [code],
                          [styles.style(code)], at, sst)
        c.width = len(code.replace('"', ""))
        return c
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = _numbers(col)
        rows, codes = column_formats(key, values, assets, entry)
        return number_column(values, rows, codes, [styles.style(x) for x in codes], at, sst,
                             infinite_word)
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        col = pa.chunked_array([pa.array([None if v is None else str(v)
                                          for v in col.to_pylist()], pa.string())])
    return text_column(col.cast(pa.string()) if col.type != pa.string() else col, at, sst)


class Assets(NamedTuple):
    """The margin asset per row: ``names[rows[i]]`` (None where a row has none)."""
    rows: np.ndarray
    names: list[str | None]


def assets_by_row(table: pa.Table, keys: list[str]) -> Assets | None:
    if "margin_asset" not in keys:
        return None
    enc = table.column(keys.index("margin_asset")).combine_chunks().cast(pa.string()
                                                                         ).dictionary_encode()
    names = enc.dictionary.to_pylist() + [None]
    rows = enc.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
    return Assets(rows.astype(np.int64), names)


def _table_names_ok(names: list[str]) -> bool:
    """Excel's rules for Table column names: present, unique ignoring case, one line."""
    folded = [n.strip().casefold() for n in names]
    return (all(folded) and len(set(folded)) == len(folded)
            and not any(ILLEGAL_XML.search(n) or "\n" in n or "\r" in n for n in names))


def _table(names: list[str], ref: str) -> Callable[[], list[str]]:
    cols = "".join(f'<tableColumn id="{j}" name="{_attr(n)}"/>' for j, n in enumerate(names, 1))
    return lambda: [
        DECL + f'<table xmlns="{MAIN}" id="1" name="{TABLE}" displayName="{TABLE}" '
        f'ref="A1:{ref}" totalsRowShown="0"><autoFilter ref="A1:{ref}"/>'
        f'<tableColumns count="{len(names)}">{cols}</tableColumns>'
        '<tableStyleInfo name="TableStyleLight9" showFirstColumn="0" showLastColumn="0" '
        'showRowStripes="1" showColumnStripes="0"/></table>']


def _content_types(as_table: bool) -> Callable[[], list[str]]:
    over = [("/docProps/app.xml", "application/vnd.openxmlformats-officedocument."
             "extended-properties+xml"),
            ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
            ("/xl/styles.xml", f"{CT}.styles+xml"),
            ("/xl/workbook.xml", f"{CT}.sheet.main+xml"),
            ("/xl/worksheets/sheet1.xml", f"{CT}.worksheet+xml"),
            *([("/xl/tables/table1.xml", f"{CT}.table+xml")] if as_table else []),
            ("/xl/sharedStrings.xml", f"{CT}.sharedStrings+xml")]
    return lambda: [
        DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{c}"/>' for p, c in over)
        + "</Types>"]


def _rels(targets: list[tuple[str, str, str]]) -> Callable[[], list[str]]:
    return lambda: [DECL + f'<Relationships xmlns="{PKG}">' + "".join(
        f'<Relationship Id="rId{i}" Type="{typ}" Target="{target}"/>'
        for i, (_, typ, target) in enumerate(targets, 1)) + "</Relationships>"]


def _workbook(sheet: str, as_table: bool, last: str) -> Callable[[], list[str]]:
    absolute = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", last)
    names = "" if as_table or last == "A1" else (
        '<definedName name="_xlnm._FilterDatabase" localSheetId="0" '
        f'hidden="1">{sheet}!$A$1:{absolute}</definedName>')
    # the header row printed on every page
    names += f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{sheet}!$1:$1</definedName>'
    hidden = f"<definedNames>{names}</definedNames>"
    return lambda: [
        DECL + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr/><bookViews>'
        '<workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/>'
        f'</bookViews><sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets>'
        f'{hidden}<calcPr calcId="191029"/></workbook>']


def _app(sheet: str) -> Callable[[], list[str]]:
    return lambda: [
        DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        '2006/docPropsVTypes"><Application>xlhtx</Application><DocSecurity>0</DocSecurity>'
        '<ScaleCrop>false</ScaleCrop><HeadingPairs><vt:vector size="2" baseType="variant">'
        '<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4>'
        '</vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="1" '
        f'baseType="lpstr"><vt:lpstr>{sheet}</vt:lpstr></vt:vector></TitlesOfParts>'
        '<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>'
        '<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion>'
        '</Properties>']


def _core() -> Callable[[], list[str]]:
    stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % FIXED_TIME
    return lambda: [
        DECL + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/'
        'dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>xlhtx'
        '</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">' + stamp
        + '</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">' + stamp
        + "</dcterms:modified></cp:coreProperties>"]


def concatenated(strings: pa.Array) -> memoryview:
    """All of a string array's values end to end, straight from its data buffer (no
    Python string per row)."""
    strings = strings.cast(pa.large_string()) if strings.null_count == 0 else \
        strings.fill_null("").cast(pa.large_string())
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    first, last = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return memoryview(strings.buffers()[2])[first:last] if last > first else memoryview(b"")


def _zip(path: str, parts: list[tuple[str, Callable[[], Iterable[str]]]]) -> None:
    # level 1: the sheet XML is repetitive, so it still shrinks ~8x, at several times
    # the speed of the default level
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, make in parts:   # a name (not a ZipInfo) takes the level above and
            with z.open(name, "w", force_zip64=True) as f:   # zip's fixed 1980 date
                for chunk in make():
                    f.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
