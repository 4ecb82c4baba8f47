"""Turning Excel-shaped values into the arrays the kernels take.

What arrives: numbers, text, ``None`` for an empty cell, booleans, flat lists for a
single column, tuples/lists of tuples for a 2-D range, NumPy arrays, pandas Series.
Every argument becomes one column; columns broadcast (length 1 or N). Values that are
not usable are recorded per row with a message naming the argument, the value and what
would be valid; the row then carries a NaN/invalid code so the kernel skips it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


class ArgError(ValueError):
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
            if len(value[0]) == 1 and all(isinstance(r, (list, tuple)) and len(r) == 1
                                          for r in value):
                return [r[0] for r in value]
            if len(value) == 1:
                return list(value[0])
            raise ArgError(f"{name}: expects one column or one row, got a "
                           f"{len(value)}x{len(value[0])} range")
        return list(value)
    return [value]


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class Batch:
    """The columns of one call, broadcast to a common length, with per-row problems.

    ``errors`` maps a row to the first message about it; ``empty`` marks rows whose
    required arguments are all empty (they give an empty result).
    """

    def __init__(self, **cols: Any):
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
        self.empty = np.zeros(n, dtype=bool)

    def value(self, name: str, i: int) -> Any:
        col = self.raw[name]
        v = col[i if len(col) > 1 else 0]
        return v.item() if isinstance(v, np.generic) else v

    def _error(self, i: int, msg: str) -> None:
        self.errors.setdefault(i, msg)

    def mark_empty(self, *required: str) -> None:
        """Rows whose required arguments are all empty give an empty result."""
        if self.n == 0:
            return
        blank = np.ones(self.n, dtype=bool)
        for name in required:
            col = self.raw[name]
            if isinstance(col, np.ndarray):
                return
            if isinstance(col, Categorical):
                b = col.map(is_blank, bool)
            else:
                b = np.fromiter((is_blank(v) for v in col), bool, len(col))
            blank &= b if len(col) > 1 else np.full(self.n, b[0])
        self.empty = blank

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
        if col and all(type(v) is float or type(v) is int for v in col):
            return self._broadcast(np.array(col, dtype=np.float64))
        out = np.empty(len(col), dtype=np.float64)
        for i, v in enumerate(col):
            out[i] = self._float(name, i, v, default)
        return self._broadcast(out)

    def _float(self, name: str, i: int, v: Any, default: float | None) -> float:
        if is_blank(v):
            if default is not None:
                return default
            self._error_all(name, i, f"#VALUE! {name} is empty; a number is required")
            return math.nan
        if isinstance(v, (bool, np.bool_)):
            self._error_all(name, i, f"#VALUE! {name} is {describe(v)}, not a number")
            return math.nan
        try:
            return float(v.replace(",", "") if isinstance(v, str) else v)
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

    def contracts(self, table: Any, name: str = "contract") -> np.ndarray:
        index = table.index

        def one(v: Any) -> int:
            return index.get(v.strip().upper(), -1) if isinstance(v, str) else -1
        return self._codes(name, one, np.int32, required=True)

    def _codes(self, name: str, one: Any, dtype: Any, required: bool = False) -> np.ndarray:
        """Map each cell through ``one`` (memoized: columns repeat a few codes)."""
        col = self.raw[name]
        if isinstance(col, Categorical):
            out = col.map(one, dtype)
            if required:
                for i in np.flatnonzero(col.map(is_blank, bool)):
                    self._error_all(name, int(i), f"#VALUE! {name} is empty")
            return self._broadcast(out)
        uniq: dict[Any, int] = {}
        out = np.empty(len(col), dtype=dtype)
        for i, v in enumerate(col):
            v = v.item() if isinstance(v, np.generic) else v
            try:
                code = uniq[v]
            except KeyError:
                code = uniq[v] = one(v)
            except TypeError:  # unhashable cell value
                code = one(v)
            out[i] = code
            if required and is_blank(v):
                self._error_all(name, i, f"#VALUE! {name} is empty")
        return self._broadcast(out)

    def _broadcast(self, arr: np.ndarray) -> np.ndarray:
        if arr.shape[0] == self.n:
            return arr
        return np.full(self.n, arr[0] if arr.shape[0] else 0, dtype=arr.dtype)
