"""The Excel functions (docs/excel.md), generated from their declarations in
``xlhtx.excel.registry``: each is a thin call of ``xlhtx.api`` and the shaping of its result
into cells, which is Excel's business and lives here.

Set ``xlhtx.excel.udfs`` as the UDF module in the xlwings add-in or the workbook's
``xlwings.conf`` sheet and press "Import Functions". Every argument takes a cell or a
range; ranges broadcast against single cells and the result spills (a column in gives a
column out, a row gives a row). A call over a 100,000-row column is one kernel call.

A call with single cells that cannot be computed raises one message, which xlwings shows
in the cell; in a call over ranges the bad rows show a short ``#VALUE! ...`` /
``#N/A ...`` text and the other rows compute. "No liquidation possible" is a result, not
an error: the cell says so.
"""

from __future__ import annotations

import gc
import inspect
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import xlwings as xw

from xlhtx import api
from xlhtx.coerce import ArgError, Batch
from xlhtx.excel.registry import CATEGORY, FUNCTIONS as REGISTRY, Function
from xlhtx.errors import CellError, XlhtxError
from xlhtx.messages import NO_EQUITY
from xlhtx.statuses import EMPTY, RESULT, TABLE as STATUS_TABLE


class UdfError(CellError):
    """Raised for a call that cannot be computed; its text is what the cell shows."""


def fail(message: str) -> None:
    """Raise ``message`` so xlwings shows exactly it in the cell (a COM error carries its
    description; elsewhere a plain exception)."""
    try:  # Windows: a COM error with our words as the description, not a traceback
        from win32com.server.exception import COMException
    except ImportError:
        raise UdfError(message) from None
    raise COMException(desc=message)


def arg_doc(function: str, name: str) -> str:
    """The wizard help of one argument of one Excel function (from the registry)."""
    return next(a.help for a in REGISTRY[function].args if a.name == name)


def excel_function(f: Callable, declared: Function) -> Callable:
    """Register ``f`` with xlwings: category, a 2-D read of every argument (so a row and
    a column are told apart) and the help text of each argument."""
    for a in declared.args:
        f = xw.arg(a.name, ndim=2, doc=a.help)(f)
    return xw.func(category=CATEGORY)(f)


def loaded_tiers(tiers: Any) -> None:
    """Given a tier handle this Python session has not loaded (Python started after the
    workbook was computed: its TierSet cell keeps the handle), load the table from the
    open workbook first — so after Import Functions an edit recomputes without a full
    recalculation."""
    while isinstance(tiers, (list, tuple)) and len(tiers) == 1:
        tiers = tiers[0]
    if isinstance(tiers, str) and api.unknown_handle(tiers):
        reload_tier_handle(tiers)


def reload_tier_handle(handle: str) -> bool:
    """Look through the open workbooks for a ``TierTables`` range whose content is the
    one ``handle`` names, and load it (the handle is the content's hash, so a table with
    other content is never taken for it). False when none is found: the call then says
    to recalculate."""
    try:
        books = [book for app in xw.apps for book in app.books]
    except Exception:   # no Excel (headless, another platform): nothing to look through
        return False
    for book in books:
        try:
            rows = book.names["TierTables"].refers_to_range.options(ndim=2).value
        except Exception:   # a workbook without the name
            continue
        try:
            if api.handle_digest(api.tier_handle(rows)) == api.handle_digest(handle):
                return True
        except XlhtxError:
            continue
    return False


