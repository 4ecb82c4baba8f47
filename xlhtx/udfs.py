"""The Excel functions (docs/excel.md): one thin function per Excel name over ``xlhtx.api``.

Set ``xlhtx.udfs`` as the UDF module in the xlwings add-in or the workbook's
``xlwings.conf`` sheet and press "Import Functions". Every argument takes a cell or a
range; ranges broadcast against single cells and the result spills (a column in gives a
column out, a row gives a row). A call over a 100,000-row column is one kernel call.

A call with single cells that cannot be computed raises one message, which xlwings shows
in the cell; in a call over ranges the bad rows show a short ``#VALUE! ...`` /
``#N/A ...`` text and the other rows compute. "No liquidation possible" is a result, not
an error: the cell says so.
"""

from __future__ import annotations

import functools
import gc
import inspect
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import xlwings as xw

from xlhtx import api, book
from xlhtx.version import __version__
from xlhtx.errors import CellError, XlhtxError
from xlhtx.messages import NO_EQUITY, NO_NUMBER

CATEGORY = "xlhtx (HTX futures)"

# per-argument help shown by Excel's function wizard (at most 255 characters each)
ARG_DOCS = {
    "contract": "Contract code, e.g. BTC-USDT (USDT-margined) or BTC-USD (coin-margined).",
    "side": "long or short (buy/sell, 1/-1 also accepted).",
    "contracts": "Number of contracts held (> 0).",
    "net_contracts": "Net position of the contract in contracts: |long - short|.",
    "entry_price": "Average open (entry) price.",
    "price": "Price to value the position at (e.g. the mark price).",
    "mark_price": "Mark price.",
    "leverage": "Leverage, e.g. 20 for 20x; the tier table must have ladders for it.",
    "margin": "Optional isolated margin balance; empty = initial margin at entry.",
    "mode": "Optional margin mode: isolated or cross; empty = isolated.",
    "tiers": "Optional tier tables: a range with the Tiers (adjustment-factor ladders) and/or "
             "RiskLimits (risk-limit tiers) tables, side by side; or \"legacy\" / \"today\" "
             "for a bundled snapshot; empty = today's snapshot.",
    "target_liq_price": "The liquidation price you want.",
    "equity": "Margin balance (equity) available for the new position.",
    "margin_ladders": "Optional tiered available-margin table range (swap_ladder_margin "
                      "columns); empty = bundled snapshot.",
    "target_roe": "Target return on initial margin, e.g. 0.5 for +50%.",
    "contract_col": "Column of contract codes of the cross account's positions.",
    "side_col": "Column of sides (long/short).",
    "contracts_col": "Column of contract counts.",
    "entry_col": "Column of entry prices.",
    "mark_col": "Column of mark prices.",
    "leverage_col": "Column of leverages.",
    "margin_static": "The account's balance before unrealized PnL, in its margin asset: "
                     "HTX's margin_static (not margin_balance, which already holds the PnL); "
                     "may be empty when collateral is given.",
    "adjust_factor_col": "Optional column of the adjust factors HTX reports per contract "
                         "(adjust_factor); a number wins over the tier table, empty = the "
                         "tier table's.",
    "collateral": "Optional Multi-Assets collateral range (header currency, amount[, "
                  "index_price, collateral_rate]): the assets, worth amount x index price x "
                  "rate, added to the balance.",
    "output": "Optional: contracts (default), margin_ratio or equity.",
    "frozen_margin": "Optional order margin frozen in the account: one cell (the total) or "
                     "one per row; empty = 0.",
    "price_from": "Lowest price of the map.",
    "price_to": "Highest price of the map.",
    "step": "Width of a price bucket, e.g. 100.",
    "map_contract": "The contract to map, e.g. BTC-USDT; other rows are left out (needed "
                    "when the range holds several: their contracts do not add up).",
    "exec_price": "Price at which the liquidated position is executed in the market.",
    "fee_rate": "Optional liquidation fee rate, e.g. 0.0005; empty = 0.",
    "pnl_col": "Column of unrealized PnL.",
    "margin_col": "Column of position (isolated) margin balances; in HTX_LIQMAP an empty "
                  "cell is the initial margin.",
    "notional_col": "Column of position values.",
}


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


# help that differs for one function: an account's mode defaults to cross
FUNCTION_ARG_DOCS = {
    ("HTX_ACCOUNT", "mode"): "Optional margin mode of the account: isolated or cross; "
                             "empty = cross.",
    ("HTX_RISKRATE", "mode"): "Optional margin mode of the account: isolated or cross; "
                              "empty = cross.",
}


def arg_doc(function: str, name: str) -> str:
    """The wizard help of one argument of one Excel function."""
    return FUNCTION_ARG_DOCS.get((function, name), ARG_DOCS[name])


