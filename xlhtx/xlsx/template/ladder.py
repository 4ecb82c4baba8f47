"""The Ladder sheet: HTX's tiered liquidation of the picked position, spilled, and its step
chart."""

from __future__ import annotations

from xlhtx.xlsx.template.common import (Book, GREY, NAVY, NOTE, TIER_SET, TITLE, header_row,
                                        price_formats, spill, widths)
from xlhtx.xlsx.template.picker import PICKED_MODE, mark_or_entry, position_picker


LADDER_STEPS = 8   # rows kept for the spilled ladder (HTX publishes up to five ladders)


def ladder_sheet(b: Book, ws) -> None:
    ws.write_string("A1", "Tiered liquidation ladder", b.fmt(TITLE))
    refs = position_picker(b, ws)
    top = LADDER_TOP
    ws.write_string("A11", "As the mark moves against the position, HTX cuts it tier by tier "
                    "at each trigger price (HTX_LIQLADDER); on risk-limit tiers (USDT-M "
                    "today) HTX publishes no partial liquidation: all of it goes at the "
                    "first trigger.", b.fmt(NOTE))
    f = (f"=HTX_LIQLADDER({refs['Contract']},{refs['Side']},{refs['Contracts']},"
         f"{refs['Entry price']},{refs['Leverage']},{refs['Margin']},{TIER_SET},"
         f"{PICKED_MODE})")
    # the function's own header is the table's header: nothing hidden, one call
    spill(b, ws, f"A{top}:G{top + LADDER_STEPS}", f,
          {"C": b.fmt(num_format="#,##0"), "D": b.fmt(num_format="#,##0"),
           "G": b.fmt(num_format="#,##0.00")}, header=True)
    price_formats(b, ws, f"B{top + 1}:B{top + LADDER_STEPS}")
    step_chart_points(b, ws, refs)
    widths(ws, {"A": 36, "B": 16, "C": 17, "D": 16, "E": 12, "F": 12, "G": 15, "I": 14, "J": 16})


LADDER_TOP = 12   # the ladder's header row (1-based), its steps below


def step_chart_points(b: Book, ws, refs: dict[str, str]) -> None:
    """The points of a step chart of contracts held against the mark: from the opening
    position at the mark, down each trigger to what is left, to zero. They read the
    spilled ladder's cells (no second call); past the last step a point repeats the one
    before, so the chart has no gap and the helper no #N/A."""
    grey = b.fmt(GREY)
    # (a numeric placeholder value on each plotted formula makes the chart's series
    # numbers, as a scatter's x values must be; the build's recalculation fills them)
    ws.write_string("I11", "Chart points", b.fmt(NOTE, GREY))
    header_row(b, ws, LADDER_TOP - 1, ["Mark price", "Contracts held"], col=8)
    row = LADDER_TOP + 1
    ws.write_formula(f"I{row}", f"={mark_or_entry(refs)}", grey, 0)
    ws.write_formula(f"J{row}", f"={refs['Contracts']}", grey, 0)
    for k in range(1, LADDER_STEPS + 1):
        step = LADDER_TOP + k
        # each trigger twice: the contracts before the cut (C), then after it (D)
        for held in ("C", "D"):
            row += 1
            ws.write_formula(f"I{row}", f"=IF(ISNUMBER($B${step}),$B${step},I{row - 1})",
                             grey, 0)
            ws.write_formula(f"J{row}", f"=IF(ISNUMBER($B${step}),${held}${step},J{row - 1})",
                             grey, 0)
    first, last = LADDER_TOP, row - 1   # 0-based rows of the points
    chart = b.chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.set_title({"name": "Contracts held as the mark reaches each trigger"})
    chart.set_style(13)
    chart.add_series({"name": "contracts held",
                      "categories": [ws.name, first, 8, last, 8],
                      "values": [ws.name, first, 9, last, 9],
                      "line": {"color": NAVY}, "marker": {"type": "circle"}})
    chart.set_x_axis({"name": "Mark price", "num_format": "#,##0"})
    chart.set_y_axis({"name": "Contracts held", "num_format": "#,##0"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 680, "height": 340})
    ws.insert_chart("L3", chart)
