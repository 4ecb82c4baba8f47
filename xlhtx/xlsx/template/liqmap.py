"""The Liquidation map sheet: one contract's liquidation map of the Positions book
(HTX_LIQMAP) and its chart."""

from __future__ import annotations

from xlhtx.xlsx.template.common import (Book, GREY, HEAD, INPUT, NAVY, NOTE, PRICE, TIER_SET,
                                        TITLE, spill, validate, widths)


MAP_RANGE = (25000, 70000, 1000)   # from, to, step of the sample map (BTC prices)
MAP_CONTRACT = "BTC-USDT"


def liqmap_sheet(b: Book, ws) -> None:
    """HTX_LIQMAP over the Positions table: per price bucket the contracts and notional
    force-closed, longs and shorts apart, and a bar chart."""
    ws.write_string("A1", "Liquidation map of one contract of the Positions book",
                    b.fmt(TITLE))
    lo, hi, step = MAP_RANGE
    inputs = [("Price from", lo), ("Price to", hi), ("Bucket width", step),
              ("Mark (cumulative counts from here)", 30000)]
    for r, (label, value) in enumerate(inputs, start=3):
        ws.write_string(f"A{r}", label)
        ws.write_number(f"B{r}", value, b.fmt(INPUT, num_format=PRICE))
    ws.write_string("A7", "Contract")
    ws.write_string("B7", MAP_CONTRACT, b.fmt(INPUT))
    validate(ws, "B7", {"validate": "list", "source": '=INDIRECT("Contracts[contract_code]")'},
             "Pick the contract to map")
    ws.write_string("C7", "one contract per map: 0.001 BTC and 100 USD contracts do not add",
                    b.fmt(NOTE))
    top, buckets = 9, (hi - lo) // step
    cols = ",".join(f"Positions[{c}]" for c in ("Contract", "Side", "Contracts", "Entry price",
                                                 "Leverage", "Margin"))
    formats = dict(zip("ABCDEFG", (b.fmt(num_format=f) for f in (
        "#,##0.##", "#,##0.##", "#,##0", "#,##0", "#,##0", "#,##0", "#,##0"))))
    spill(b, ws, f"A{top}:G{top + buckets}", f"=HTX_LIQMAP({cols},B3,B4,B5,{TIER_SET},B6,B7,"
          "Positions[Margin mode])",
          formats, header=True)
    # the mark: a short navy block stacked on top of its bucket's bars (it hides none of
    # them, and every chart engine draws a stacked column), 0 in every other bucket
    first, end = top + 1, top + buckets
    ws.write_formula(f"H{top}", '="Mark "&TEXT($B$6,"#,##0.##")', b.fmt(HEAD), "Mark")
    height = f"0.04*(MAX($E${first}:$E${end})+MAX($F${first}:$F${end}))"
    for k in range(buckets):
        ws.write_formula(f"H{first + k}", f"=IF(AND($B$6>=$B$3+{k}*$B$5,"
                         f"$B$6<$B$3+{k + 1}*$B$5),{height},0)", b.fmt(GREY,
                                                                      num_format="#,##0"), 0)
    chart = b.chart({"type": "column", "subtype": "stacked"})
    cats = [ws.name, top, 0, top + buckets - 1, 0]
    for col, colour in ((4, "#D9534F"), (5, "#2E7D32"), (7, NAVY)):
        chart.add_series({"name": [ws.name, top - 1, col], "categories": cats,
                          "values": [ws.name, top, col, top + buckets - 1, col],
                          "fill": {"color": colour}, "overlap": 100, "gap": 50})
    chart.set_title({"name": "Notional force-closed per price bucket (longs red, shorts green)"})
    chart.set_y_axis({"name": "notional (USDT / USD)", "num_format": "#,##0"})
    chart.set_x_axis({"name": "bucket (low price)", "num_format": "#,##0"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 907, "height": 416})
    ws.insert_chart("I3", chart)
    widths(ws, {"A": 34, "B": 14, "C": 16, "D": 16, "E": 16, "F": 16, "G": 20})