def excel_function(f: Callable) -> Callable:
    """Register ``f`` with xlwings: category, a 2-D read of every argument (so a row and
    a column are told apart) and the help text of each argument."""
    f = reloading_tiers(f)
    for name in inspect.signature(f).parameters:
        f = xw.arg(name, ndim=2, doc=arg_doc(f.__name__, name))(f)
    return xw.func(category=CATEGORY)(f)


def reloading_tiers(f: Callable) -> Callable:
    """``f`` that, given a tier handle this Python session has not loaded (Python started
    after the workbook was computed: its TierSet cell keeps the handle), loads the table
    from the open workbook first — so after Import Functions an edit recomputes without
    a full recalculation."""
    params = list(inspect.signature(f).parameters)
    if "tiers" not in params:
        return f
    at = params.index("tiers")

    @functools.wraps(f)
    def call(*args: Any, **kwargs: Any) -> Any:
        tiers = kwargs.get("tiers", args[at] if len(args) > at else None)
        while isinstance(tiers, (list, tuple)) and len(tiers) == 1:
            tiers = tiers[0]
        if isinstance(tiers, str) and api.unknown_handle(tiers):
            reload_tier_handle(tiers)
        return f(*args, **kwargs)
    return call


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
            if api.tier_handle(rows).split(":")[0] == handle.strip().split(":")[0]:
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
SHORT = {text: text.split(":", 1)[0] for text in NO_NUMBER.values() if not text.startswith("#")}


def shown(value: Any) -> Any:
    return SHORT.get(value, value) if isinstance(value, str) else value


def single(result: api.Result) -> Any:
    """The one row of a single-cell call: its value or text; its error raised."""
    value = shown(result.cell(0))
    if value == float("inf"):
        return NO_EQUITY
    if isinstance(value, str) and value.startswith("#"):
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


def _pick(key: str, compute: Callable[[], dict]) -> Callable[[], api.Result]:
    return lambda: compute()[key]


# ------------------------------------------------------------------------ functions


@excel_function
def HTX_NOTIONAL(contract, contracts, price, tiers=None):
    """Position value: contracts x size x price (USDT) or contracts x face value / price (coin)."""
    return cells(lambda: api.notional(contract, contracts, price, tiers), locals())


@excel_function
def HTX_MARGIN(contract, contracts, price, leverage, tiers=None):
    """Initial margin: position value / leverage."""
    return cells(lambda: api.initial_margin(contract, contracts, price, leverage, tiers), locals())


@excel_function
def HTX_TIER(contract, leverage, net_contracts, mode=None, tiers=None):
    """HTX tier (ladder number, 0 = lowest) for a net position at a leverage."""
    return cells(_pick("ladder", lambda: api.tier(contract, leverage, net_contracts, mode,
                                                  tiers)), locals())


@excel_function
def HTX_ADJFACTOR(contract, leverage, net_contracts, mode=None, tiers=None):
    """HTX adjustment factor of the tier holding a net position at a leverage."""
    return cells(_pick("adjust_factor", lambda: api.tier(contract, leverage, net_contracts,
                                                         mode, tiers)), locals())


@excel_function
def HTX_MMR(contract, leverage, net_contracts, mode=None, tiers=None):
    """Maintenance margin rate: adjustment factor / leverage (or the tier's MMR)."""
    return cells(_pick("mmr", lambda: api.tier(contract, leverage, net_contracts, mode,
                                               tiers)), locals())


@excel_function
def HTX_MAINTMARGIN(contract, contracts, price, leverage, mode=None, tiers=None):
    """Maintenance margin: MMR x position value at the price."""
    return cells(lambda: api.maint_margin(contract, contracts, price, leverage, mode, tiers), locals())


@excel_function
def HTX_PNL(contract, side, contracts, entry_price, price, tiers=None):
    """Unrealized PnL at the price (USDT for USDT-margined, coin for coin-margined)."""
    return cells(lambda: api.pnl(contract, side, contracts, entry_price, price, tiers), locals())


@excel_function
def HTX_ROE(contract, side, contracts, entry_price, price, leverage, tiers=None):
    """Return on equity: PnL at the price / initial margin at entry."""
    return cells(lambda: api.roe(contract, side, contracts, entry_price, price, leverage,
                                 tiers), locals())


@excel_function
def HTX_MARGINRATIO(contract, side, contracts, entry_price, mark_price, leverage,
                    margin=None, tiers=None):
    """Margin ratio at the mark: maintenance margin / equity; 1 (100%) = liquidation."""
    return cells(_pick("margin_ratio", lambda: api.margin_ratio(
        contract, side, contracts, entry_price, mark_price, leverage, margin, tiers)), locals())


