"""A positions table in, every metric per position out (the engine of ``xlhtx calc``,
the demo and the workbook's Positions sheet when recalculated headless).

Input columns: ``contract, side, contracts, entry_price, leverage`` and optional
``margin, mark_price, margin_mode``. Columns may be lists, NumPy arrays or
``coerce.Categorical`` (text columns of a large table).

Cross rows are computed as their account (``htxcore.account``, as ``HTX_ACCOUNT``: hedge
legs together, every other contract of the account held at its mark): an ``account`` (or
HTX's ``margin_account``) column names it, its balance comes from ``accounts`` (account
-> balance before unrealized PnL, ``xlhtx calc --accounts FILE``), a ``balance`` /
``margin_static`` column, or HTX's ``margin_balance`` (equity: the account's PnL at the
marks is taken off); an ``adjust_factor`` column (HTX's, as ``positions import`` writes
it) wins over the tier table for them. A cross row without its account is an error that
says what to add, never an isolated guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from htxcore import status as st
from htxcore.book import Metrics, MetricStatus, metrics_nb
from xlhtx import api
from xlhtx.messages import fold
from xlhtx.statuses import EMPTY, INPUT, is_error, plain
from xlhtx.tables.formats import columns

NAN = float("nan")

REQUIRED = ("contract", "side", "contracts", "entry_price", "leverage")
OPTIONAL = ("margin", "mark_price", "margin_mode")
OUTPUTS = ("notional", "initial_margin", "tier", "adjust_factor", "mmr", "maint_margin",
           "liq_price", "bankruptcy_price")
MARK_OUTPUTS = ("pnl", "roe", "equity", "margin_ratio", "distance_to_liq")


def compute(cols: dict[str, Any], tiers: Any = None,
            accounts: dict[str, float] | None = None,
            cross: bool | str = True) -> dict[str, Any]:
    """``compute_rows`` without the rows' status codes."""
    return compute_rows(cols, tiers, accounts, cross)[0]


def compute_rows(cols: dict[str, Any], tiers: Any = None,
                 accounts: dict[str, float] | None = None,
                 cross: bool | str = True) -> tuple[dict[str, Any], "Rows"]:
    """Output columns (float64 arrays) plus ``status``: empty, or why a row has no number;
    and every row's status code with its words (``Rows``).

    One coercion of the columns and one kernel pass (``htxcore.book.metrics_nb``).
    ``cross``: True computes cross rows as their accounts; False refuses them (a Dask
    partition may split an account); ``"position"`` computes each as one position on
    its mode's tiers, as the Excel per-position functions do.
    Without ``mark_price`` the value and maintenance margin are taken at entry and the
    mark-dependent columns are left out.
    """
    require_columns(cols)
    has_mark = cols.get("mark_price") is not None
    b = api.Batch(contract=cols["contract"], side=cols["side"], contracts=cols["contracts"],
                  entry_price=cols["entry_price"], leverage=cols["leverage"],
                  margin=cols.get("margin"), mode=cols.get("margin_mode"),
                  mark_price=cols["mark_price"] if has_mark else None)
    b.mark_empty(*("contract", "side", "contracts", "entry_price", "leverage"))
    t = api.tiers_for(tiers, b)
    n = b.n
    out = Metrics(*(np.empty(n) for _ in Metrics._fields))
    status = MetricStatus(*(np.empty(n, dtype=np.int8) for _ in MetricStatus._fields))
    mark = b.floats("mark_price", default=NAN) if has_mark else np.full(n, NAN)
    metrics_nb(t.compile(), b.contracts(t), b.modes(), b.sides(), b.floats("contracts"),
               b.floats("entry_price"), mark, b.whole("leverage"),
               b.floats("margin", default=NAN), out, status)
    of = {"liq_price": status.liq, "distance_to_liq": status.liq,
          "bankruptcy_price": status.bankruptcy, "pnl": status.mark, "roe": status.mark,
          "equity": status.mark, "margin_ratio": status.ratio}
    unread = np.zeros(n, dtype=bool)
    unread[list(b.errors)] = True
    names = OUTPUTS + (MARK_OUTPUTS if has_mark else ())
    result: dict[str, Any] = {
        k: np.where((of.get(k, status.base) == st.OK) & ~unread, getattr(out, k), NAN)
        for k in names}
    checked = [status.base, status.liq, status.bankruptcy] + (
        [status.mark, status.ratio] if has_mark else [])
    rows = Rows(*row_status(b, checked, t))
    in_cross = (b.modes() == 1) & ~unread & (status.base == st.OK)
    _compute_cross(result, rows, cols, in_cross, t, accounts, cross)
    result["status"] = vocabulary(rows, result.get("margin_ratio"))
    return result, rows


