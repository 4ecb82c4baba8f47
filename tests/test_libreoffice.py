"""The built workbook and its recalculated copies open in a real spreadsheet application:
LibreOffice (headless; installed by `make test` from Debian's packages) converts them
and the numbers are there. The Positions sheet is rendered to PNG for a person to look
at: artifacts/positions.png (kept out of git)."""

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from xlhtx.headless import recalc

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
    assert s["Positions"][1][:7] == ["BTC-USDT", "long", "isolated", "125", "5000", "30000",
                                     "29950"]
    assert ["BTC-USDT", "isolated", "125", "0", "0", "8999", "0.65"] in \
        [r[:7] for r in s["Tiers"]]


def test_recalculated_copies_show_the_numbers(soffice, tmp_path):
    full = recalc(ROOT / "workbook" / "xlhtx.xlsm", tmp_path / "full.xlsm")
    s = sheets_as_csv(soffice, full, tmp_path)
    row = s["Positions"][1]
    assert float(row[18]) == pytest.approx(29915.5609167672, rel=1e-9)    # Liq. price
    assert row[17] == "81.9684210526316%"                                 # Margin ratio
    values = tmp_path / "v"
    values.mkdir()
    s = sheets_as_csv(soffice, ROOT / "workbook" / "xlhtx-values.xlsx", values)
    assert s["Ladder"][11][:4] == ["step", "trigger_price", "contracts_before",
                                   "contracts_after"]
    assert float(s["Ladder"][12][1]) == pytest.approx(29963.7535239629, rel=1e-9)
    assert float(s["Accounts"][7][6]) > 0 and s["Accounts"][7][6] == s["Accounts"][8][6]
    assert float(s["Scenario"][12][2]) == pytest.approx(-900000)


def test_positions_sheet_renders_to_png(soffice, tmp_path):
    book = recalc(ROOT / "workbook" / "xlhtx.xlsm", tmp_path / "render.xlsx", values_only=True)
    convert(soffice, book, tmp_path,
            'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}')
    pdf = tmp_path / "render.pdf"
    assert pdf.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-f", "2", "-l", "2", "-png", "-r", "80", "-singlefile",
                    str(pdf), str(ARTIFACTS / "positions")], check=True, timeout=120)
    png = ARTIFACTS / "positions.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


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
    assert ws["S2"].value == pytest.approx(29915.560916767186, rel=1e-12)
    assert ws["Q2"].value == pytest.approx(950.0)
    assert load_workbook(saved)["Positions"]["S2"].value.lower().startswith("=htx_liqprice(")