@excel_function
def HTX_EQUITY(contract, side, contracts, entry_price, mark_price, leverage, margin=None,
               tiers=None):
    """Isolated equity at the mark: margin balance (empty: initial margin) + unrealized PnL."""
    return cells(lambda: api.equity(contract, side, contracts, entry_price, mark_price,
                                    leverage, margin, tiers), locals())


@excel_function
def HTX_LIQDISTANCE(contract, side, contracts, entry_price, mark_price, leverage,
                    margin=None, tiers=None):
    """How far the mark may move against the position before liquidation, as a fraction
    of the mark (negative: already past it)."""
    return cells(lambda: api.liq_distance(contract, side, contracts, entry_price, mark_price,
                                          leverage, margin, tiers), locals())


@excel_function
def HTX_STATUS(contract, side, contracts, entry_price, mark_price, leverage, margin=None,
               tiers=None):
    """The position in one word a filter can use: ok, warning (margin ratio 80% or more),
    past liquidation, no liquidation, or "error: " and why (as xlhtx calc writes it)."""
    return cells(lambda: book.status(contract, side, contracts, entry_price, mark_price,
                                     leverage, margin, tiers), locals())


@excel_function
def HTX_LIQPRICE(contract, side, contracts, entry_price, leverage, margin=None, tiers=None):
    """Estimated liquidation price of an isolated position: the first trigger of HTX's
    tiered liquidation."""
    return cells(lambda: api.liq_price(contract, side, contracts, entry_price, leverage,
                                       margin, tiers), locals())


@excel_function
def HTX_BANKRUPTCYPRICE(contract, side, contracts, entry_price, leverage, margin=None,
                        tiers=None):
    """Bankruptcy price: where the isolated position's equity reaches 0."""
    return cells(lambda: api.bankruptcy_price(contract, side, contracts, entry_price,
                                              leverage, margin, tiers), locals())


@excel_function
def HTX_LIQLADDER(contract, side, contracts, entry_price, leverage, margin=None,
                  tiers=None):
    """HTX tiered liquidation ladder of one position: a spilled table with a header row
    (Step, Trigger price, Contracts before, Contracts after, Tier before, Tier after,
    Margin after)."""
    inputs = (contract, side, contracts, entry_price, leverage, margin)
    if max(_length(v) for v in inputs) > 1:
        fail("#VALUE! HTX_LIQLADDER takes one position: give single cells, not ranges")
    ladder = run(lambda: api.liq_ladder(contract, side, contracts, entry_price, leverage,
                                        margin, tiers))
    if not ladder.result.ok[0]:
        return single(ladder.result)   # raises an error; "no liquidation" is a result
    return headed(ladder.table(0))


@excel_function
def HTX_AFTERLIQ(contract, side, contracts, entry_price, leverage, price, margin=None,
                 tiers=None, output=None):
    """What is left after HTX's tiered liquidation if the mark reaches the price: the
    contracts (default), or with output "margin_ratio" / "equity" their margin ratio or
    equity (0 once fully liquidated)."""
    return cells(lambda: api.after_liq_output(contract, side, contracts, entry_price,
                                              leverage, price, margin, tiers, output),
                 locals())


@excel_function
def HTX_MARGINASSET(contract, tiers=None):
    """The margin asset of a contract: USDT for USDT-margined, the coin for coin-margined
    (the unit of its margin, PnL and equity)."""
    return cells(lambda: api.margin_asset(contract, tiers), locals())


@excel_function
def HTX_ADDMARGIN(contract, side, contracts, entry_price, leverage, target_liq_price,
                  margin=None, tiers=None):
    """Margin to add so the liquidation price becomes the target (negative: removable)."""
    return cells(lambda: api.add_margin(contract, side, contracts, entry_price, leverage,
                                        target_liq_price, margin, tiers), locals())


@excel_function
def HTX_MAXOPEN(contract, equity, price, leverage, margin_ladders=None):
    """Maximum contracts that can be opened with the equity at the price and leverage,
    under HTX's tiered available margin."""
    return cells(_pick("contracts", lambda: api.max_open(contract, equity, price, leverage,
                                                         margin_ladders)), locals())


@excel_function
def HTX_TARGETPRICE(contract, side, entry_price, leverage, target_roe):
    """Exit price at which the return on initial margin equals the target ROE."""
    return cells(lambda: api.target_price(contract, side, entry_price, leverage, target_roe), locals())


@excel_function
def HTX_CROSSLIQPRICE(contract_col, side_col, contracts_col, entry_col, mark_col,
                      leverage_col, margin_static, tiers=None, adjust_factor_col=None):
    """Liquidation price of each position of one cross-margin account, the others held
    at their mark prices."""
    return cells(lambda: api.cross_liq_price(contract_col, side_col, contracts_col,
                                             entry_col, mark_col, leverage_col, margin_static,
                                             tiers, adjust_factor_col), locals())


