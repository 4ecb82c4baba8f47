"""The built workbook and its recalculated copies open in a real spreadsheet application:
LibreOffice (headless; installed by `make test` from Debian's packages) converts them
and the numbers are there. The Positions sheet is rendered to PNG for a person to look
at: artifacts/*.png (kept out of git; the README shows copies from docs/)."""

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from xlhtx.excel.headless import recalc

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def soffice():
    assert SOFFICE, "LibreOffice is missing: `make test` installs it (make sysdeps)"
    return SOFFICE


def convert(soffice, src: Path, out_dir: Path, fmt: str) -> None:
    profile = out_dir / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", fmt, "--outdir", str(out_dir), str(src)],
                   check=True, capture_output=True, timeout=180)


def sheets_as_csv(soffice, src: Path, out_dir: Path) -> dict[str, list[list[str]]]:
    convert(soffice, src, out_dir,
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1")
    return {p.stem[len(src.stem) + 1:]: list(csv.reader(p.open(encoding="utf-8")))
            for p in out_dir.glob(f"{src.stem}-*.csv")}


def test_built_template_opens(soffice, tmp_path):
    book = tmp_path / "xlhtx.xlsm"
    shutil.copy(ROOT / "workbook" / "xlhtx.xlsm", book)
    s = sheets_as_csv(soffice, book, tmp_path)
    assert {"Guide", "Positions", "Ladder", "Scenario", "Accounts", "Tiers"} <= set(s)
    assert s["Positions"][0][:3] == ["Contract", "Side", "Margin mode"]
    assert s["Positions"][1][:7] == ["BTC-USDT", "long", "isolated", "50", "5000", "30000",
                                     "29950"]
    # the template itself, not a recalculated copy, shows its numbers: cached at build
    assert float(s["Positions"][1][18]) == pytest.approx(29400 / 0.985, rel=1e-9)
    assert s["Positions"][1][22] == "warning"
    # a risk-limit tier (no leverage of its own, its MMR and cap) and a coin-M ladder
    # a coin-M ladder in Tiers, a risk-limit tier in RiskLimits beside it
    assert ["BTC-USD", "isolated", "125"] in [r[:3] for r in s["Tiers"]]
    assert ["BTC-USDT", "isolated", "3", "4001", "8000", "50", "0.015"] in \
        [r[9:16] for r in s["Tiers"]]


def test_recalculated_copies_show_the_numbers(soffice, tmp_path):
    full = recalc(ROOT / "workbook" / "xlhtx.xlsm", tmp_path / "full.xlsm")
    s = sheets_as_csv(soffice, full, tmp_path)
    row = s["Positions"][1]
    # long 5,000 BTC-USDT at 30,000, 50x: tier 3, MMR 1.5%
    assert float(row[18]) == pytest.approx(29400 / 0.985, rel=1e-9)      # Liq. price
    assert row[17] == "81.6818181818182%"           # Margin ratio: 2,246.25 / 2,750
    # the status says in words what the 81.7% means; "no liquidation" rows say that
    assert row[22] == "warning"
    assert [r[22] for r in s["Positions"][1:13]].count("no liquidation") == 1
    values = tmp_path / "v"
    values.mkdir()
    s = sheets_as_csv(soffice, ROOT / "workbook" / "xlhtx-values.xlsx", values)
    assert s["Ladder"][11][:4] == ["Step", "Trigger price", "Contracts before",
                                   "Contracts after"]
    # the picked position (150,000 BTC-USDT at 30,000, 20x) is on risk-limit tiers: one
    # step, the whole position at its liquidation price (28,500 / 0.97)
    liq = 28500 / (1 - 0.03)
    assert float(s["Ladder"][12][1]) == pytest.approx(liq, rel=1e-9)
    assert s["Ladder"][12][5] == "closed"
    assert float(s["Accounts"][7][6]) > 0 and s["Accounts"][7][6] == s["Accounts"][8][6]
    assert float(s["Scenario"][24][1]) == pytest.approx(liq, rel=1e-9)


RENDERED = ["Guide", "Positions", "Ladder", "Scenario", "Accounts", "Liquidation map"]


SPLIT_AFTER = "Maint. margin"   # the Positions crops: inputs to maintenance margin, the rest


def split_at_columns(img, book, sheet: str, after: str) -> list:
    """``img`` (a sheet printed one page wide, cropped to its cells) cut at the right
    edge of column ``after``, found from the column widths (the page scales them all
    alike); each part keeps the first column for its row labels."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    ws = load_workbook(book)[sheet]
    head = [c.value for c in ws[1]]
    widths = [ws.column_dimensions[get_column_letter(j + 1)].width or 8.43
              for j in range(len(head))]
    scale = (img.size[0] - 20) / sum(widths)
    edge = lambda j: int(10 + scale * sum(widths[:j]))  # noqa: E731
    cut = edge(head.index(after) + 1)
    first = edge(1)
    right = img.crop((cut, 0, img.size[0], img.size[1]))
    labels = img.crop((0, 0, first, img.size[1]))
    from PIL import Image
    joined = Image.new("RGB", (labels.size[0] + right.size[0], img.size[1]), "white")
    joined.paste(labels, (0, 0))
    joined.paste(right, (labels.size[0], 0))
    return [img.crop((0, 0, cut, img.size[1])), joined]


def test_every_sheet_renders_to_png(soffice, tmp_path):
    """One page per sheet (the template fits each to a page): artifacts/<sheet>.png,
    cropped to what is drawn (the README shows the copies in docs/)."""
    from PIL import Image, ImageChops
    book = recalc(ROOT / "workbook" / "xlhtx.xlsm", tmp_path / "render.xlsx", values_only=True)
    convert(soffice, book, tmp_path, "pdf")
    pdf = tmp_path / "render.pdf"
    assert pdf.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    for page, name in enumerate(RENDERED, start=1):
        stem = ARTIFACTS / name.lower().replace(" ", "-")
        dpi = "240" if name == "Positions" else "150"   # it is split in two below
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-png", "-r", dpi,
                        "-singlefile", str(pdf), str(stem)], check=True, timeout=120)
        png = stem.with_suffix(".png")
        img = Image.open(png).convert("RGB")
        box = ImageChops.difference(img, Image.new("RGB", img.size, "white")).getbbox()
        assert box, f"{name}: the page is blank"
        img = img.crop((max(box[0] - 10, 0), max(box[1] - 10, 0), box[2] + 10, box[3] + 10))
        img.save(png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
        if name == "Positions":   # 23 columns: two crops a reader can read, cut between
            for k, part in enumerate(split_at_columns(img, book, name, SPLIT_AFTER), 1):
                part.save(stem.with_name(f"{stem.name}-{k}.png"))
                assert part.size[0] < img.size[0] * 0.7


def test_the_values_copy_shows_no_raw_codes_and_no_cut_text():
    """What a person reads: no -1 tier, no #NAME?, and no text running under a filled
    neighbour cell (text in the sheets a trader reads fits, wraps or shrinks)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    wb = load_workbook(ROOT / "workbook" / "xlhtx-values.xlsx")
    for name in ("Positions", "Ladder", "Scenario"):
        ws = wb[name]
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                assert v != "#NAME?" and not (isinstance(v, str) and "#NAME?" in v), c
                if name == "Ladder" and c.column == 6 and c.row > 13:
                    assert v != -1, c            # tier after a full liquidation: "closed"
                if not isinstance(v, str) or c.alignment.shrink_to_fit or c.alignment.wrap_text:
                    continue
                width = ws.column_dimensions[get_column_letter(c.column)].width or 8.43
                right = ws.cell(row=c.row, column=c.column + 1).value
                assert len(v) <= width * 1.15 or right in (None, ""), (name, c.coordinate, v)


def test_a_workbook_saved_by_libreoffice_recalculates(soffice, tmp_path):
    """Another application's XML (lower-case function names, its own cell layout)."""
    src = tmp_path / "src.xlsm"
    shutil.copy(ROOT / "workbook" / "xlhtx.xlsm", src)
    out_dir = tmp_path / "lo"
    convert(soffice, src, out_dir, "xlsx")
    saved = out_dir / "src.xlsx"
    out = recalc(saved, tmp_path / "again.xlsx")
    from openpyxl import load_workbook
    ws = load_workbook(out, data_only=True)["Positions"]
    assert ws["S2"].value == pytest.approx(29400 / 0.985, rel=1e-12)
    assert ws["Q2"].value == pytest.approx(2750.0)   # equity: 3,000 - 5 x 50
    assert load_workbook(saved)["Positions"]["S2"].value.lower().startswith("=htx_liqprice(")