@dataclass
class Rows:
    """Every row's status code and, where it has any, its words (``messages.fold``)."""
    codes: np.ndarray
    messages: dict[int, str]

    def set(self, i: int, code: int, words: str | None) -> None:
        self.codes[i] = code
        if words:
            self.messages[i] = words
        else:
            self.messages.pop(i, None)


# One vocabulary a desk can filter on (tables, DataFrames, the CLI): the numbers are kept
# on every row that has them; the status says what they mean
OK, WARNING, PAST, NO_LIQUIDATION, ERROR = ("ok", "warning", "past liquidation",
                                            "no liquidation", "error: ")
WARNING_RATIO = 0.8    # margin ratio from which a position is flagged
STATUS_WORDS = (OK, WARNING, PAST, NO_LIQUIDATION, "error: ...")
# results without a number, as the vocabulary says them
RESULT_WORDS = {st.NO_LIQUIDATION: NO_LIQUIDATION, st.LIQUIDATED: PAST}


def vocabulary(rows: Rows, ratio: Any = None) -> list[str]:
    """Per row, read from its status code: ``ok``, ``warning`` (margin ratio >= 80%),
    ``past liquidation`` (margin ratio >= 100%, or no margin left at any price), ``no
    liquidation``, or ``error: `` and why; "" for a row with nothing in it."""
    codes = rows.codes
    r = np.full(len(codes), np.nan) if ratio is None else np.asarray(ratio, dtype=float)
    level = np.where(r >= 1.0, 2, np.where(r >= WARNING_RATIO, 1, 0))
    out = np.array((OK, WARNING, PAST), dtype=object)[level]
    out[codes == EMPTY] = ""
    for code, word in RESULT_WORDS.items():
        out[codes == code] = word
    said: dict[str, str] = {}   # one string per distinct message: a million rows share it
    for i in np.flatnonzero((codes != st.OK) & (codes != EMPTY) &
                            ~np.isin(codes, list(RESULT_WORDS))).tolist():
        m = rows.messages.get(i, "")
        word = said.get(m)
        if word is None:
            word = said[m] = (ERROR + plain(m)) if is_error(codes[i]) else m
        out[i] = word
    return out.tolist()


def status(contract, side, contracts, entry_price, mark_price, leverage, *, margin=None,
           tiers=None, mode=None) -> api.TextResult:
    """Per position its status word (``HTX_STATUS``): what ``xlhtx calc`` writes in its
    status column for the same row, a text value on every row (an error is a word here,
    not a failed cell, so a filter can pick it)."""
    out = compute({"contract": contract, "side": side, "contracts": contracts,
                   "entry_price": entry_price, "mark_price": mark_price,
                   "leverage": leverage, "margin": margin, "margin_mode": mode}, tiers,
                  cross="position")
    words = out["status"]
    return api.TextResult(words, np.zeros(len(words), dtype=np.int16), {})


