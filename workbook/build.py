"""Build the template workbook and its values-filled copy, reproducibly.

    python workbook/build.py            # writes workbook/xlhtx.xlsm, workbook/xlhtx-values.xlsx

The same as ``xlhtx workbook build -o workbook/xlhtx.xlsm`` followed by
``xlhtx recalc workbook/xlhtx.xlsm -o workbook/xlhtx-values.xlsx --values-only``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from xlhtx.headless import recalc
from xlhtx.xlsx.template import build

HERE = Path(__file__).resolve().parent


def main(out_dir: Path = HERE) -> tuple[Path, Path]:
    book = build(out_dir / "xlhtx.xlsm")
    values = recalc(book, out_dir / "xlhtx-values.xlsx", values_only=True)
    return book, values


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
