"""Turning Excel-shaped values into the arrays the kernels take.

What arrives: numbers, text, ``None`` for an empty cell, booleans, flat lists for a
single column, tuples/lists of tuples for a 2-D range, NumPy arrays, pandas Series.
Every argument becomes one column; columns broadcast (length 1 or N). Values that are
not usable are recorded per row with a message naming the argument, the value and what
would be valid; the row then carries a NaN/invalid code so the kernel skips it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from xlhtx.errors import XlhtxError

SIDES = {"long": 1, "buy": 1, "1": 1, "+1": 1, "1.0": 1,
         "short": -1, "sell": -1, "-1": -1, "-1.0": -1}
MODE_CODES = {"isolated": 0, "cross": 1}


class Categorical:
    """A text column given as integer codes into a list of categories (what pandas
    categoricals and Arrow dictionary arrays hold): mapped per category, not per row."""

    def __init__(self, codes: np.ndarray, categories: list):
        self.codes = np.asarray(codes)
        self.categories = list(categories)

    def __len__(self) -> int:
        return self.codes.shape[0]

    def __getitem__(self, i: int) -> Any:
        c = self.codes[i]
        return None if c < 0 else self.categories[c]

    def map(self, one: Any, dtype: Any) -> np.ndarray:
        table = np.array([one(v) for v in self.categories] + [one(None)], dtype=dtype)
        return table[np.where(self.codes < 0, len(self.categories), self.codes)]


THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(text: str) -> float:
    """A number typed as text: ``30000.5``, ``1e3``, ``30,000.5`` (commas only as thousands
    separators). Raises ``ValueError`` with the reason for anything else: a decimal comma
    (``30000,5`` is not 300005), ``nan``, ``inf``, words."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in t:
        if not THOUSANDS.match(t):
            raise ValueError("has a comma that is not a thousands separator; write the "
                             "decimal point as '.' (30000.5)")
        t = t.replace(",", "")
    x = float(t)
    if not math.isfinite(x):
        raise ValueError("is not a finite number")
    return x


class ArgError(XlhtxError):
    """An argument that makes the whole call impossible (shape, unequal lengths)."""


def describe(v: Any) -> str:
    """A cell value as a person would recognise it in a message."""
    if v is None:
        return "empty"
    if isinstance(v, str):
        return repr(v) if v.strip() else "empty text"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (float, np.floating)):
        return format(float(v), ".10g")
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 64:
        return f"an integer of about {int(v.bit_length() * 0.30103) + 1} digits"
    return str(v)


def column(value: Any, name: str) -> Any:
    """One argument -> a list, a 1-D ndarray or a ``Categorical`` (a scalar is a column
    of one)."""
    if isinstance(value, Categorical):
        return value
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return [value.item()]
        if value.ndim == 2 and min(value.shape) > 1 or value.ndim > 2:
            raise ArgError(f"{name}: expects one column or one row, got a "
                           f"{'x'.join(map(str, value.shape))} range")
        return value.ravel()
    if isinstance(value, (list, tuple)):
        if not value:
            return []
        if isinstance(value[0], (list, tuple)):
            if len(value[0]) == 1:
                try:   # one pass: every row must unpack to exactly one cell
                    return [v for (v,) in value]
                except (ValueError, TypeError):
                    pass
            elif len(value) == 1:
                return list(value[0])
            try:
                widths = set(map(len, value))
            except TypeError:
                widths = {-1}
            if len(widths) > 1:
                raise ArgError(f"{name}: a ragged range (rows of {len(widths)} different "
                               "widths); give one column or one row")
            raise ArgError(f"{name}: expects one column or one row, got a "
                           f"{len(value)}x{len(value[0])} range")
        return list(value)
    return [value]