def _compute_cross(result: dict[str, Any], rows: Rows, cols: dict[str, Any],
                   in_cross: np.ndarray, t: Any, accounts: dict[str, float] | None,
                   cross: bool | str) -> None:
    if cross == "position":
        return
    if in_cross.any() and cross:
        _cross_accounts(cols, result, rows, np.flatnonzero(in_cross), t, accounts or {})
    elif in_cross.any():
        _clear_account_figures(result, in_cross)
        for i in np.flatnonzero(in_cross).tolist():
            rows.set(i, INPUT, "#VALUE! cross rows are computed with their whole account, "
                              "which partitions may split: run calc without --engine dask")


ACCOUNT_COLUMNS = ("account", "margin_account")
# the figures of a cross row that come from its account, not from the isolated formulas
ACCOUNT_FIGURES = ("liq_price", "bankruptcy_price", "margin_ratio", "equity", "distance_to_liq")
STATIC_COLUMNS = ("balance", "margin_static")
CROSS_NEEDS = ("a cross row is computed with its account: give an account column and the "
               "account's balance (a balance column, or --accounts FILE with account, "
               "balance)")


def _cross_accounts(cols: dict[str, Any], result: dict[str, Any], status: Rows,
                    rows: np.ndarray, t: Any, accounts: dict[str, float]) -> None:
    """The cross rows' liquidation price, margin ratio and equity from their accounts."""
    key = next((k for k in ACCOUNT_COLUMNS if cols.get(k) is not None), None)
    names = [None if key is None else _cell(cols[key], i) for i in rows.tolist()]
    name_of = [str(v).strip() if v is not None and str(v).strip() else None for v in names]
    marks = _floats_at(cols, "mark_price", rows)
    balances, why = _balances(cols, rows, name_of, accounts, marks, t)
    _clear_account_figures(result, rows)
    ids: dict[str, int] = {}
    take = []
    for j, (i, name) in enumerate(zip(rows.tolist(), name_of)):
        problem = (CROSS_NEEDS if name is None else why.get(name) or
                   ("a cross row needs its mark_price (the account's other contracts are "
                    "held at their marks)" if marks is None or not marks[j] > 0 else None))
        if problem:
            status.set(i, INPUT, f"#VALUE! {problem}")
            continue
        ids.setdefault(name, len(ids))
        take.append(j)
    if not take:
        return
    sub = rows[take]
    pick = lambda c: [_cell(cols[c], i) for i in sub.tolist()]  # noqa: E731
    res = api.accounts([ids[name_of[j]] for j in take], [1] * len(ids),
                       [balances[n] for n in ids], pick("contract"), pick("side"),
                       pick("contracts"), pick("entry_price"), marks[take],
                       pick("leverage"),
                       adjust_factor=pick("adjust_factor") if cols.get("adjust_factor") is not None else None,
                       tiers=t)
    liq, ratio, equity = res["liq_price"], res["margin_ratio"], res["equity"]
    priced, counted = liq.ok, ratio.ok
    result["liq_price"][sub[priced]] = liq.values[priced]
    if "distance_to_liq" in result:
        # the contract's price moving either way from the mark (its legs together; the
        # account is not yet liquidated, so the move is the distance left)
        m = marks[take][priced]
        result["distance_to_liq"][sub[priced]] = np.abs(m - liq.values[priced]) / m
    for k, r in (("margin_ratio", ratio), ("equity", equity)):
        if k in result:
            result[k][sub[counted]] = r.values[counted]
    for j, i in enumerate(sub.tolist()):
        status.set(i, int(liq.status[j]), liq.messages.get(j))


def _clear_account_figures(result: dict[str, Any], rows: Any) -> None:
    for k in ACCOUNT_FIGURES:
        if k in result:
            result[k][rows] = NAN


def _floats_at(cols: dict[str, Any], key: str | None, rows: np.ndarray) -> np.ndarray | None:
    """Column ``key`` at ``rows`` as floats (NaN where empty or unreadable); None when the
    table has no such column."""
    if key is None or cols.get(key) is None:
        return None
    return api.Batch(v=[_cell(cols[key], i) for i in rows.tolist()]).floats("v", default=NAN)


