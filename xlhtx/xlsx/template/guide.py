"""The Guide sheet: what the workbook does, units, the steps from opening to live functions
(or, in the values copy, what a values file is), the tier snapshot."""

from __future__ import annotations

from xlhtx.reference.tiers import TierTable
from xlhtx.version import __version__
from xlhtx.xlsx.template.common import Book, GREY, NAVY, TIERS, TIER_SET, widths


# what a user sees at each step, from opening the file to live functions
INSTALL_GUIDE = [
    ("Install (Windows, Excel): from opening to live functions", "h"),
    ("1. pip install . in a clone of xlhtx (it brings the pinned xlwings), then xlwings "
     "addin install.", None),
    ("2. A downloaded file has its macros blocked: right-click it, Properties, tick "
     "Unblock. In Excel trust access to the VBA project object model (Trust Center, "
     "Macro Settings).", None),
    ("3. Open this workbook. Every cell shows the numbers stored when the file was built; "
     "the HTX_* cells are not live yet (an edited row would show #NAME?).", None),
    ("4. In the xlwings tab press Import Functions (set the Interpreter first if Python is "
     "not on the PATH; the UDF module, xlhtx.excel.udfs, is set in the xlwings.conf sheet). "
     "That is all: the cells recalculate as you type from then on (the stored values are "
     "what the functions compute, so nothing needs recomputing first; Ctrl+Alt+F9 "
     "recomputes every cell if you want to see it happen).", None),
    ("Refresh the tier tables from HTX: xlhtx tiers fetch --workbook <this file> "
     "(or edit the Tiers sheet: its Tiers and RiskLimits tables, read by every HTX_* "
     "cell through the name TierTables, which leaves 50 empty rows for rows you add; "
     "past them, widen it in Formulas > Name Manager).", None),
    ("Without Excel: xlhtx recalc <this file> -o values.xlsx writes a copy with computed "
     "values that any viewer shows.", None),
]
VALUES_GUIDE = [
    ("This copy holds values", "h"),
    ("The numbers the HTX_* formulas of xlhtx.xlsm computed, as plain values for any "
     "viewer (Excel, a file preview, LibreOffice): nothing here recalculates. Change "
     "positions in xlhtx.xlsm, or run xlhtx calc on a positions file; xlhtx recalc "
     "xlhtx.xlsm -o values.xlsx --values-only makes a new copy.", None),
]


def guide(b: Book, ws, table: TierTable, for_values: bool = False) -> None:
    lines = [
        ("xlhtx — HTX futures margin, tiers and liquidation in Excel", "title"),
        ("", None),
        ("What it does", "h"),
        ("Positions: one row per position. Yellow columns are inputs; the rest are "
         "HTX_* formulas that recalculate as you type (margin, tier, MMR, margin ratio, "
         "liquidation and bankruptcy prices, distance to liquidation).", None),
        ("Ladder: HTX's tiered (partial) liquidation of one position: trigger prices and "
         "contracts left at each step, spilled by HTX_LIQLADDER.", None),
        ("Scenario: one position over a price grid centred on its liquidation price (3x its "
         "distance either side): contracts left after tiered liquidation, their margin "
         "ratio, equity (an isolated loss stops at the margin) and PnL.", None),
        ("Accounts: a margin account (a hedge pair included): per contract its liquidation "
         "price, the account's margin ratio and HTX's risk rate (HTX_ACCOUNT).", None),
        ("Liquidation map: for the Positions book, the contracts and notional HTX's tiered "
         "liquidation force-closes per price bucket, longs and shorts apart (HTX_LIQMAP).",
         None),
        ("Tiers, Contracts, MarginLadders: HTX's reference tables. Every formula reads the "
         "Tiers table, so an edit there recalculates everything.", None),
        ("", None),
        ("Units", "h"),
        ("USDT-margined contracts (BTC-USDT): prices, margin and PnL in USDT; contract size "
         "in coin. Coin-margined contracts (BTC-USD): margin and PnL in the coin; face value "
         "in USD. Ratios are fractions (100% = liquidation).", None),
        ("", None),
        *(VALUES_GUIDE if for_values else INSTALL_GUIDE),
        ("", None),
        ("Tier snapshot", "h"),
        (f"As of {table.as_of}. Source: {table.source}", None),
        (f"Systems of the loaded tables: {table.system_summary()}.", None),
        ("The tables every HTX_* cell reads, as one handle (the name TierSet, the cell "
         "below: HTX_TIERSET over the Tiers sheet's tables; an edit there gives a new "
         "handle and recalculates everything):", None),
        ("=HTX_TIERSET", "tierset"),
        ("Risk-limit tiers (HTX's USDT-M trading system since 2026): the MMR is the tier's, "
         "the tier holds the position side's contracts, the leverage may not pass the "
         "tier's max_leverage. HTX publishes no partial liquidation for them: the Ladder, "
         "Scenario and Liquidation map take the whole position as liquidated at its first "
         "trigger (an assumption). Adjustment-factor ladders (coin-margined): MMR = factor "
         "/ leverage on the net position, liquidated ladder by ladder.", None),
        ("The bundled snapshot is illustrative, not HTX's live tables: xlhtx tiers fetch "
         "--workbook <this file> puts HTX's current tables in the Tiers sheet.", None),
        ("", None),
        ("Warning: a known-wrong formula", "h"),
        ("A widely copied article gives Liq(long) = E*(1 - 1/L + MM/IM). With E = 30,000, "
         "L = 10 and MM/IM = 0.5 it gives 42,000 — above the entry of a long — and the "
         "article prints 27,000. Do not use it. xlhtx solves MM(P) = equity(P) at the "
         "position's tier (HTX: Liquidation Rules for Futures Trading).", None),
        ("", None),
        (f"xlhtx {__version__}", None),
    ]
    for i, (text, kind) in enumerate(lines):
        style = {"title": dict(bold=True, font_size=16, font_color=NAVY),
                 "h": dict(bold=True, font_size=12, font_color=NAVY)}.get(kind, {})
        f = b.fmt(style, text_wrap=True, valign="top")
        if kind == "tierset":
            ws.write_formula(i, 0, f"=HTX_TIERSET({TIERS})", b.fmt(GREY), "")
            b.wb.define_name(TIER_SET, f"=Guide!$A${i + 1}")
        elif text:
            ws.write_string(i, 0, text, f)
        # rows sized to their text: Excel does not grow a wrapped row written by a program
        lines_needed = max(1, -(-len(text) // GUIDE_CHARS_PER_LINE))
        ws.set_row(i, {"title": 24, "h": 19}.get(kind, 15.5 * lines_needed))
    widths(ws, {"A": 120})


GUIDE_CHARS_PER_LINE = 105   # characters of 11-point Calibri in a 120-wide column
