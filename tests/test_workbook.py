"""Template workbook and headless recalculation: deterministic build, the template's
sheets, cached values, the values copy, values equal to the core, recalculation as inputs change, survival of
sheets/charts/VBA, refusal of hostile files."""

import hashlib
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlhtx import api, cli
from xlhtx.excel import udfs
from xlhtx.excel.headless import RecalcError, recalc
from xlhtx.excel.headless import workbook_model as WorkbookModel
from xlhtx.xlsx import template
from xlhtx.excel.headless import build_template as build
from xlhtx.xlsx.workbook_io import WorkbookError, check_workbook_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workbook"))
import build as workbook_build  # noqa: E402
import engine_reference  # noqa: E402


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return build(tmp_path_factory.mktemp("wb") / "xlhtx.xlsm")


@pytest.fixture(scope="module")
def model(book):
    return WorkbookModel(book)


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_build_is_deterministic_and_the_committed_template_is_current(tmp_path, book):
    again = build(tmp_path / "again.xlsm")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(book.read_bytes()).digest()
    committed = parts(ROOT / "workbook" / "xlhtx.xlsm")
    fresh = parts(book)
    # the VBA project comes from the installed xlwings; everything else must match
    assert set(committed) == set(fresh)
    for name in fresh:
        if name != "xl/vbaProject.bin":
            assert committed[name] == fresh[name], name


def test_committed_values_copy_is_current(tmp_path):
    book, values = workbook_build.main(tmp_path)
    assert parts(values) == parts(ROOT / "workbook" / "xlhtx-values.xlsx")


def test_wired_for_xlwings(book):
    import xlwings
    p = parts(book)
    xw = parts(Path(xlwings.__file__).parent / "quickstart_standalone.xlsm")
    assert p["xl/vbaProject.bin"] == xw["xl/vbaProject.bin"]
    assert b"macroEnabled.main+xml" in p["[Content_Types].xml"]
    wb = load_workbook(book, keep_vba=True)
    conf = {r[0]: r[1] for r in wb["xlwings.conf"].iter_rows(values_only=True)}
    assert conf["UDF Modules"] == "xlhtx.excel.udfs"


