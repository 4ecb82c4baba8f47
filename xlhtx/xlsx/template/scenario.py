"""The Scenario sheet: the picked position over a price grid around its liquidation price,
and its chart."""

from __future__ import annotations

from xlhtx.xlsx.template.common import (Book, NAVY, PCT, RED, TIER_SET, TITLE, header_row,
                                        price_formats, spill, when_number, widths)
from xlhtx.xlsx.template.picker import PICKED_MODE, mark_or_entry, position_picker


SCENARIO_POINTS = 25   # rows of the price grid, centred on the liquidation price
SCENARIO_SPAN = 3      # the grid reaches 3x the distance to liquidation either side


def scenario_sheet(b: Book, ws) -> None:
    ws.write_string("A1", "Scenario: the position over a price grid around its liquidation "
                    "price", b.fmt(TITLE))
    refs = position_picker(b, ws)
    pos = f"{refs['Contract']},{refs['Side']},{refs['Contracts']},{refs['Entry price']}"
    for r, label in zip(range(3, 7), ("Liquidation price", "Mark (entry if empty)",
                                      "Margin at the mark", "Grid step")):
        ws.write_string(f"D{r}", label)
    # the picked row's own figures: the Positions cells already hold them (no new call)
    ws.write_formula("E3", "=INDEX(Positions[Liq. price],$B$3)", None, "")
    ws.write_formula("E4", f"={mark_or_entry(refs)}", None, "")
    ws.write_formula("E5", f"=IF(ISNUMBER({refs['Margin']}),{refs['Margin']},"
                           "INDEX(Positions[Initial margin],$B$3))",
                     b.fmt(num_format="#,##0.00"), "")
    half = SCENARIO_POINTS // 2
    # centred on the liquidation price, 3x its distance from the mark either side; a
    # position no price liquidates: its mark +-50%
    ws.write_formula("E6", f"=IF(ISNUMBER(E3),{SCENARIO_SPAN}*ABS(E4-E3)/{half},E4*0.5/{half})",
                     None, "")
    price_formats(b, ws, "E3:E4")
    price_formats(b, ws, "E6")
    top = 12
    header_row(b, ws, top - 1, ["Move from mark", "Price", "Contracts left", "Margin ratio",
                                "Equity", "PnL"])
    centre = "IF(ISNUMBER($E$3),$E$3,$E$4)"
    after = f"{pos},{refs['Leverage']},B{{r}},{refs['Margin']},{TIER_SET}"
    move = b.fmt(num_format="+0.00%;-0.00%;0.00%")
    # the ratio column shrinks its words (a fully liquidated position has no ratio), as
    # the Positions formula columns do
    whole, pct, money = (b.fmt(num_format="#,##0"), b.fmt(num_format=PCT, shrink=True),
                         b.fmt(num_format="#,##0.00"))
    for k in range(SCENARIO_POINTS):
        r = top + 1 + k
        ws.write_formula(f"A{r}", f"=B{r}/$E$4-1", move, "")
        ws.write_formula(f"B{r}", f"=MAX({centre}+({k - half})*$E$6,{centre}/1000)", None, 0)
        ws.write_formula(f"F{r}", f"=E{r}-$E$5", money, "")   # a loss stops at the margin
    last = top + SCENARIO_POINTS
    # one call per column over the whole grid, spilled: 3 calls, not 75
    grid = after.format(r="{r}").replace("B{r}", f"B{top + 1}:B{last}")
    for col, output, fmt in (("C", "contracts", whole), ("D", "margin_ratio", pct),
                             ("E", "equity", money)):
        spill(b, ws, f"{col}{top + 1}:{col}{last}",
              f'=HTX_AFTERLIQ({grid},"{output}",{PICKED_MODE})', {col: fmt})
    price_formats(b, ws, f"B{top + 1}:B{last}")
    when_number(b, ws, f"D{top + 1}:D{last}", "{x}>=1", RED)
    when_number(b, ws, f"C{top + 1}:C{last}", "{x}=0", RED)
    # the liquidation price drawn as a vertical marker
    ws.write_string("H12", "Liquidation price marker", b.fmt(shrink=True))
    ws.write_formula("H13", "=$E$3", None, 0)
    ws.write_number("I13", 0)
    ws.write_formula("H14", "=$E$3", None, 0)
    ws.write_formula("I14", f"={refs['Contracts']}", None, 0)
    chart = b.chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.set_title({"name": "Contracts left (tiered liquidation) and margin ratio over price"})
    chart.set_style(13)
    xs = [ws.name, top, 1, last - 1, 1]
    chart.add_series({"name": [ws.name, top - 1, 2], "categories": xs,
                      "values": [ws.name, top, 2, last - 1, 2], "marker": {"type": "circle"},
                      "line": {"color": NAVY}})
    chart.add_series({"name": [ws.name, top - 1, 3], "categories": xs,
                      "values": [ws.name, top, 3, last - 1, 3], "y2_axis": True,
                      "marker": {"type": "none"}, "line": {"color": "#ED7D31"}})
    # 100% margin ratio (liquidation) across the grid, on the ratio's axis
    ws.write_string("H16", "Margin ratio 100%", b.fmt(shrink=True))
    ws.write_formula("H17", f"=B{top + 1}", None, 0)
    ws.write_formula("H18", f"=B{last}", None, 0)
    ws.write_number("I17", 1)
    ws.write_number("I18", 1)
    chart.add_series({"name": "margin ratio 100%", "categories": [ws.name, 16, 7, 17, 7],
                      "values": [ws.name, 16, 8, 17, 8], "y2_axis": True,
                      "marker": {"type": "none"},
                      "line": {"color": "#ED7D31", "dash_type": "round_dot"}})
    chart.add_series({"name": "liquidation price", "categories": [ws.name, 12, 7, 13, 7],
                      "values": [ws.name, 12, 8, 13, 8], "marker": {"type": "none"},
                      "line": {"color": "#FF5B5B", "dash_type": "dash"}})
    chart.set_x_axis({"name": "Price", "num_format": "#,##0"})
    chart.set_y_axis({"name": "Contracts left", "num_format": "#,##0"})
    chart.set_y2_axis({"name": "Margin ratio", "num_format": "0%"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 756, "height": 378})
    ws.insert_chart("K3", chart)
    ws.freeze_panes(f"A{top + 1}")
    widths(ws, {"A": 36, "B": 16, "C": 15, "D": 22, "E": 16, "F": 14, "H": 12, "I": 10})
