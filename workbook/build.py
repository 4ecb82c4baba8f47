"""Build the template workbook and its values-filled copy, reproducibly.

    python workbook/build.py            # writes workbook/xlhtx.xlsm, workbook/xlhtx-values.xlsx

The template is written by XlsxWriter and recalculated headlessly (formulas kept), so it
opens showing its numbers; the values copy is the same sheets without formulas, macros
or the xlwings.conf sheet (``xlhtx workbook build -o workbook/xlhtx.xlsm`` builds the
first).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xlhtx.excel.headless import build_template, build_values_copy

HERE = Path(__file__).resolve().parent


def main(out_dir: Path = HERE) -> tuple[Path, Path]:
    book = build_template(out_dir / "xlhtx.xlsm")
    values = build_values_copy(out_dir / "xlhtx-values.xlsx")
    return book, values


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