@excel_function
def HTX_RISKRATE(contract_col, side_col, contracts_col, entry_col, mark_col, leverage_col,
                 margin_static, mode=None, frozen_margin=None, tiers=None,
                 adjust_factor_col=None):
    """HTX's risk rate of one margin account (liquidation at 0 or below): isolated and
    coin-margined equity/(margin+frozen) - adjust factor; USDT cross
    equity/sum(factor x (margin+frozen)) - 1."""
    def compute() -> api.Result:
        frozen = api.frozen_column(frozen_margin, contract_col)
        return api.risk_rate(contract_col, side_col, contracts_col, entry_col, mark_col,
                             leverage_col, margin_static, mode, frozen, tiers,
                             adjust_factor_col)
    return single(api.first_row(run(compute)))


@excel_function
def HTX_ACCOUNT(contract_col, side_col, contracts_col, entry_col, mark_col, leverage_col,
                margin_static, mode=None, frozen_margin=None, tiers=None, collateral=None,
                adjust_factor_col=None):
    """One margin account, per leg: liquidation price of its contract (hedge legs move
    together), and the account's margin ratio, risk rate and equity (a spilled table,
    four columns, one row per leg)."""
    def compute() -> dict:
        frozen = api.frozen_column(frozen_margin, contract_col)
        return api.account(contract_col, side_col, contracts_col, entry_col, mark_col,
                           leverage_col, margin_static, mode, frozen, adjust_factor_col,
                           tiers=tiers, collateral=collateral)
    res = run(compute)
    cols = [res[k] for k in ACCOUNT_COLUMNS]
    if len(cols[0]) == 1 and not cols[0].ok[0] and cols[0].status[0] < api.EMPTY and \
            isinstance(cols[0].cell(0), str) and cols[0].cell(0).startswith("#"):
        fail(cols[0].cell(0))
    return [[c.cell(i) if c.cell(i) is not None else "" for c in cols]
            for i in range(len(cols[0]))]


ACCOUNT_COLUMNS = ("liq_price", "margin_ratio", "risk_rate", "equity")


@excel_function
def HTX_LIQMAP(contract_col, side_col, contracts_col, entry_col, leverage_col, margin_col,
               price_from, price_to, step, tiers=None, mark_price=None, map_contract=None):
    """Liquidation map of one contract of a book: per price bucket the contracts and
    notional HTX's tiered liquidation force-closes, longs and shorts apart, and the
    cumulative notional from the mark (a spilled table with a header)."""
    m = run(lambda: api.liq_map(contract_col, side_col, contracts_col, entry_col, leverage_col,
                                margin_col, price_from, price_to, step, tiers, mark_price,
                                map_contract=map_contract))
    return headed(m.table())


@excel_function
def HTX_INSURANCE(contract, side, contracts, entry_price, leverage, exec_price, margin=None,
                  fee_rate=None, tiers=None):
    """Insurance-fund change when the position is fully liquidated and executed at the
    price: + surplus (less the fee), - shortfall the fund pays."""
    return cells(_pick("change", lambda: api.insurance(
        contract, side, contracts, entry_price, leverage, exec_price, margin, fee_rate,
        tiers)), locals())


@excel_function
def HTX_ADLRANK(pnl_col, margin_col, notional_col):
    """Auto-deleveraging priority of each position (1 = first): profitable positions by
    PnL ratio x effective leverage, then the others."""
    return cells(lambda: api.adl_rank(pnl_col, margin_col, notional_col), locals())


@excel_function
def HTX_TIERSET(tiers):
    """The tier table as one short handle for the tiers argument of the other HTX_*
    functions: the table then crosses from Excel to Python once per recalculation, not
    once per call (an edited table gives a new handle)."""
    return run(lambda: api.tier_handle(tiers))


@xw.func(category=CATEGORY)
def HTX_VERSION():
    """xlhtx version, the bundled tier snapshot's date and the systems of its tables."""
    s = api.snapshot()
    return (f"xlhtx {__version__}; bundled tier snapshot as of {s.as_of} "
            f"({s.system_summary()}): illustrative, not HTX's live tables (xlhtx tiers "
            "fetch --workbook replaces the Tiers sheet)")


# every Excel function by its name: what headless recalculation evaluates
FUNCTIONS = {name: f for name, f in list(globals().items()) if name.startswith("HTX_")}
# functions whose rows depend on each other or that return a table: a column of their
# calls is not one call over the column
NOT_ROW_WISE = frozenset({"HTX_LIQLADDER", "HTX_CROSSLIQPRICE", "HTX_ADLRANK", "HTX_VERSION",
                          "HTX_TIERSET",
                          "HTX_ACCOUNT", "HTX_RISKRATE", "HTX_LIQMAP"})
ROW_WISE = frozenset(FUNCTIONS) - NOT_ROW_WISE