def _is_row(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 1 and isinstance(v[0], (list, tuple)) \
        and len(v[0]) > 1


def _length(v: Any) -> int:
    if isinstance(v, (list, tuple)):
        return max(len(v), len(v[0]) if v and isinstance(v[0], (list, tuple)) else 1)
    return 1


def run(compute: Callable[[], Any]) -> Any:
    """``compute()``, with a call that cannot be computed as a whole raised as one line."""
    try:
        return compute()
    except CellError:
        raise
    except XlhtxError as e:
        fail(f"#VALUE! {e}")


# results without a number, as a cell shows them: the word, not the sentence (a narrow
# column would shrink the sentence to nothing; the Status column and the docs say why)
SHORT = {s.words: s.words.split(":", 1)[0] for s in STATUS_TABLE.values()
         if s.severity == RESULT and s.words}


def shown(value: Any) -> Any:
    return SHORT.get(value, value) if isinstance(value, str) else value


def single(result: api.Result) -> Any:
    """The one row of a single-cell call: its value or text; its error raised."""
    value = shown(result.cell(0))
    if value == float("inf"):
        return NO_EQUITY
    if result.is_error[0]:
        fail(value)
    return "" if value is None else value


TABLE_ARGUMENTS = ("tiers", "margin_ladders", "collateral")   # whole tables, not per-row inputs


def cells(compute: Callable[[], api.Result], arguments: dict[str, Any]) -> Any:
    """Run ``compute`` and shape its result for Excel: a value for single cells (or the
    raised message), else a spilled column (or row) of values and messages. The shape
    comes from the function's own arguments (``locals()`` of the Excel function): every
    one but the table ranges."""
    inputs = [v for k, v in arguments.items() if k not in TABLE_ARGUMENTS]
    result = run(compute)
    if max((_length(v) for v in inputs), default=1) == 1 and len(result) == 1:
        return single(result)
    if any(_is_row(v) for v in inputs):
        return [[NO_EQUITY if v == float("inf") else shown(v) for v in result.to_list()]]
    if isinstance(result, api.TextResult):
        return [[shown(result.cell(i))] for i in range(len(result))]
    with no_gc():  # 100,000 one-cell lists would otherwise set off the cyclic GC again and again
        out = result.values.reshape(-1, 1).tolist()
    for i in np.flatnonzero(~result.ok).tolist():
        out[i][0] = shown(result.cell(i))
    for i in np.flatnonzero(result.values == np.inf).tolist():
        out[i][0] = NO_EQUITY
    return out


@contextmanager
def no_gc():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def headed(table: list[list]) -> list[list]:
    """A spilled table with its header in words a sheet shows (``trigger_price`` ->
    ``Trigger price``); files and DataFrames keep the column names."""
    if len(table) < 2:   # a message, not a table
        return table
    return [[str(h).replace("_", " ").capitalize() for h in table[0]]] + table[1:]


# ------------------------------------------------------------------------ functions
# Each Excel function is generated from its declaration in ``xlhtx.excel.registry``: its
# arguments, wizard help and API call come from there; what is Excel's alone — turning
# a result into cells — is below, by the declaration's shape.


def _cells(fn: Function, values: dict[str, Any]) -> Any:
    return cells(lambda: fn.compute(values), values)


def _ladder(fn: Function, values: dict[str, Any]) -> Any:
    inputs = [values[a.name] for a in fn.args if a.name not in TABLE_ARGUMENTS + ("mode",)]
    if max(_length(v) for v in inputs) > 1:
        fail(f"#VALUE! {fn.name} takes one position: give single cells, not ranges")
    ladder = run(lambda: fn.compute(values))
    if not ladder.result.ok[0]:
        return single(ladder.result)   # raises an error; "no liquidation" is a result
    return headed(ladder.table(0))


def frozen_column(frozen_margin: Any, rows_like: Any) -> Any:
    """Frozen order margin as a column: one cell is the account's total, carried by the
    first row (a column of per-row amounts passes through)."""
    col = Batch(frozen=frozen_margin)
    n = Batch(rows=rows_like).n
    if col.n != 1 or n == 1:
        return frozen_margin
    return [col.value("frozen", 0)] + [None] * (n - 1)


def first_row(result: api.Result) -> api.Result:
    """An account figure every row carries, as one cell: the first row that is not
    empty (a message if that row could not be computed)."""
    rows = np.flatnonzero(result.status != EMPTY)
    i = int(rows[0]) if rows.size else 0
    return api.Result(result.values[i:i + 1], result.status[i:i + 1],
                  {0: result.messages[i]} if i in result.messages else {})



AFTERLIQ_OUTPUTS = {"contracts": "contracts", "margin_ratio": "margin_ratio",
                    "margin ratio": "margin_ratio", "equity": "equity"}


def chosen_output(res: dict[str, api.Result], output: Any) -> api.Result:
    """``HTX_AFTERLIQ``'s column chosen per row by ``output`` (contracts, the default;
    margin_ratio; equity): one cell or a column, as a sheet may mix them."""
    n = len(res["contracts"])
    b = Batch(output=output)
    if b.n not in (1, n):
        raise ArgError(f"output: give one cell or {n} rows")
    picks = [AFTERLIQ_OUTPUTS.get(str(b.value("output", i if b.n > 1 else 0) or
                                      "contracts").strip().lower()) for i in range(b.n)]
    if None in picks:
        bad = b.value("output", picks.index(None))
        raise ArgError(f"output = {bad!r}: use contracts, margin_ratio or equity")
    if b.n == 1:
        return res[picks[0]]
    values = np.array([res[k].values[i] for i, k in enumerate(picks)])
    status = np.array([res[k].status[i] for i, k in enumerate(picks)], dtype=np.int16)
    messages = {i: res[k].messages[i] for i, k in enumerate(picks) if i in res[k].messages}
    return api.Result(values, status, messages)


def _output(fn: Function, values: dict[str, Any]) -> Any:
    return cells(lambda: chosen_output(fn.compute(values), values["output"]), values)


def _with_frozen(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "frozen_margin": frozen_column(values["frozen_margin"],
                                                     values["contract_col"])}


def _account_value(fn: Function, values: dict[str, Any]) -> Any:
    return single(first_row(run(lambda: fn.compute(_with_frozen(values)))))


ACCOUNT_COLUMNS = ("liq_price", "margin_ratio", "risk_rate", "equity")


def _account(fn: Function, values: dict[str, Any]) -> Any:
    res = run(lambda: fn.compute(_with_frozen(values)))
    cols = [res[k] for k in ACCOUNT_COLUMNS]
    if len(cols[0]) == 1 and cols[0].is_error[0] and cols[0].status[0] < EMPTY:
        fail(cols[0].cell(0))   # one leg that cannot be computed: the cell says why
    return [[c.cell(i) if c.cell(i) is not None else "" for c in cols]
            for i in range(len(cols[0]))]


def _map(fn: Function, values: dict[str, Any]) -> Any:
    return headed(run(lambda: fn.compute(values)).table())


def _value(fn: Function, values: dict[str, Any]) -> Any:
    return run(lambda: fn.compute(values))


SHAPES: dict[str, Callable[[Function, dict[str, Any]], Any]] = {
    "cells": _cells, "output": _output, "ladder": _ladder, "account_value": _account_value,
    "account": _account, "map": _map, "value": _value}


def excel(fn: Function) -> Callable:
    """The Excel function of a declaration: its signature (Excel's argument names and
    order, optional ones empty), its wizard help, its cells."""
    sig = inspect.Signature([inspect.Parameter(
        a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None if a.optional else inspect.Parameter.empty) for a in fn.args])
    shape = SHAPES[fn.shape]
    names = [a.name for a in fn.args]
    blank = dict.fromkeys(names)

    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > len(names):   # Excel passes positions; others are checked
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
        else:
            values = {**blank, **dict(zip(names, args))}
            missing = [a.name for a in fn.args[len(args):] if not a.optional]
            if missing:
                raise TypeError(f"{fn.name}: missing {', '.join(missing)}")
        if "tiers" in values:
            loaded_tiers(values["tiers"])
        return shape(fn, values)
    call.__name__ = call.__qualname__ = fn.name
    call.__doc__ = fn.summary
    call.__signature__ = sig   # type: ignore[attr-defined]
    call.__module__ = __name__
    return excel_function(call, fn)


globals().update({name: excel(fn) for name, fn in REGISTRY.items()})


# every Excel function by its name: what headless recalculation evaluates
FUNCTIONS = {name: globals()[name] for name in REGISTRY}
# functions whose rows depend on each other or that return a table: a column of their
# calls is not one call over the column
ROW_WISE = frozenset(name for name, fn in REGISTRY.items() if fn.row_wise)
