"""The Positions sheet: an Excel Table of positions whose formula columns are HTX_* calls,
with validations and formats."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name

from xlhtx.xlsx.template.common import (AMBER, Book, GREY_FILL, HEAD, INPUT, MONEY, PCT,
                                        PRICE, RED, TIER_SET, price_formats, this_row,
                                        validate, when_number)


# Positions: (header, number format, formula or None for an input column)
POSITION_COLUMNS: list[tuple[str, str, str | None]] = [
    ("Contract", "@", None),
    ("Side", "@", None),
    ("Margin mode", "@", None),
    ("Leverage", "0", None),
    ("Contracts", "#,##0", None),
    ("Entry price", PRICE, None),
    ("Mark price", PRICE, None),
    ("Margin", MONEY, None),
    ("Notional", MONEY, "HTX_NOTIONAL([@Contract],[@Contracts],[@[Mark price]],{T})"),
    ("Initial margin", MONEY,
     "HTX_MARGIN([@Contract],[@Contracts],[@[Entry price]],[@Leverage],{T})"),
    # the tier as HTX shows it, 1 = the lowest: risk-limit tiers are numbered so already,
    # an adjustment-factor ladder (HTX's API counts them from 0; the row has a factor) + 1
    ("Tier", "0", "HTX_TIER([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"
                  "+IF(ISNUMBER([@[Adj. factor]]),1,0)"),
    ("Adj. factor", "0.0000",
     "HTX_ADJFACTOR([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"),
    ("MMR", "0.000%", "HTX_MMR([@Contract],[@Leverage],[@Contracts],[@[Margin mode]],{T})"),
    ("Maint. margin", MONEY, "HTX_MAINTMARGIN([@Contract],[@Contracts],[@[Mark price]],"
                             "[@Leverage],[@[Margin mode]],{T})"),
    ("PnL", MONEY, "HTX_PNL([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                   "[@[Mark price]],{T})"),
    ("ROE", PCT, "HTX_ROE([@Contract],[@Side],[@Contracts],[@[Entry price]],[@[Mark price]],"
                 "[@Leverage],{T})"),
    ("Equity", MONEY, "HTX_EQUITY([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                      "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Margin ratio", PCT, "HTX_MARGINRATIO([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Liq. price", PRICE, "HTX_LIQPRICE([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                          "[@Leverage],[@Margin],{T},[@[Margin mode]])"),
    ("Bankruptcy price", PRICE, "HTX_BANKRUPTCYPRICE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@Leverage],[@Margin],{T})"),
    ("Distance to liq. %", PCT, "HTX_LIQDISTANCE([@Contract],[@Side],[@Contracts],"
                                "[@[Entry price]],[@[Mark price]],[@Leverage],[@Margin],{T},"
                                "[@[Margin mode]])"),
    ("Margin asset", "@", "HTX_MARGINASSET([@Contract],{T})"),   # (centred, below)
    ("Status", "@", "HTX_STATUS([@Contract],[@Side],[@Contracts],[@[Entry price]],"
                    "[@[Mark price]],[@Leverage],[@Margin],{T},[@[Margin mode]])"),
]
PRICE_COLUMNS = ("Entry price", "Mark price", "Liq. price", "Bankruptcy price")

# amounts in the row's margin asset (Margin asset column): USDT to the cent, a coin to 8
MONEY_COLUMNS = ("Margin", "Notional", "Initial margin", "Maint. margin", "PnL", "Equity")
INPUTS = [c[0] for c in POSITION_COLUMNS if c[2] is None]
SAMPLE_KEYS = {"Contract": "contract", "Side": "side", "Margin mode": "margin_mode",
               "Leverage": "leverage", "Contracts": "contracts", "Entry price": "entry_price",
               "Mark price": "mark_price", "Margin": "margin"}


def position_sheet(b: Book, ws, positions: dict[str, list], n_rows: int | None) -> None:
    headers = [c[0] for c in POSITION_COLUMNS]
    sample = list(zip(*(positions[SAMPLE_KEYS[h]] for h in INPUTS)))
    n = n_rows or len(sample)
    columns = []
    for name, fmt, formula in POSITION_COLUMNS:
        column: dict[str, Any] = {"header": name, "header_format": b.fmt(HEAD)}
        if formula is None:
            column["format"] = b.fmt(INPUT, num_format=fmt)
        else:
            # rows a user adds to the Table get the formula too (calculatedColumnFormula);
            # a message ("no liquidation: ...") shrinks into its cell, not over the next
            column["formula"] = "=" + this_row(formula.format(T=TIER_SET), "Positions")
            # (the status, last, runs on into the empty cells beside it instead)
            column["format"] = b.fmt(num_format=fmt, shrink=name != "Status",
                                     **({"align": "center"} if name == "Margin asset" else {}))
        columns.append(column)
    data = [list(sample[k % len(sample)]) for k in range(n)]
    ws.add_table(0, 0, n, len(headers) - 1, {
        "name": "Positions", "style": "Table Style Medium 2", "columns": columns,
        "data": data})
    ws.set_row(0, 30)
    col = {h: xl_col_to_name(j) for j, h in enumerate(headers)}
    lo, hi = 2, n + 1
    validate(ws, f"{col['Contract']}{lo}:{col['Contract']}{hi}",
             {"validate": "list", "source": '=INDIRECT("Contracts[contract_code]")'},
             "Pick a contract from the Contracts sheet")
    validate(ws, f"{col['Side']}{lo}:{col['Side']}{hi}",
             {"validate": "list", "source": ["long", "short"]}, "long or short")
    validate(ws, f"{col['Margin mode']}{lo}:{col['Margin mode']}{hi}",
             {"validate": "list", "source": ["isolated", "cross"]}, "isolated or cross")
    mr = f"{col['Margin ratio']}{lo}:{col['Margin ratio']}{hi}"
    when_number(b, ws, mr, "{x}>=1", RED, stop=True)
    when_number(b, ws, mr, "{x}>=0.8", AMBER)
    status = f"{col['Status']}{lo}:{col['Status']}{hi}"
    for word, style in (("past liquidation", RED), ("warning", AMBER), ("error", GREY_FILL)):
        ws.conditional_format(status, {
            "type": "formula", "stop_if_true": True, "format": b.fmt(style),
            "criteria": f'=LEFT({col["Status"]}{lo},{len(word)})="{word}"'})
    for name in PRICE_COLUMNS:
        price_formats(b, ws, f"{col[name]}{lo}:{col[name]}{hi}")
    asset = f"${col['Margin asset']}{lo}"
    for name in MONEY_COLUMNS:
        ref = f"{col[name]}{lo}:{col[name]}{hi}"
        when_number(b, ws, ref, f'{asset}="USDT"', {"num_format": "#,##0.00"}, stop=True)
        when_number(b, ws, ref, f'{asset}<>""', {"num_format": "#,##0.00000000"}, stop=True)
    validate(ws, f"{col['Margin']}{lo}:{col['Margin']}{hi}",
             {"validate": "decimal", "criteria": ">", "value": 0},
             "Isolated margin in the margin asset; leave it blank for the initial margin")
    ws.freeze_panes("B2")
    for h, letter in col.items():
        ws.set_column(f"{letter}:{letter}", 40 if h == "Status" else
                      max(11.0, min(18.0, len(h) + 4)))
