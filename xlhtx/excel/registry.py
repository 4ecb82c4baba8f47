"""The function registry: one declaration per Excel function.

A declaration names the function, the API call it makes, its arguments in Excel's order
(each with the API argument it fills and its wizard help), what it returns (for the
docs) and how its result becomes cells. Everything else is read from here:

* ``xlhtx.excel.udfs`` generates the Excel functions (signature, xlwings decorators, the
  wizard's help of the function and of each argument);
* ``docs/excel.md``'s catalogue is ``catalogue()`` (a test compares them);
* the test suite's list of functions and the check that no argument of an API
  function is dropped on its way to Excel (``API_ONLY`` says why one is left out);
* the front ends to come (Office.js metadata, a LibreOffice add-in's IDL) read the
  same declarations.

Adding a function: a kernel, its API function, one declaration below, its tests.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from xlhtx import api
from xlhtx.tables import books, metrics
from xlhtx.version import __version__

CATEGORY = "xlhtx (HTX futures)"

# wizard help of each argument, by its Excel name
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
    "mode": "Optional margin mode: isolated or cross; empty = isolated. Picks the "
            "ladders or risk-limit tiers of that mode.",
    "tiers": "Optional tier tables: a range with the Tiers (adjustment-factor ladders) and/or "
             "RiskLimits (risk-limit tiers) tables, side by side; a handle from HTX_TIERSET; "
             "or \"legacy\" / \"today\" for a bundled snapshot; empty = today's snapshot.",
    "target_liq_price": "The liquidation price you want.",
    "equity": "Margin balance (equity) available for the new position.",
    "margin_ladders": "Optional tiered available-margin table range (swap_ladder_margin "
                      "columns); empty = bundled snapshot.",
    "position_limit": "Optional cap on the position in contracts (HTX's position limit); "
                      "empty = none.",
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
    "mode_col": "Optional column of margin modes (isolated or cross); empty = isolated.",
    "book": "The cell holding HTX_BOOK's handle (book …: N positions).",
    "column": "The output column: liq_price, margin_ratio, equity, pnl, roe, "
              "distance_to_liq, notional, initial_margin, tier, adjust_factor, mmr, "
              "maint_margin, bankruptcy_price or status.",
}

# an API argument no Excel function takes, and why
API_ONLY = {
    "as_of": "the date whose locked-margin rule applies: a cell computes today's",
    "fund_balance": "it only sets the uncovered amount; HTX_INSURANCE returns the change",
}


@dataclass(frozen=True)
class Arg:
    name: str                 # as Excel shows it
    api: str | None           # the API argument it fills (None: Excel's own, e.g. a choice
                              # of output column, read by the Excel function's shaping)
    optional: bool
    help: str


@dataclass(frozen=True)
class Function:
    name: str
    summary: str              # the function wizard's description
    returns: str              # the docs' "Returns" column
    args: tuple[Arg, ...]
    call: Callable[..., Any]  # the API function (keyword arguments)
    pick: str | None = None   # the key of a result with several outputs
    shape: str = "cells"      # how udfs turns the result into cells
    row_wise: bool = True     # a column of calls is one call over the column

    def api_arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """Excel argument values -> the API call's keyword arguments."""
        return {a.api: values.get(a.name) for a in self.args if a.api}

    def compute(self, values: dict[str, Any]) -> Any:
        out = self.call(**self.api_arguments(values))
        return out[self.pick] if self.pick else out

    def signature_text(self) -> str:
        return ", ".join(f"[{a.name}]" if a.optional else a.name for a in self.args) or "—"


def _args(spec: str, overrides: dict[str, str] | None = None) -> tuple[Arg, ...]:
    """``"contract_col=contract [tiers]"``: Excel names in order, ``=`` the API name when
    it differs (``output=``: none, Excel's own), brackets for optional ones."""
    out = []
    for word in spec.split():
        optional = word.startswith("[")
        name, renamed, api_name = word.strip("[]").partition("=")
        out.append(Arg(name, api_name or (None if renamed else name), optional,
                       (overrides or {}).get(name, ARG_DOCS[name])))
    return tuple(out)


POSITION = "contract side contracts entry_price"
ACCOUNT_COLS = ("contract_col=contract side_col=side contracts_col=contracts "
                "entry_col=entry_price mark_col=mark_price leverage_col=leverage margin_static")