def orientation(value: Any) -> str | None:
    """``column`` or ``row`` for a 2-D range of more than one cell laid out so, else None
    (a single cell, or a 1-D sequence that has no orientation)."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        rows, cols = value.shape
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        rows, cols = len(value), len(value[0])
    else:
        return None
    if rows > 1 and cols == 1:
        return "column"
    if rows == 1 and cols > 1:
        return "row"
    return None


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class Batch:
    """The columns of one call, broadcast to a common length, with per-row problems.

    ``errors`` maps a row to the first message about it; ``row_is_empty`` tells the
    rows whose required arguments are all empty (they give an empty result).
    """

    def __init__(self, **cols: Any):
        shapes = {k: orientation(v) for k, v in cols.items()}
        if {"column", "row"} <= set(shapes.values()):
            col = next(k for k, o in shapes.items() if o == "column")
            row = next(k for k, o in shapes.items() if o == "row")
            raise ArgError(f"{col} is a column and {row} a row: give every range as a "
                           "column, or every range as a row")
        self.raw = {k: column(v, k) for k, v in cols.items()}
        lengths = {k: len(v) for k, v in self.raw.items()}
        n = max(lengths.values(), default=1)
        bad = {k: m for k, m in lengths.items() if m not in (1, n)}
        if bad:
            raise ArgError("ranges of unequal length: " + ", ".join(
                f"{k} has {m}" for k, m in lengths.items() if m != 1) + "; give every "
                "range the same number of rows (or a single cell)")
        self.n = n
        self.errors: dict[int, str] = {}
        self.required: tuple[str, ...] = ()

    def value(self, name: str, i: int) -> Any:
        col = self.raw[name]
        v = col[i if len(col) > 1 else 0]
        return v.item() if isinstance(v, np.generic) else v

    def _error(self, i: int, msg: str) -> None:
        self.errors.setdefault(i, msg)

    def mark_empty(self, *required: str) -> None:
        """Rows whose required arguments are all empty give an empty result. Such a row
        always fails coercion, so callers ask ``row_is_empty`` only of rows that failed."""
        self.required = required

    def row_is_empty(self, i: int) -> bool:
        return bool(self.required) and all(
            not isinstance(self.raw[k], np.ndarray) and is_blank(self.value(k, i))
            for k in self.required)

    def empty_mask(self) -> np.ndarray:
        """Every row's emptiness, column by column (a NumPy column is never empty)."""
        if not self.required:
            return np.zeros(self.n, dtype=bool)
        mask = np.ones(self.n, dtype=bool)
        for k in self.required:
            col = self.raw[k]
            if isinstance(col, np.ndarray):
                return np.zeros(self.n, dtype=bool)
            if isinstance(col, Categorical):
                blank = np.append(np.fromiter(map(is_blank, col.categories), bool,
                                              len(col.categories)), True)
                m = blank[np.where(col.codes < 0, len(col.categories), col.codes)]
            else:
                m = np.fromiter(map(is_blank, col), bool, len(col))
            mask &= m if m.shape[0] == self.n else np.full(self.n, bool(m[0]) if len(m) else True)
        return mask

    # ------------------------------------------------------------------ columns
    def floats(self, name: str, *, default: float | None = None) -> np.ndarray:
        """A float64 column; an empty cell takes ``default`` (NaN = "use the default").

        Without a default an empty cell, text or TRUE/FALSE is an error for that row.
        """
        col = self.raw[name]
        if isinstance(col, np.ndarray) and col.dtype.kind in "fiu":
            out = np.ascontiguousarray(col, dtype=np.float64)
            if default is not None and not math.isnan(default):
                out = np.where(np.isnan(out), default, out)
            return self._broadcast(out)
        col = list(col)
        if col and set(map(type, col)) <= {float, int}:
            try:
                return self._broadcast(np.array(col, dtype=np.float64))
            except OverflowError:   # an int beyond float64: said per cell below
                pass
        out = np.empty(len(col), dtype=np.float64)
        for i, v in enumerate(col):
            out[i] = self._float(name, i, v, default)
        return self._broadcast(out)

    def whole(self, name: str) -> np.ndarray:
        """``floats`` of an argument HTX takes in whole numbers (leverage): a value within
        float noise of a whole number (``=100*1.25`` gives 124.99999999999999) is that
        number."""
        x = self.floats(name)
        if x.shape[0] == 1:   # one cell (most Excel calls): plain floats, no array passes
            v = float(x[0])
            if math.isfinite(v) and abs(v - round(v)) <= 1e-9 * abs(round(v)):
                x = np.array([float(round(v))])
            return x
        r = np.round(x)
        # inf - inf is NaN (no match: inf and NaN stay as they are), without a warning
        diff = np.subtract(x, r, out=np.full_like(x, np.inf), where=np.isfinite(x))
        return np.where(np.abs(diff) <= 1e-9 * np.abs(r), r, x)

    def _float(self, name: str, i: int, v: Any, default: float | None) -> float:
        if is_blank(v):
            if default is not None:
                return default
            self._error_all(name, i, f"#VALUE! {name} is empty; a number is required")
            return math.nan
        if isinstance(v, (bool, np.bool_)):
            self._error_all(name, i, f"#VALUE! {name} is {describe(v)}, not a number")
            return math.nan
        if isinstance(v, str):
            try:
                return parse_number(v)
            except ValueError as e:
                reason = str(e) if "comma" in str(e) or "finite" in str(e) else "is not a number"
                self._error_all(name, i, f"#VALUE! {name} = {describe(v)} {reason}")
                return math.nan
        try:
            return float(v)
        except OverflowError:
            self._error_all(name, i, f"#VALUE! {name} = {describe(v)} is beyond the "
                                     "range of numbers (about 1.8e308)")
            return math.nan
        except (TypeError, ValueError):
            self._error_all(name, i, f"#VALUE! {name} = {describe(v)} is not a number")
            return math.nan

    def _error_all(self, name: str, i: int, msg: str) -> None:
        """An error in a broadcast scalar applies to every row."""
        if len(self.raw[name]) == 1 and self.n > 1:
            for r in range(self.n):
                self._error(r, msg)
        else:
            self._error(i, msg)

    def sides(self, name: str = "side") -> np.ndarray:
        def one(v: Any) -> int:
            if isinstance(v, str):
                return SIDES.get(v.strip().lower(), 0)
            if isinstance(v, (bool, np.bool_)) or v is None:
                return 0
            try:
                return {1.0: 1, -1.0: -1}.get(float(v), 0)
            except (TypeError, ValueError):
                return 0
        return self._codes(name, one, np.int8, required=True)

    def modes(self, name: str = "mode") -> np.ndarray:
        def one(v: Any) -> int:
            if is_blank(v):
                return 0
            return MODE_CODES.get(str(v).strip().lower(), 2)
        return self._codes(name, one, np.int8)

    def texts(self, name: str = "contract") -> set:
        """The distinct text values of a column (for resolving contract codes once)."""
        col = self.raw.get(name)
        if isinstance(col, Categorical):
            return {v for v in col.categories if isinstance(v, str)}
        if col is None or (isinstance(col, np.ndarray) and col.dtype.kind in "iufb"):
            return set()
        try:
            return {v for v in set(col) if isinstance(v, str)}
        except TypeError:   # an unhashable cell value
            return {v for v in col if isinstance(v, str)}

    def contracts(self, table: Any, name: str = "contract") -> np.ndarray:
        index = table.index

        def one(v: Any) -> int:
            return index.get(v.strip().upper(), -1) if isinstance(v, str) else -1
        return self._codes(name, one, np.int32, required=True)

    def _codes(self, name: str, one: Any, dtype: Any, required: bool = False) -> np.ndarray:
        """Map each cell through ``one``, once per distinct value (columns repeat a few
        codes)."""
        col = self.raw[name]
        if isinstance(col, Categorical):
            out = col.map(one, dtype)
            blank = np.flatnonzero(col.map(is_blank, bool))
        elif isinstance(col, np.ndarray) and col.dtype.kind in "iuf":
            # a numeric column: map each distinct value once, then index (no per-row Python)
            uniq, inverse = np.unique(col, return_inverse=True)
            out = np.array([one(v.item()) for v in uniq], dtype=dtype)[inverse.ravel()]
            blank = np.flatnonzero(np.isnan(col)) if col.dtype.kind == "f" else []
        else:
            col = [v.item() if isinstance(v, np.generic) else v for v in col] \
                if isinstance(col, np.ndarray) else col
            try:
                uniq = {v: one(v) for v in set(col)}
                out = np.fromiter(map(uniq.__getitem__, col), dtype, len(col))
                any_blank = any(is_blank(v) for v in uniq)
            except TypeError:  # an unhashable cell value
                out = np.fromiter(map(one, col), dtype, len(col))
                any_blank = True
            blank = [i for i, v in enumerate(col) if is_blank(v)] if required and any_blank else []
        if required:
            for i in blank:
                self._error_all(name, int(i), f"#VALUE! {name} is empty")
        return self._broadcast(out)

    def _broadcast(self, arr: np.ndarray) -> np.ndarray:
        if arr.shape[0] == self.n:
            return arr
        return np.full(self.n, arr[0] if arr.shape[0] else 0, dtype=arr.dtype)