def test_sheets_tables_validation_formatting_and_charts(book):
    wb = load_workbook(book)
    assert wb.sheetnames == ["Guide", "Positions", "Ladder", "Scenario", "Accounts", "Liquidation map", "Tiers",
                             "Contracts", "MarginLadders", "xlwings.conf"]
    pos = wb["Positions"]
    assert pos.tables["Positions"].ref == "A1:W13"
    assert [c.value for c in pos[1]][:8] == ["Contract", "Side", "Margin mode", "Leverage",
                                             "Contracts", "Entry price", "Mark price", "Margin"]
    assert pos["S2"].value.startswith("=HTX_LIQPRICE(Positions[[#This Row],[Contract]]")
    # every HTX_* cell reads the tier table through one cell holding its handle, which
    # reads the Tiers sheet's two tables through one name over both
    assert pos["S2"].value.endswith(",TierSet,Positions[[#This Row],[Margin mode]])")
    handle = wb.defined_names["TierSet"].attr_text
    sheet, cell = handle.split("!")
    assert wb[sheet][cell.replace("$", "")].value == "=HTX_TIERSET(TierTables)"
    calls = [c.value for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=") and "HTX_" in c.value]
    assert len(calls) > 40 and all("TierTables" not in f for f in calls
                                   if not f.startswith("=HTX_TIERSET("))
    tiers = wb["Tiers"]
    # adjustment-factor ladders: no empty mmr / max_leverage columns
    assert tiers.tables["Tiers"].ref.startswith("A1:H")
    assert [c.value for c in tiers["A1:H1"][0]] == [
        "contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
        "adjust_factor", "contract_size"]
    assert tiers.tables["RiskLimits"].ref == "J1:Q51"     # 50 risk-limit tiers
    last = max(int(tiers.tables["Tiers"].ref.split(":H")[1]), 51)
    assert wb.defined_names["TierTables"].attr_text == f"Tiers!$A$1:$Q${last + 50}"
    lists = {dv.formula1 for dv in pos.data_validations.dataValidation}
    assert '"long,short"' in lists and '"isolated,cross"' in lists
    assert any("Contracts[contract_code]" in f for f in lists)
    rules = {r.formula[0] for rng in pos.conditional_formatting for r in rng.rules}
    assert {"AND(ISNUMBER(R2),R2>=1)", "AND(ISNUMBER(R2),R2>=0.8)"} <= rules
    assert "AND(ISNUMBER(S2),ABS(S2)>=1000)" in rules   # prices by magnitude
    # the status column (W) says in words what the margin ratio's colours say
    assert pos["W1"].value == "Status" and pos["W2"].value.startswith("=HTX_STATUS(")
    assert {'LEFT(W2,16)="past liquidation"', 'LEFT(W2,7)="warning"',
            'LEFT(W2,5)="error"'} <= rules
    assert pos.freeze_panes == "B2"
    assert pos["S2"].number_format == "#,##0.00####" and pos["R2"].number_format == "0.00%"
    assert len(wb["Ladder"]._charts) == 1 and len(wb["Scenario"]._charts) == 1
    for name in ("Tiers", "Contracts", "MarginLadders"):
        assert name in wb[name].tables
    assert "As of 2026-12-04" in [c.value for c in wb["Tiers"]["S"]]
    guide = "\n".join(str(c.value) for c in wb["Guide"]["A"] if c.value)
    assert "E*(1 - 1/L + MM/IM)" in guide and "xlhtx.excel.udfs" in guide and "2026-12-04" in guide
    assert "risk-limit tiers: BTC-USDT" in guide and "adjustment-factor ladders: BTC-USD" in guide


# the first sample position: long 5,000 BTC-USDT at 30,000, 50x, on today's risk-limit
# tiers (tier 3, MMR 1.5%): (30,000 - 3,000 / 5) / (1 - 0.015)
SAMPLE_LIQ = (30000 - 3000 / 5) / (1 - 0.015)


def test_spills_are_dynamic_arrays(book):
    p = parts(book)
    assert b'fDynamic="1"' in p["xl/metadata.xml"]
    ladder = p["xl/worksheets/sheet3.xml"].decode()
    assert re.search(r'<c r="A12"[^>]* cm="1"[^>]*><f t="array" ref="A12:G20">HTX_LIQLADDER\(',
                     ladder)


def test_recalc_values_equal_the_core(model):
    v = model.calculate()
    wb_rows = 12
    for r in range(2, 2 + wb_rows):
        c, side, mode, lev, q, e, mark, m = (model.inputs.get("Positions", r, j)
                                             for j in range(1, 9))
        want = udfs.shown(api.liq_price(c, side, q, e, lev, margin=m).cell(0))   # as a cell shows it
        assert v[("Positions", r, 19)] == want
        assert v[("Positions", r, 18)] == api.margin_ratio(c, side, q, e, mark, lev, margin=m)[
            "margin_ratio"].cell(0)
        im = api.initial_margin(c, q, e, lev).values[0]
        pnl = api.pnl(c, side, q, e, mark).values[0]
        assert v[("Positions", r, 17)] == pytest.approx((m if m is not None else im) + pnl,
                                                       rel=1e-12)
    # the Ladder sheet's pick, Positions row 3: long 150,000 BTC-USDT at 30,000, 20x, on
    # risk-limit tiers: one step, the whole position at its liquidation price
    ladder = udfs.headed(api.liq_ladder("BTC-USDT", "long", 150000, 30000, 20).table(0))
    assert len(ladder) == 2 and ladder[1][3] == 0 and ladder[0][1] == "Trigger price"
    got = [[v[("Ladder", 12 + i, 1 + j)] for j in range(7)] for i in range(len(ladder))]
    assert got == ladder
    assert v[("Ladder", 12 + len(ladder), 1)] is None   # past the spill: empty
    assert v[("Ladder", 12 + len(ladder) - 1, 6)] == "closed"   # no tier -1 shown
    # the chart's points read the spill: mark, the trigger twice, then the last repeated
    pts = [(v[("Ladder", r, 9)], v[("Ladder", r, 10)]) for r in range(13, 30)]
    assert pts[1] == (ladder[1][1], 150000) and pts[2] == (ladder[1][1], 0)
    assert all(p == pts[2] for p in pts[3:])
    legs = [list(x) for x in zip(*template.ACCOUNT_LEGS)]
    acc = api.account(*legs, margin_static=template.ACCOUNT_BALANCE, mode="cross",
                      frozen_margin=0)
    for j, key in enumerate(("liq_price", "margin_ratio", "risk_rate", "equity")):
        assert [v[("Accounts", 8 + i, 7 + j)] for i in range(4)] == acc[key].to_list()
    assert v[("Accounts", 8, 7)] == v[("Accounts", 9, 7)]   # the hedge pair: one price
    # Scenario: the grid is centred on the picked position's liquidation price (row 3:
    # long 150,000 at 30,000, 20x, mark 29,500); its columns agree with the functions
    liq = api.liq_price("BTC-USDT", "long", 150000, 30000, 20).values[0]
    assert v[("Scenario", 13 + 12, 2)] == pytest.approx(liq, rel=1e-12)
    for r in range(13, 38):
        p = v[("Scenario", r, 2)]
        after = api.after_liq("BTC-USDT", "long", 150000, 30000, 20, p)
        assert v[("Scenario", r, 3)] == after["contracts"].values[0]
        assert v[("Scenario", r, 5)] == pytest.approx(after["equity"].values[0], rel=1e-12)
        assert v[("Scenario", r, 6)] >= -225000 - 1e-6  # an isolated loss stops at the margin


def test_recalculates_as_cells_change(model):
    # mark price of row 2 (G2), leverage of row 4 (D4), and a risk-limit tier's MMR (row
    # 2 holds 5,000 BTC-USDT at 50x: tier 3)
    # (the RiskLimits table: columns J to Q)
    tiers_row = next(r for r in range(2, 400) if
                     [model.inputs.get("Tiers", r, j) for j in (10, 11, 12)] ==
                     ["BTC-USDT", "isolated", 3])
    v = model.calculate({("Positions", 2, 7): 29940.0, ("Positions", 5, 4): 20,
                         ("Tiers", tiers_row, 16): 0.01})
    mr = api.margin_ratio("BTC-USDT", "long", 5000, 30000, 29940, 50)["margin_ratio"]
    rows = [[model.inputs.get("Tiers", r, j) for j in range(1, 18)] for r in range(1, 400)]
    rows[0] = ["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
               "adjust_factor", "contract_size", None,
               "contract_code", "margin_mode", "tier", "min_volume", "max_volume",
               "max_lever", "maintenance_margin_rate", "contract_size"]
    rows[tiers_row - 1][15] = 0.01
    mr_new = api.margin_ratio("BTC-USDT", "long", 5000, 30000, 29940, 50, tiers=rows)
    assert mr_new["margin_ratio"].values[0] != mr.values[0]
    assert v[("Positions", 2, 18)] == pytest.approx(mr_new["margin_ratio"].values[0], rel=1e-12)
    assert v[("Positions", 2, 13)] == pytest.approx(0.01)   # the tier's MMR, any leverage
    assert v[("Positions", 2, 15)] == pytest.approx(-300)                # PnL at 29,940
    assert v[("Positions", 2, 21)] == pytest.approx(
        (29940 - v[("Positions", 2, 19)]) / 29940, rel=1e-12)            # ordinary formula
    row4 = api.liq_price("BTC-USDT", "long", 2000, 64250, 20).values[0]
    assert v[("Positions", 5, 19)] == pytest.approx(row4, rel=1e-12)
    with pytest.raises(RecalcError, match="holds a formula"):
        model.calculate({("Positions", 2, 19): 1.0})


def test_recalc_writes_a_copy_and_keeps_everything_else(book, tmp_path):
    src = tmp_path / "in.xlsm"
    shutil.copy(book, src)
    before = src.read_bytes()
    out = recalc(src, tmp_path / "out.xlsm")
    assert src.read_bytes() == before
    p_in, p_out = parts(src), parts(out)
    for name in p_in:
        if not name.startswith("xl/worksheets/sheet"):
            assert p_in[name] == p_out[name], name   # charts, styles, VBA, tables untouched
    wb = load_workbook(out, data_only=True)
    assert wb["Positions"]["S2"].value == pytest.approx(SAMPLE_LIQ, rel=1e-12)
    assert wb["Positions"]["U2"].value == pytest.approx((29950 - SAMPLE_LIQ) / 29950, rel=1e-9)
    assert load_workbook(out)["Positions"]["S2"].value.startswith("=HTX_LIQPRICE(")
    with pytest.raises(RecalcError, match="would overwrite the input"):
        recalc(src, src)
    recalc(src, in_place=True)
    assert load_workbook(src, data_only=True)["Positions"]["S2"].value == pytest.approx(
        SAMPLE_LIQ)


def test_values_only_copy_is_a_plain_xlsx(book, tmp_path):
    out = recalc(book, tmp_path / "v.xlsx", values_only=True)
    p = parts(out)
    assert "xl/vbaProject.bin" not in p and b"macroEnabled" not in p["[Content_Types].xml"]
    assert not re.search(rb"<f[ >]", p["xl/worksheets/sheet2.xml"])
    wb = load_workbook(out)
    assert wb["Positions"]["S2"].value == pytest.approx(SAMPLE_LIQ)
    with pytest.raises(RecalcError, match="name it .xlsx"):
        recalc(book, tmp_path / "v.xlsm", values_only=True)
    with pytest.raises(RecalcError, match="has no macros; name the copy .xlsx"):
        recalc(out, tmp_path / "w.xlsm")


def test_tiers_fetch_into_a_workbook_replaces_reference_sheets(book, tmp_path, monkeypatch):
    from test_cli import recorded
    from xlhtx.reference import fetch
    target = tmp_path / "mine.xlsm"
    shutil.copy(book, target)
    monkeypatch.setattr(fetch, "urllib_get", recorded)
    assert cli.main(["tiers", "fetch", "--workbook", str(target)]) == 0
    wb = load_workbook(target)
    tiers = wb["Tiers"]
    # coin-M ladders in Tiers, HTX's five BTC-USDT risk-limit tiers in RiskLimits beside
    assert tiers.tables["Tiers"].ref == "A1:H3"
    assert tiers.tables["RiskLimits"].ref == "J1:Q6"
    assert [c.value for c in tiers["J1:Q1"][0]] == [
        "contract_code", "margin_mode", "tier", "min_volume", "max_volume", "max_lever",
        "maintenance_margin_rate", "contract_size"]
    assert {r[0] for r in tiers.iter_rows(min_row=2, max_col=1, values_only=True)
            if r[0]} == {"BTC-USD"}
    assert [r[0].value for r in tiers["N2:N6"]] == [400, 4000, 8000, 120000, 500000]
    assert str(tiers["S2"].value).startswith("HTX public API")
    assert wb.defined_names["TierTables"].attr_text == "Tiers!$A$1:$Q$56"
    assert len(wb["Ladder"]._charts) == 1   # the rest of the workbook is untouched
    v = WorkbookModel(target).calculate()
    # the recorded /v5/market/risk/limit answer (HTX's example) has cross tiers only:
    # the isolated sample rows say so; a cross row's MMR computes on them (the MMR column
    # passes the margin mode)
    for r in (2, 5):
        assert v[("Positions", r, 19)] == ("#N/A no isolated risk-limit tiers for BTC-USDT "
                                           "in the tier table (it has cross)")
    v = WorkbookModel(target).calculate({("Positions", 2, 3): "cross"})
    assert v[("Positions", 2, 13)] == 0.015   # 5,000 contracts: tier 3
    # the file's cached values were recomputed with the new tables (what a viewer shows)
    cached = load_workbook(target, data_only=True)["Positions"]
    assert cached["S2"].value.startswith("#N/A no isolated risk-limit tiers")
    assert b"fullCalcOnLoad" not in parts(target)["xl/workbook.xml"]


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_hostile_and_corrupt_files_are_refused(tmp_path, book, capsys):
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    bomb = tmp_path / "bomb.xlsx"
    make_zip(bomb, {"[Content_Types].xml": "<Types/>", "xl/worksheets/sheet1.xml":
                    b"<a>" + b"0" * (60 << 20) + b"</a>"})
    xml_bomb = tmp_path / "xmlbomb.xlsx"
    make_zip(xml_bomb, {"[Content_Types].xml": "<Types/>", "xl/workbook.xml":
                        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                        '<!ENTITY lol2 "&lol;&lol;&lol;">]><workbook>&lol2;</workbook>'})
    truncated = tmp_path / "cut.xlsm"
    truncated.write_bytes(book.read_bytes()[:5000])
    cases = {text: "not a workbook", bomb: "expands", xml_bomb: "declares a DOCTYPE or XML entities",
             truncated: "not a workbook"}
    for path, msg in cases.items():
        with pytest.raises(WorkbookError, match=msg):
            check_workbook_file(path)
        assert cli.main(["recalc", str(path), "-o", str(tmp_path / "o.xlsx")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("xlhtx: ") and msg in err[-1]
    assert not (tmp_path / "o.xlsx").exists()


def test_workbook_commands_have_help(capsys):
    for argv in (["workbook", "build"], ["recalc"]):
        with pytest.raises(SystemExit):
            cli.main(argv + ["--help"])
        assert "example:\n  xlhtx " in capsys.readouterr().out


def test_column_by_column_agrees_with_the_engine_cell_by_cell(book, model):
    plain = engine_reference.calculate(book)
    fast = model.calculate()
    assert set(fast) == set(plain)
    for k, v in fast.items():
        assert engine_reference.same(v, plain[k]), (k, v, plain[k])
    # every Positions formula column is one call of its HTX function: 14 columns x 12 rows,
    # and the Tier column (a ladder + 1) one column of the engine around one HTX call
    assert model.last_run["htx column"] >= 14 * 12
    assert model.last_run["formula column"] >= 12


def fill_down_book(path, n=10):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Book"
    ws.append(["contracts", "entry", "liq", "cushion", "double", "running"])
    for r in range(2, 2 + n):
        ws.append([1000 * r, 30000 + r, f'=HTX_LIQPRICE("BTC-USDT","long",A{r},B{r},20)',
                   f"=B{r}-C{r}", f"=2*D{r}+A{r}", f"=F{r - 1}+1" if r > 2 else 0])
    wb.save(path)
    return path


def test_fill_down_formulas_are_grouped_and_agree_with_the_engine(tmp_path):
    path = fill_down_book(tmp_path / "rows.xlsx")
    fast = WorkbookModel(path)
    got, plain = fast.calculate(), engine_reference.calculate(path)
    # C: one HTX call over the column; D, E: one compiled formula over whole columns; F
    # reads the row above (a running count): split and computed cell by cell, in order
    assert fast.last_run == {"htx column": 10, "formula column": 20, "cell by cell": 9}
    assert set(got) == set(plain)
    for k, v in got.items():
        assert engine_reference.same(v, plain[k]), k
    liq = api.liq_price("BTC-USDT", "long", 5000, 30005, 20).values[0]
    assert got[("Book", 5, 4)] == pytest.approx(30005 - liq, rel=1e-12)
    assert got[("Book", 5, 5)] == pytest.approx(2 * (30005 - liq) + 5000, rel=1e-12)
    assert got[("Book", 11, 6)] == 9


def test_shared_formulas_as_excel_writes_them(tmp_path):
    """Excel stores a filled-down formula once, with the other cells pointing at it."""
    from xlhtx.xlsx.package import read_parts, write_parts
    path = fill_down_book(tmp_path / "rows.xlsx")
    parts = read_parts(path)
    out = []
    for name, data in parts:
        if name == "xl/worksheets/sheet1.xml":
            text = data.decode()
            text = text.replace("<f>B2-C2</f>", '<f t="shared" ref="D2:D11" si="0">B2-C2</f>')
            text = re.sub(r"<f>B(\d+)-C\1</f>", '<f t="shared" si="0"/>', text)
            assert text.count('si="0"') == 10
            data = text.encode()
        out.append((name, data))
    write_parts(path, out)
    got = WorkbookModel(path).calculate()
    liq = api.liq_price("BTC-USDT", "long", 9000, 30009, 20).values[0]
    assert got[("Book", 9, 4)] == pytest.approx(30009 - liq, rel=1e-12)
    assert got[("Book", 9, 5)] == pytest.approx(2 * (30009 - liq) + 9000, rel=1e-12)


def test_references_in_strings_and_function_names_are_not_cells():
    from xlhtx.xlsx.formula import template
    from xlhtx.xlsx.refs import Context, Ref
    ctx = Context({"POSITIONS": "Positions", "SHEET1": "Sheet1", "MY SHEET": "My Sheet"}, {}, {})
    t = template('=LOG10(A1)&"B2"&Sheet1!C3+\'My Sheet\'!$D$4', "Positions", 5, 1, ctx,
                 moving=True)
    assert t.refs == [Ref("Positions", -4, 1, -4, 1, True, True), Ref("Sheet1", -2, 3, -2, 3, True, True),
                      Ref("My Sheet", 4, 4, 4, 4)]
    assert t.render(5) == "=LOG10('Positions'!$A$1)&\"B2\"&'Sheet1'!$C$3+'My Sheet'!$D$4"


def test_sheets_without_cell_references_are_refused_not_mangled():
    from xlhtx.xlsx.package import MAIN, LayoutError, SheetValues, read_cells, rewrite_sheet
    for xml in (f'<worksheet xmlns="{MAIN}"><sheetData><row><c><f>1+1</f></c></row></sheetData></worksheet>',
                f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c><f>1+1</f></c></row></sheetData></worksheet>'):
        with pytest.raises(LayoutError, match="without their"):
            rewrite_sheet(xml.encode(), SheetValues(lambda r, c: 2.0, {}), True)
        with pytest.raises(LayoutError, match="without their"):
            list(read_cells(xml.encode(), []))
    ok = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><f>1+1</f><v>0</v></c>'
          '</row></sheetData></worksheet>').encode()
    assert rewrite_sheet(ok, SheetValues(lambda r, c: 2.0, {2: {2: "x"}}), True) == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<worksheet xmlns="' + MAIN.encode() + b'"><sheetData><row r="1"><c r="A1"><f>1+1</f>'
        b'<v>2.0</v></c></row><row r="2"><c r="B2" t="str"><v>x</v></c></row></sheetData>'
        b'</worksheet>')


def test_the_template_follows_excels_own_conventions(book):
    """What Excel itself writes, checked on the XML of the built file."""
    import re
    import xlwings
    import vba
    p = parts(book)
    sheets = {n: d.decode() for n, d in p.items() if n.startswith("xl/worksheets/sheet")}
    # validations: formulas without a leading "=", prompt and error messages shown
    for xml in sheets.values():
        for dv in re.findall(r"<dataValidation\b[^>]*>.*?</dataValidation>", xml, re.S):
            assert "<formula1>=" not in dv and 'showErrorMessage="1"' in dv \
                and 'showInputMessage="1"' in dv, dv
            # Excel refuses a Table reference in a validation ("Removed Feature: Data
            # validation"); INDIRECT over the Table's name is the form it accepts
            formulas = re.findall(r"<formula[12]>(.*?)</formula[12]>", dv, re.S)
            bare = [re.sub(r'INDIRECT\(("|&quot;).*?("|&quot;)\)', "", f) for f in formulas]
            assert not any(re.search(r"\w\[", f) for f in bare), dv
    # every sheet has a VBA code name
    names = [re.search(r'codeName="([^"]+)"', xml) for xml in sheets.values()]
    assert all(names) and len({m.group(1) for m in names}) == len(sheets)
    # the Positions Table's formula columns carry their formula for rows a user adds
    table = next(d.decode() for n, d in p.items() if n.startswith("xl/tables/") and
                 b'name="Positions"' in d)
    assert table.count("<calculatedColumnFormula>") == 15
    assert "<calculatedColumnFormula>HTX_LIQPRICE(Positions[[#This Row],[Contract]]" in table
    # chart axes carry delete="0" as Excel writes it; only secondary axes may be hidden
    # (the map's 0/1 helper axis, the scenario's second price axis), never those of the
    # first chart group
    from lxml import etree
    c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    charts = {n: etree.fromstring(d) for n, d in p.items() if n.startswith("xl/charts/chart")}
    assert len(charts) == 3
    for n, root in charts.items():
        axes = list(root.iter(c + "valAx", c + "catAx"))
        flags = [[d.get("val") for d in ax.findall(c + "delete")] for ax in axes]
        assert len(axes) >= 2 and all(len(f) == 1 for f in flags), n
        hidden = {ax.find(c + "axId").get("val") for ax, f in zip(axes, flags) if f == ["1"]}
        assert len(hidden) <= 2, n
        first_plot = root.find(f"{c}chart/{c}plotArea")[1]   # the first chart group
        assert not hidden & {a.get("val") for a in first_plot.iter(c + "axId")}, n
    # conditional formats on the margin ratio fire on numbers only
    positions = sheets["xl/worksheets/sheet2.xml"]
    assert "AND(ISNUMBER(" in positions and 'operator="greaterThanOrEqual"' not in positions
    # xlwings wiring that cannot drift: no empty config rows, the VBA's DLL is ours
    conf = list(load_workbook(book)["xlwings.conf"].iter_rows(values_only=True))
    assert ("UDF Modules", "xlhtx.excel.udfs") in conf and all(key and value for key, value in conf)
    assert not any("Interpreter" in key for key, _ in conf)
    dlls = set(re.findall(r"xlwings(?:32|64)-([\d.]+)\.dll", vba.modules(book)["xlwings"]))
    assert dlls == {xlwings.__version__}


def test_accounts_sheet_takes_multi_assets_collateral(model):
    """A BTC row in the Accounts sheet's collateral table adds its collateral value to
    the account's equity (amount x index price x collateral rate)."""
    head = next(r for r in range(1, 60) if model.inputs.get("Accounts", r, 1) == "currency")
    base = model.calculate()[("Accounts", 8, 10)]
    v = model.calculate({("Accounts", head + 1, 1): "BTC", ("Accounts", head + 1, 2): 1.0,
                         ("Accounts", head + 1, 3): 70000.0, ("Accounts", head + 1, 4): 0.95})
    assert v[("Accounts", 8, 10)] == pytest.approx(base + 66500.0, rel=1e-12)
    legs = [list(x) for x in zip(*template.ACCOUNT_LEGS)]
    want = api.account(*legs, margin_static=template.ACCOUNT_BALANCE + 66500.0, mode="cross",
                       frozen_margin=0)
    assert v[("Accounts", 8, 7)] == want["liq_price"].cell(0)


def test_one_positions_edit_costs_at_most_20_htx_calls(model):
    """Excel recomputes what reads an edited cell, and each HTX_* call is a trip to
    Python: the Ladder, Scenario and map read the picked row once (spilled calls, cells of
    the Positions row itself), so an edit anywhere stays cheap (it was 127 calls)."""
    pick = 1 + int(model.inputs.get("Scenario", 3, 2))     # the picked row's sheet row
    for j, name in enumerate(template.INPUTS, start=1):
        dirty = model.recalculated_by("Positions", pick, j)
        calls = sum(dirty.values())
        assert calls <= 20, (name, calls)
        per_sheet = {s: sum(n for (sh, _, _), n in dirty.items() if sh == s)
                     for s in {c[0] for c in dirty}}
        if name == "Contracts":
            # the row's 14 size-dependent columns, the ladder, the grid's three
            # columns, the map: one call each
            assert per_sheet == {"Positions": 14, "Ladder": 1, "Scenario": 3,
                                 "Liquidation map": 1}, per_sheet
    # an edit in another row: its own row, and the picks (INDEX reads the whole column)
    other = model.recalculated_by("Positions", pick + 1, 5)
    assert sum(other.values()) == 19 and ("Positions", pick, 19) not in other


def test_the_template_opens_with_its_numbers(book):
    """Built, then recalculated headlessly with its formulas kept: every viewer (a
    preview, LibreOffice, Excel before Import Functions) shows the numbers, and nothing
    asks Excel to recompute on open (which would turn HTX_* cells into #NAME?)."""
    p = parts(book)
    assert re.findall(rb"<calcPr[^>]*>", p["xl/workbook.xml"]) == [b'<calcPr calcId="191029"/>']
    sheet = p["xl/worksheets/sheet2.xml"].decode()            # Positions
    cells = re.findall(r'<c r="([A-Z]+)(\d+)"[^>]*>(<f>.*?</f>)(?:<v>(.*?)</v>)?</c>', sheet)
    assert len(cells) >= 15 * 12
    assert all(v for *_, v in cells), [c for c in cells if not c[3]][:3]
    liq = next(v for col, row, _, v in cells if (col, row) == ("S", "2"))
    assert float(liq) == pytest.approx(29400 / 0.985, rel=1e-12)
    guide = " ".join(re.findall(r"<t[^>]*>([^<]*)</t>", p["xl/sharedStrings.xml"].decode()))
    assert "Import Functions" in guide and "Ctrl+Alt+F9" in guide
    assert "pip install . in a clone" in guide


def test_the_values_copy_is_plain_values():
    p = parts(ROOT / "workbook" / "xlhtx-values.xlsx")
    assert not any("vba" in n.lower() for n in p)
    assert b"macroEnabled" not in p["[Content_Types].xml"]
    assert b"xlwings.conf" not in p["xl/workbook.xml"]
    for name, data in p.items():
        if name.startswith("xl/worksheets/sheet"):
            assert b"<f>" not in data and b"<f " not in data and b't="str"' not in data, name
        if name.startswith("xl/tables/"):
            assert b"calculatedColumnFormula" not in data, name
    wb = load_workbook(ROOT / "workbook" / "xlhtx-values.xlsx")
    assert "xlwings.conf" not in wb.sheetnames
    guide = " ".join(str(c.value) for c in wb["Guide"]["A"] if c.value)
    assert "This copy holds values" in guide and "Import Functions" not in guide
    pos = wb["Positions"]
    assert pos["W2"].value == "warning" and pos["W2"].data_type == "s"
    assert pos["S2"].value == pytest.approx(29400 / 0.985, rel=1e-12)


def test_chart_caches_hold_the_cells_they_plot(book, model):
    """A file preview draws a chart from its cached series: the build fills them with the
    computed cells, and a scatter's x values are numbers (a text cache would plot the
    points against 1, 2, 3...)."""
    from lxml import etree
    c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    p = parts(book)
    v = model.calculate()
    for name in sorted(n for n in p if n.startswith("xl/charts/chart")):
        root = etree.fromstring(p[name])
        for x in root.iter(f"{c}xVal"):
            assert x.find(f"{c}numRef") is not None, name
        for ref in root.iter(f"{c}numRef"):
            sheet, cells = ref.findtext(f"{c}f").rsplit("!", 1)
            sheet = sheet.strip("'")
            from openpyxl.utils import range_boundaries
            c0, r0, c1, r1 = range_boundaries(cells.replace("$", ""))
            want = [v.get((sheet, r, col), model.inputs.get(sheet, r, col))
                    for r in range(r0, r1 + 1) for col in range(c0, c1 + 1)]
            cache = ref.find(f"{c}numCache")
            got = {int(pt.get("idx")): float(pt.findtext(f"{c}v"))
                   for pt in cache.iter(f"{c}pt")}
            assert int(cache.find(f"{c}ptCount").get("val")) == len(want)
            assert got == {i: float(w) for i, w in enumerate(want)
                           if isinstance(w, (int, float)) and not isinstance(w, bool)}, name
    ladder = etree.fromstring(p["xl/charts/chart1.xml"])
    first_x = next(ladder.iter(f"{c}xVal")).find(f".//{c}pt/{c}v").text
    assert float(first_x) == v[("Ladder", 13, 9)] > 1000     # the mark, not "1"
    # the map's categories, cached as text the way Excel writes them: 25000, not 25000.0
    lmap = etree.fromstring(p["xl/charts/chart3.xml"])
    first_cat = next(lmap.iter(f"{c}cat")).find(f".//{c}pt/{c}v").text
    assert first_cat == f"{v[('Liquidation map', 10, 1)]:.0f}" == "25000"


def test_the_positions_table_passes_the_margin_mode_wherever_it_counts():
    """Every Positions column whose function takes a mode is given the row's Margin mode
    (a cross row once showed a cross MMR beside an isolated liquidation price)."""
    from xlhtx.excel.registry import FUNCTIONS
    for header, _, formula in template.POSITION_COLUMNS:
        if formula is None:
            continue
        name = formula.split("(", 1)[0]
        args = [a.name for a in FUNCTIONS[name].args]
        depth, end = 0, len(name)
        for end, ch in enumerate(formula[len(name):], start=len(name)):   # its closing paren
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                break
        given = formula[len(name) + 1:end].split(",")
        if "mode" in args:
            assert len(given) > args.index("mode"), header
            assert given[args.index("mode")] == "[@[Margin mode]]", header


def test_a_cross_row_computes_on_cross_tiers(tmp_path):
    """A tier table whose cross ladders differ: the cross row's liquidation price, margin
    ratio and status follow the cross MMR, as xlhtx calc's per-position numbers do."""
    from xlhtx.reference.snapshot import snapshot
    rows = snapshot("legacy").to_rows(risk_limit=False)
    head = rows[0]
    k, mode_at = head.index("adjust_factor"), head.index("margin_mode")
    table = [list(r) for r in rows]
    for r in table[1:]:   # the bundled cross ladders equal the isolated ones: make them differ
        if r[0] == "BTC-USDT" and r[mode_at] == "cross":
            r[k] = min(r[k] * 1.5, 0.99)
    book = build(tmp_path / "b.xlsm", table=api.resolve_tiers(table))
    model = WorkbookModel(book)
    v = model.calculate({("Positions", 2, 3): "cross"})      # 5,000 BTC-USDT long, 50x
    args = ("BTC-USDT", "long", 5000, 30000, 50)
    want = api.liq_price(*args, tiers=table, mode="cross").values[0]
    assert v[("Positions", 2, 19)] == pytest.approx(want, rel=1e-15)
    assert want != api.liq_price(*args, tiers=table).values[0]
    assert v[("Positions", 2, 18)] == pytest.approx(api.margin_ratio(
        *args[:4], 29950, 50, tiers=table, mode="cross")["margin_ratio"].values[0],
        rel=1e-15)


def test_tiers_are_numbered_as_htx_shows_them(model):
    """1 = the lowest tier in every row: a risk-limit tier as HTX numbers it, an
    adjustment-factor ladder (0-based in HTX's API) plus one."""
    v = model.calculate()
    for r in range(2, 14):
        contract, lev, q, mode = (model.inputs.get("Positions", r, j) for j in (1, 4, 5, 3))
        ladder = api.tier(contract, lev, q, mode=mode)["ladder"].values[0]
        legacy = not api.resolve_tiers(None).contract(contract).code.endswith("USDT")
        assert v[("Positions", r, 11)] == ladder + (1 if legacy else 0), contract
        assert v[("Positions", r, 11)] >= 1