CROSS_MODE = {"mode": "Optional margin mode of the account: isolated or cross; empty = cross."}


def _version() -> str:
    s = api.snapshot()
    return (f"xlhtx {__version__}; bundled tier snapshot as of {s.as_of} "
            f"({s.system_summary()}): illustrative, not HTX's live tables (xlhtx tiers "
            "fetch --workbook replaces the Tiers sheet)")


def _declare(*functions: Function) -> dict[str, Function]:
    return {f.name: f for f in functions}


F = Function
FUNCTIONS: dict[str, Function] = _declare(
    F("HTX_NOTIONAL", "Position value: contracts x size x price (USDT) or contracts x face "
      "value / price (coin).", "position value",
      _args("contract contracts price [tiers]"), api.notional),
    F("HTX_MARGIN", "Initial margin: position value / leverage.", "initial margin",
      _args("contract contracts price leverage [tiers]"), api.initial_margin),
    F("HTX_TIER", "HTX tier (ladder number, 0 = lowest) for a net position at a leverage.",
      "ladder index",
      _args("contract leverage net_contracts [mode] [tiers]"), api.tier, pick="ladder"),
    F("HTX_ADJFACTOR", "HTX adjustment factor of the tier holding a net position at a leverage.",
      "adjustment factor", _args("contract leverage net_contracts [mode] [tiers]"), api.tier,
      pick="adjust_factor"),
    F("HTX_MMR", "Maintenance margin rate: adjustment factor / leverage (or the tier's MMR).",
      "maintenance margin rate",
      _args("contract leverage net_contracts [mode] [tiers]"), api.tier, pick="mmr"),
    F("HTX_MAINTMARGIN", "Maintenance margin: MMR x position value at the price.",
      "maintenance margin", _args("contract contracts price leverage [mode] [tiers]"),
      api.maint_margin),
    F("HTX_PNL", "Unrealized PnL at the price (USDT for USDT-margined, coin for "
      "coin-margined).", "unrealized PnL",
      _args(f"{POSITION} price [tiers]"), api.pnl),
    F("HTX_ROE", "Return on equity: PnL at the price / initial margin at entry.",
      "PnL / initial margin",
      _args(f"{POSITION} price leverage [tiers]"), api.roe),
    F("HTX_MARGINRATIO", "Margin ratio at the mark: maintenance margin / equity; 1 (100%) "
      "= liquidation.", "margin ratio (1 = liquidation)",
      _args(f"{POSITION} mark_price leverage [margin] [tiers] [mode]"), api.margin_ratio,
      pick="margin_ratio"),
    F("HTX_EQUITY", "Isolated equity at the mark: margin balance (empty: initial margin) + "
      "unrealized PnL.", "isolated equity at the mark: margin balance (empty: initial "
      "margin) + unrealized PnL",
      _args(f"{POSITION} mark_price leverage [margin] [tiers] [mode]"), api.equity),
    F("HTX_LIQDISTANCE", "How far the mark may move against the position before "
      "liquidation, as a fraction of the mark (negative: already past it).",
      "how far the mark may move against the position before liquidation, as a fraction "
      "of the mark (negative: past it)",
      _args(f"{POSITION} mark_price leverage [margin] [tiers] [mode]"), api.liq_distance),
    F("HTX_STATUS", "The position in one word a filter can use: ok, warning (margin ratio "
      "80% or more), past liquidation, no liquidation, or \"error: \" and why (as xlhtx "
      "calc writes it).",
      "the position in one word a filter can use: `ok`, `warning` (margin ratio ≥ 80%), "
      "`past liquidation`, `no liquidation`, or `error: ` and why — what `xlhtx calc` "
      "writes in its status column; a text value on every row, never a failed cell",
      _args(f"{POSITION} mark_price leverage [margin] [tiers] [mode]"), metrics.status),
    F("HTX_MARGINASSET", "The margin asset of a contract: USDT for USDT-margined, the coin "
      "for coin-margined (the unit of its margin, PnL and equity).",
      "the margin asset: USDT, or the coin of a coin-margined contract (the unit of "
      "margin, PnL, equity)", _args("contract [tiers]"), api.margin_asset),
    F("HTX_LIQPRICE", "Estimated liquidation price of an isolated position: the first "
      "trigger of HTX's tiered liquidation.",
      "first liquidation trigger price (isolated)",
      _args(f"{POSITION} leverage [margin] [tiers] [mode]"), api.liq_price),
    F("HTX_BANKRUPTCYPRICE", "Bankruptcy price: where the isolated position's equity reaches 0.",
      "price where equity is 0", _args(f"{POSITION} leverage [margin] [tiers]"),
      api.bankruptcy_price),
    F("HTX_LIQLADDER", "HTX tiered liquidation ladder of one position: a spilled table with "
      "a header row (Step, Trigger price, Contracts before, Contracts after, Tier before, "
      "Tier after, Margin after).",
      "spilled table with header: Step, Trigger price, Contracts before, Contracts after, "
      "Tier before, Tier after, Margin after",
      _args(f"{POSITION} leverage [margin] [tiers] [mode]"), api.liq_ladder,
      shape="ladder", row_wise=False),
    F("HTX_AFTERLIQ", "What is left after HTX's tiered liquidation if the mark reaches the "
      "price: the contracts (default), or with output \"margin_ratio\" / \"equity\" their "
      "margin ratio or equity (0 once fully liquidated).",
      "contracts left if the mark reaches price; `output`: contracts (default), "
      "margin_ratio or equity",
      _args(f"{POSITION} leverage price [margin] [tiers] [output=] [mode]"),
      api.after_liq, shape="output"),
    F("HTX_ADDMARGIN", "Margin to add so the liquidation price becomes the target "
      "(negative: removable).", "margin to add (negative: removable)",
      _args(f"{POSITION} leverage target_liq_price [margin] [tiers] [mode]"),
      api.add_margin),
    F("HTX_MAXOPEN", "Maximum contracts that can be opened with the equity at the price "
      "and leverage, under HTX's tiered available margin.",
      "max contracts that can be opened",
      _args("contract equity price leverage [margin_ladders] [tiers] [mode] "
            "[position_limit]"), api.max_open, pick="contracts"),
    F("HTX_TARGETPRICE", "Exit price at which the return on initial margin equals the target ROE.",
      "exit price for a target ROE",
      _args("contract side entry_price leverage target_roe [tiers]"), api.target_price),
    F("HTX_CROSSLIQPRICE", "Liquidation price of each position of one cross-margin "
      "account, the others held at their mark prices.",
      "liquidation price per cross position (legs of one contract move together)",
      _args(f"{ACCOUNT_COLS} [tiers] [adjust_factor_col=adjust_factor]"),
      api.cross_liq_price, row_wise=False),
    F("HTX_RISKRATE", "HTX's risk rate of one margin account (liquidation at 0 or below): "
      "isolated and coin-margined equity/(margin+frozen) - adjust factor; USDT cross "
      "equity/sum(factor x (margin+frozen)) - 1.", "HTX's risk rate of the account",
      _args(f"{ACCOUNT_COLS} [mode] [frozen_margin] [tiers] "
            "[adjust_factor_col=adjust_factor]", CROSS_MODE),
      api.risk_rate, shape="account_value", row_wise=False),
    F("HTX_ACCOUNT", "One margin account, per leg: liquidation price of its contract (hedge "
      "legs move together), and the account's margin ratio, risk rate and equity (a "
      "spilled table, four columns, one row per leg).",
      "spilled, one row per leg: liquidation price, margin ratio, risk rate, equity. "
      "`collateral`: a Multi-Assets account's assets (`currency, amount[, index_price, "
      "collateral_rate]`), each worth amount x index price x collateral rate (liabilities "
      "in full), added to `margin_static`",
      _args(f"{ACCOUNT_COLS} [mode] [frozen_margin] [tiers] [collateral] "
            "[adjust_factor_col=adjust_factor]", CROSS_MODE),
      api.account, shape="account", row_wise=False),
    F("HTX_LIQMAP", "Liquidation map of one contract of a book: per price bucket the "
      "contracts and notional HTX's tiered liquidation force-closes, longs and shorts "
      "apart, and the cumulative notional from the mark (a spilled table with a header).",
      "spilled table with header, for one contract (`map_contract`, or the only one in the "
      "range; a range of several without it is refused: 0.001 BTC and 100 USD contracts "
      "do not add): per price bucket the contracts and notional HTX's tiered liquidation "
      "closes, longs and shorts apart, and the cumulative notional from the mark",
      _args("contract_col=contract side_col=side contracts_col=contracts "
            "entry_col=entry_price leverage_col=leverage margin_col=margin price_from "
            "price_to step [tiers] [mark_price] [map_contract] [mode]"),
      api.liq_map, shape="map", row_wise=False),
    F("HTX_INSURANCE", "Insurance-fund change when the position is fully liquidated and "
      "executed at the price: + surplus (less the fee), - shortfall the fund pays.",
      "insurance-fund change on full liquidation",
      _args(f"{POSITION} leverage exec_price [margin] [fee_rate] [tiers] [mode]"),
      api.insurance, pick="change"),
    F("HTX_ADLRANK", "Auto-deleveraging priority of each position (1 = first): profitable "
      "positions by PnL ratio x effective leverage, then the others.",
      "ADL priority per position (1 = first)",
      _args("pnl_col=pnl margin_col=margin notional_col=notional"), api.adl_rank,
      row_wise=False),
    F("HTX_VERSION", "xlhtx version, the bundled tier snapshot's date and the systems of "
      "its tables.", "add-in version and the tier snapshot's date (illustrative)",
      (), _version, shape="value", row_wise=False),
    F("HTX_TIERSET", "The tier table as one short handle for the tiers argument of the "
      "other HTX_* functions: the table then crosses from Excel to Python once per "
      "recalculation, not once per call (an edited table gives a new handle).",
      "a short handle (`tiers 3f9a…: 3,114 tier rows, as of …`) naming the tier table, "
      "for the `tiers` argument of every other function: in a workbook the table then "
      "crosses from Excel to Python once per recalculation, not once per call; an edited "
      "table gives a new handle. The template's cells read it through the name "
      "`TierSet`. After Python restarts, the first call with the handle loads the table "
      "from the open workbook whose `TierTables` range has that content (the handle is "
      "its hash); if none has, the call says to press Ctrl+Alt+F9",
      _args("tiers"), api.tier_handle, shape="value", row_wise=False),
    F("HTX_BOOK", "A positions book as one short handle for HTX_BOOKCOLUMN: the book's "
      "columns cross from the sheet to Python once, and every output column reads them by "
      "the handle.",
      "a short handle (`book 3f9a…: 100,000 positions`) naming the book for "
      "`HTX_BOOKCOLUMN`: the columns cross to Python once per recalculation however many "
      "output columns read them (for the Office.js add-in, once over the network), and "
      "every metric comes from one kernel pass. Each position is computed as the "
      "per-position functions compute it; an edited book gives a new handle",
      _args("contract_col=contract side_col=side contracts_col=contracts "
            "entry_col=entry_price leverage_col=leverage [mark_col=mark_price] "
            "[margin_col=margin] [mode_col=mode] [tiers]",
            {"margin_col": "Optional column of isolated margin balances; an empty cell is "
                           "the initial margin."}),
      books.book, shape="value", row_wise=False),
    F("HTX_BOOKCOLUMN", "One output column of a book named by its HTX_BOOK handle: "
      "liq_price, margin_ratio, status, ...; a number per position, or why it has none.",
      "the column, spilled: one of " + ", ".join(f"`{c}`" for c in books.COLUMNS)
      + " (the mark-dependent ones need `mark_col`); a number per position, or the row's "
      "words where it has none",
      _args("book column"), books.book_column, row_wise=False),
)


def catalogue() -> str:
    """The docs' catalogue table (``docs/excel.md``)."""
    rows = ["| Function | Arguments | Returns |", "|---|---|---|"]
    rows += [f"| `{f.name}` | {f.signature_text()} | {f.returns} |" for f in FUNCTIONS.values()]
    return "\n".join(rows)


def dropped_arguments(f: Function) -> set[str]:
    """API arguments of ``f``'s call that no Excel argument fills (and ``API_ONLY`` does
    not explain): a test keeps this empty."""
    params = set(inspect.signature(f.call).parameters)
    return params - {a.api for a in f.args if a.api} - set(API_ONLY)
