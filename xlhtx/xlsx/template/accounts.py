"""The Accounts sheet: one USDT cross margin account with a hedge pair (HTX_ACCOUNT)."""

from __future__ import annotations

from xlsxwriter.utility import xl_col_to_name

from xlhtx.xlsx.template.common import (Book, INPUT, MONEY, NOTE, PCT, PRICE, TIER_SET, TITLE,
                                        header_row, spill, validate, widths)


ACCOUNT_LEGS = [("BTC-USDT", "long", 20000, 64000, 63500, 20),
                ("BTC-USDT", "short", 5000, 64500, 63500, 20),
                ("ETH-USDT", "short", 3000, 3100, 3150, 20),
                ("SOL-USDT", "long", 500, 142.5, 140.0, 10)]

# the sample account's balance: enough for today's risk-limit MMRs (the BTC-USDT long is
# in tier 4, 2%)
ACCOUNT_BALANCE = 60000
COLLATERAL_ROWS = 4   # empty input rows of the Accounts sheet's collateral table


def accounts_sheet(b: Book, ws) -> None:
    """One USDT cross margin account with a hedge pair: per contract its liquidation
    price (the legs of one contract move together), the account's margin ratio and
    HTX's risk rate, all from HTX_ACCOUNT."""
    ws.write_string("A1", "Margin account (USDT cross)", b.fmt(TITLE))
    inputs = [("Margin mode", "cross", "@"),
              ("Balance before unrealized PnL (USDT, HTX margin_static)", ACCOUNT_BALANCE,
               MONEY),
              ("Frozen order margin (USDT)", 0, MONEY)]
    for r, (label, value, fmt) in enumerate(inputs, start=3):
        ws.write_string(f"A{r}", label)
        ws.write(f"B{r}", value, b.fmt(INPUT, num_format=fmt))
    validate(ws, "B3", {"validate": "list", "source": ["isolated", "cross"]},
             "isolated (one contract) or cross")
    head = ["Contract", "Side", "Contracts", "Cost basis", "Mark price", "Leverage",
            "Liq. price", "Margin ratio", "Risk rate", "Equity"]
    top = 8
    header_row(b, ws, top - 2, head)
    for i, row in enumerate(ACCOUNT_LEGS, start=top):
        for j, v in enumerate(row):
            ws.write(f"{xl_col_to_name(j)}{i}", v, b.fmt(INPUT))
    last = top + len(ACCOUNT_LEGS) - 1
    cols = ",".join(f"{c}{top}:{c}{last}" for c in "ABCDEF")
    formats = dict(zip("GHIJ", (b.fmt(num_format=PRICE), b.fmt(num_format=PCT),
                                b.fmt(num_format="0.0000", shrink=True),
                                b.fmt(num_format=MONEY))))
    notes = [
        "The legs of one contract (here the BTC-USDT long and short) move with one price; "
        "each contract's liquidation price holds the other contracts at their mark prices.",
        "Tiers: risk-limit tiers (USDT-M today) on each side's own contracts; "
        "adjustment-factor ladders (coin-margined) on the net position.",
        "Risk rate (HTX's risk_rate, adjustment-factor contracts only; liquidation at 0 or "
        "below): USDT cross = equity / sum(adjust factor x (margin + frozen)) - 1; isolated "
        "and coin-margined = equity / (margin + frozen) - adjust factor. Risk-limit "
        "accounts: n/a, the margin ratio is HTX's figure.",
        "Cost basis: HTX's cost_hold (the settled basis), not the average open price.",
    ]
    for k, text in enumerate(notes, start=last + 2):
        ws.write_string(f"A{k}", text, b.fmt(NOTE))
    # Multi-Assets collateral: assets worth amount x index price x collateral rate,
    # added to the balance (empty rows: none)
    c0 = last + len(notes) + 3
    ws.write_string(f"A{c0}", "Multi-Assets collateral (optional, cross only): each asset "
                    "counts at amount x index price x collateral rate, added to the balance",
                    b.fmt(NOTE))
    header_row(b, ws, c0, ["currency", "amount", "index_price", "collateral_rate"])
    for r in range(c0 + 2, c0 + 2 + COLLATERAL_ROWS):
        for c in "ABCD":
            ws.write_blank(f"{c}{r}", None, b.fmt(INPUT))
    collateral = f"A{c0 + 1}:D{c0 + 1 + COLLATERAL_ROWS}"
    spill(b, ws, f"G{top}:J{last}", f"=HTX_ACCOUNT({cols},B4,B3,B5,{TIER_SET},{collateral})",
          formats)
    widths(ws, {"A": 52, "B": 12, "C": 12, "D": 13, "E": 13, "F": 10, "G": 15, "H": 13,
                "I": 12, "J": 15})
