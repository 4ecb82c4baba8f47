"""The cells that pick one Positions row for the Ladder and Scenario sheets."""

from __future__ import annotations

from xlhtx.xlsx.template.common import Book, INPUT, price_formats, validate
from xlhtx.xlsx.template.positions import PRICE_COLUMNS


def position_picker(b: Book, ws, row0: int = 3) -> dict[str, str]:
    """Input cells that pick one Positions row (by number) and show its inputs; they read
    the Table's columns, so they follow it as rows are added. ``row0`` is 1-based."""
    ws.write_string(f"A{row0}", "Position (row of the Positions table)")
    ws.write_number(f"B{row0}", 3, b.fmt(INPUT))
    validate(ws, f"B{row0}", {"validate": "integer", "criteria": "between", "minimum": 1,
                              "maximum": '=ROWS(INDIRECT("Positions[Contract]"))'},
             "a row number of the Positions table")
    refs = {}
    for i, name in enumerate(["Contract", "Side", "Contracts", "Entry price", "Leverage",
                              "Margin", "Mark price"], start=1):
        r = row0 + i
        ws.write_string(f"A{r}", name)
        column = f"Positions[{name}]"
        if name == "Margin":   # an empty margin must stay empty, not become 0
            f = f'=IF(ISNUMBER(INDEX({column},$B${row0})),INDEX({column},$B${row0}),"")'
        else:
            f = f"=INDEX({column},$B${row0})"
        ws.write_formula(f"B{r}", f, None, "")
        if name in PRICE_COLUMNS:
            price_formats(b, ws, f"B{r}")
        refs[name] = f"$B${r}"
    return refs


# the picked Positions row's margin mode (the pickers' row number is in B3)
PICKED_MODE = "INDEX(Positions[Margin mode],$B$3)"


def mark_or_entry(refs: dict[str, str]) -> str:
    """The picked position's mark price, its entry price when no mark is given."""
    mark = refs["Mark price"]
    return f"IF(ISNUMBER({mark}),{mark},{refs['Entry price']})"