def _cell(col: Any, i: int) -> Any:
    v = col[i if len(col) > 1 else 0]
    return v.item() if isinstance(v, np.generic) else v


def _balances(cols: dict[str, Any], rows: np.ndarray, name_of: list, accounts: dict,
              marks: np.ndarray | None, t: Any) -> tuple[dict[str, float], dict[str, str]]:
    """Each account's balance before unrealized PnL, and why an account has none."""
    out: dict[str, float] = {}
    why: dict[str, str] = {}
    given: dict[str, set] = {}
    nothing = np.full(rows.shape[0], NAN)
    static = _floats_at(cols, next((k for k in STATIC_COLUMNS if cols.get(k) is not None),
                                   None), rows)
    equity = _floats_at(cols, "margin_balance", rows)
    static = nothing if static is None else static
    equity = nothing if equity is None else equity
    positions: dict[str, list[int]] = {}   # per account, its places in ``rows``
    for j, (name, v, eq) in enumerate(zip(name_of, static.tolist(), equity.tolist())):
        if name is None:
            continue
        positions.setdefault(name, []).append(j)
        if name in accounts:
            out[name] = float(accounts[name])
        elif not np.isnan(v):
            given.setdefault(name, set()).add(("static", v))
        elif not np.isnan(eq):
            given.setdefault(name, set()).add(("equity", eq))
    for name, vals in given.items():
        if name in accounts:
            continue
        if len(vals) > 1:
            why[name] = (f"account {name} is given {len(vals)} different balances; give "
                         "one per account")
            continue
        (kind, v), = vals
        if kind == "static":
            out[name] = v
        else:   # HTX's margin_balance holds the account's PnL at the marks: take it off
            at = positions[name]
            members = rows[at].tolist()
            pnl = api.pnl([_cell(cols["contract"], i) for i in members],
                          [_cell(cols["side"], i) for i in members],
                          [_cell(cols["contracts"], i) for i in members],
                          [_cell(cols["entry_price"], i) for i in members],
                          marks[at] if marks is not None else NAN, tiers=t)
            if pnl.ok.all():
                out[name] = v - float(pnl.values.sum())
    for name in set(name_of) - {None} - set(out) - set(why):
        why[name] = f"account {name} has no balance; " + CROSS_NEEDS.split(": ", 1)[1]
    return out, why


def position_columns(table: Any) -> dict[str, Any]:
    """The position columns of a table (``book``'s names), refusing a table without them."""
    cols = columns(table)
    require_columns(cols)
    return cols


def position_args(cols: dict[str, Any]) -> tuple:
    """A table's position columns in the order every API function takes them."""
    return (cols["contract"], cols["side"], cols["contracts"], cols["entry_price"],
            cols["leverage"])


def row_options(cols: dict[str, Any], tiers: Any) -> dict[str, Any]:
    """The keyword arguments a table's rows give an API function: margin and mode."""
    return {"margin": cols.get("margin"), "tiers": tiers, "mode": cols.get("margin_mode")}


def require_columns(keys: Any, where: str = "positions") -> None:
    """Refuse a positions table without the columns every computation needs."""
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        raise api.ArgError(f"{where}: missing column(s) {', '.join(missing)}; required: "
                           f"{', '.join(REQUIRED)}")


def row_status(b: api.Batch, statuses: list[np.ndarray], table: Any
               ) -> tuple[np.ndarray, dict[int, str]]:
    """Per row, why it lacks a number: the first of ``statuses`` that is not OK, settled
    and worded as every API result is (``messages.fold``)."""
    code = np.zeros(b.n, dtype=np.int16)
    for s in reversed(statuses):
        code = np.where(s != st.OK, s, code)
    return fold(b, code, table)
