"""The HTX_* functions in LibreOffice Calc: the extension written from the function
registry, its bridge from Calc's values to the Excel functions, and a real headless Calc
(driven over UNO by ``calc_driver.py`` under LibreOffice's Python) computing a fresh
sheet and the template workbook, before and after an input is edited, to the API's
values."""

import json
import math
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from xlhtx import api
from xlhtx.addins import calc_bridge, libreoffice, rows
from xlhtx.excel.registry import FUNCTIONS
from xlhtx.tables import metrics

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook" / "xlhtx.xlsm"
LO_PYTHON = "/usr/bin/python3"       # LibreOffice's Python on Debian (python3-uno)
NAMES = frozenset(FUNCTIONS)
P = calc_bridge.PROGRAMMATIC


# ------------------------------------------------------------------ the extension's parts

def test_the_interface_declares_every_function_with_its_arguments():
    text = libreoffice.idl()
    for f in FUNCTIONS.values():
        line = next(x for x in text.splitlines() if f" {f.name}(" in x)
        assert line.count("[in] any ") == len(f.args) + 1, f.name     # + array_size
        for a in f.args:
            assert f"[in] any {libreoffice.param_name(a.name)}" in line
    assert libreoffice.param_name("entry_price") == "entryPrice"
    assert libreoffice.param_name("adjust_factor_col") == "adjustFactorCol"


def test_the_wizard_help_is_the_registrys():
    root = etree.fromstring(libreoffice.xcu().encode())
    oor = "{http://openoffice.org/2001/registry}name"
    funcs = root.find(f"node/node[@{oor}='{libreoffice.IMPLEMENTATION}']/node")
    assert [n.get(oor) for n in funcs] == list(FUNCTIONS)
    for node in funcs:
        f = FUNCTIONS[node.get(oor)]
        props = {p.get(oor): p.findtext("value") for p in node.findall("prop")}
        assert props["DisplayName"] == f.name and props["Description"] == f.summary
        params = node.find("node")
        shown = [(p.find("prop").findtext("value"), p.findall("prop")[1].findtext("value"))
                 for p in params]
        assert shown == [(a.name, a.help) for a in f.args] + \
            [(libreoffice.ARRAY_SIZE, libreoffice.ARRAY_SIZE_HELP)]


def test_the_extension_holds_its_parts(tmp_path):
    out = libreoffice.build(tmp_path / "x.oxt", ["/opt/xlhtx", "/opt/site-packages"])
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        manifest = z.read("META-INF/manifest.xml").decode()
        component = z.read("calc_component.py").decode()
    assert names == {"META-INF/manifest.xml", "description.xml", "CalcAddIns.xcu",
                     "Jobs.xcu", "calc_component.py", "xlhtx.rdb"}
    for name in names - {"META-INF/manifest.xml", "description.xml"}:
        assert f'manifest:full-path="{name}"' in manifest
    assert "PATHS: list = ['/opt/xlhtx', '/opt/site-packages']" in component
    assert f"NAMES: list = {list(FUNCTIONS)!r}" in component
    compile(component, "calc_component.py", "exec")
    with pytest.raises(Exception, match="a LibreOffice extension is a .oxt file"):
        libreoffice.build(tmp_path / "x.zip")


# ------------------------------------------------------------------------- the bridge

def test_calc_values_reach_the_excel_functions_as_xlwings_hands_them():
    assert rows.as_rows(5.0) == [[5.0]] and rows.as_rows("long") == [["long"]]
    assert rows.as_rows(((1.0, None), (2.0, "x"))) == [[1.0, None], [2.0, "x"]]
    assert rows.as_table(3) == ((3.0,),) and rows.as_table(None) == (("",),)
    assert rows.as_table([[1.0, "a"], [2.0]]) == ((1.0, "a"), (2.0, ""))
    assert rows.padded(((1.0,),), (2, 2)) == ((1.0, ""), ("", ""))
    assert rows.array_size("29x7") == (29, 7)
    assert rows.array_size("big") is None and rows.array_size(3.0) is None


def test_a_call_gives_the_excel_functions_value_or_its_message():
    args = ("BTC-USDT", "long", 300.0, 30000.0, 100.0, None, None, None)
    want = api.liq_price("BTC-USDT", "long", 300, 30000, 100).values[0]
    assert calc_bridge.call("HTX_LIQPRICE", args + (None,)) == ((want,),)
    bad = calc_bridge.call("HTX_LIQPRICE", ("BTC-USDT", "up") + args[2:] + (None,))
    assert bad == (("#VALUE! side = 'up': use long or short (buy/sell, 1/-1)",),)
    ladder = calc_bridge.call("HTX_LIQLADDER", args[:7] + (None, "6x7"))
    assert len(ladder) == 6 and ladder[0][0] == "Step" and ladder[-1] == ("",) * 7


@pytest.mark.parametrize("excel,calc", [
    ('=htx_liqprice("BTC-USDT";"long";300;30000;100)',
     f'={P}HTX_LIQPRICE("BTC-USDT";"long";300;30000;100)'),
    ('=_xll.htx_tier(A2;$B$2;C2:C9)',
     f'={P}HTX_TIER(IF(ISBLANK(A2);"";A2);IF(ISBLANK($B$2);"";$B$2);C2:C9)'),
    ('=htx_equity(Positions[[#This Row];[Margin]];TierSet)',
     f'={P}HTX_EQUITY(IF(ISBLANK(Positions[[#This Row];[Margin]]);"";'
     'Positions[[#This Row];[Margin]]);TierSet)'),
    ('=IF(ISNUMBER(htx_tier(A2;1;2));htx_tier(A2;1;2)+1;"htx_tier(x)")',
     f'=IF(ISNUMBER({P}HTX_TIER(IF(ISBLANK(A2);"";A2);1;2));'
     f'{P}HTX_TIER(IF(ISBLANK(A2);"";A2);1;2)+1;"htx_tier(x)")'),
    ("=SUM(A1:A3)", None), ("=htx_nosuch(A1)", None), ('="htx_tier("', None),
])
def test_excel_names_read_from_a_file_get_the_extensions(excel, calc):
    assert calc_bridge.calc_formula(excel, NAMES) == calc


def test_an_array_formula_is_told_its_size():
    got = calc_bridge.calc_formula('=htx_liqladder("BTC-USDT";"long";9;3;2)', NAMES, (29, 7))
    assert got.endswith(';;;;"29x7")') and got.count(";") == 8
    assert calc_bridge.calc_formula("=1+htx_pnl(A1;B1;C1;D1;E1)", NAMES, (2, 1)) == \
        calc_bridge.calc_formula("=1+htx_pnl(A1;B1;C1;D1;E1)", NAMES)   # not one call


# ------------------------------------------------------------------ a real headless Calc

def _missing() -> list[str]:
    need = {"soffice": shutil.which("soffice"), "unopkg": shutil.which("unopkg"),
            "unoidl-write": (libreoffice.LIBREOFFICE / "sdk/bin/unoidl-write").exists()}
    out = [k for k, v in need.items() if not v]
    if subprocess.run([LO_PYTHON, "-c", "import uno"], capture_output=True).returncode:
        out.append("python3-uno")
    return out


@pytest.fixture(scope="module")
def calc(tmp_path_factory):
    """The extension built and installed into a private LibreOffice profile (shared when
    run as root, which unopkg requires); ``run(file, steps)`` drives Calc."""
    missing = _missing()
    if missing:
        pytest.fail(f"the Calc tests need {', '.join(missing)}: `make test` installs "
                    "libreoffice-calc-nogui, libreoffice-dev and python3-uno")
    tmp = tmp_path_factory.mktemp("calc")
    oxt = libreoffice.build(tmp / "xlhtx.oxt")
    profile = tmp / "profile"
    scope = ["--shared"] if os.geteuid() == 0 else []
    env_arg = f"-env:UserInstallation={profile.as_uri()}"
    done = subprocess.run(["unopkg", "add", "-f", *scope, env_arg, str(oxt)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    def run(file, steps):
        req = {"profile": str(profile), "file": str(file) if file else None, "steps": steps}
        out = subprocess.run([LO_PYTHON, str(ROOT / "tests" / "calc_driver.py")],
                             input=json.dumps(req), capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)
    yield run
    subprocess.run(["unopkg", "remove", *scope, env_arg, libreoffice.IDENTIFIER],
                   capture_output=True, timeout=300)


def close(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9)
    return got == want


def test_a_fresh_sheet_computes_the_apis_values(calc):
    liq = lambda *a, **k: float(api.liq_price(*a, **k))     # noqa: E731
    steps = [{"set": ["D1", 5000]}, {"set": ["D2", 300]}, {"set": ["D3", 1]},
             {"set": ["E1", 50]}, {"set": ["E2", 100]}, {"set": ["E3", 5]},
             {"set": ["A1", '=HTX_LIQPRICE("BTC-USDT";"long";300;30000;100)']},
             {"set": ["A2", '=HTX_LIQPRICE("BTC-USDT";"short";D1;30000;E1;2000;"legacy")']},
             {"set": ["A3", '=HTX_LIQPRICE("BTC-USDT";"long";5000;30000;50;;;"cross")']},
             {"set": ["A4", '=HTX_MARGINRATIO("BTC-USDT";"long";300;30000;29900;100)']},
             {"set": ["A5", '=HTX_STATUS("BTC-USDT";"long";300;30000;29000;100)']},
             {"set": ["A6", '=HTX_LIQPRICE("BTC-USDT";"sideways";300;30000;100)']},
             {"set": ["A7", '=HTX_LIQPRICE("BTC-USDT";"long";300;30000;100;F1)']},
             {"set": ["A8", '=HTX_MARGINASSET("BTC-USD")']},
             {"array": ["B1:B3", '=HTX_LIQPRICE("BTC-USDT";"long";D1:D3;30000;E1:E3)']},
             {"array": ["C1:C3", '=HTX_NOTIONAL("ETH-USDT";D1:D3;3000)']},
             {"read": ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1:B3", "C1:C3"]}]
    (a1, a2, a3, a4, a5, a6, a7, a8, b, c), = calc(None, steps)["reads"]
    assert close(a1, liq("BTC-USDT", "long", 300, 30000, 100))
    assert close(a2, liq("BTC-USDT", "short", 5000, 30000, 50, margin=2000, tiers="legacy"))
    assert close(a3, liq("BTC-USDT", "long", 5000, 30000, 50, mode="cross"))
    assert close(a4, float(api.margin_ratio("BTC-USDT", "long", 300, 30000, 29900, 100)
                           ["margin_ratio"]))
    assert a5 == metrics.status("BTC-USDT", "long", 300, 30000, 29000, 100).cell(0) == \
        "past liquidation"
    assert a6 == "#VALUE! side = 'sideways': use long or short (buy/sell, 1/-1)"
    # an empty cell typed into a formula reaches an add-in as 0 in Calc: said, not hidden
    assert a7.startswith("#VALUE! margin = 0: must be from 1e-12")
    assert a8 == "BTC"
    want = api.liq_price("BTC-USDT", "long", [5000, 300, 1], 30000, [50, 100, 5]).values
    assert all(close(g[0], float(w)) for g, w in zip(b, want))
    assert [r[0] for r in c] == api.notional("ETH-USDT", [5000, 300, 1], 3000).values.tolist()


def _template_htx_cells(answer):
    for sheet, cells in answer["formulas"].items():
        for row, col, formula, value in cells:
            if P in formula:
                yield sheet, row + 1, col + 1, formula, value


def test_the_template_opened_in_calc_computes_the_files_values(calc):
    """Every HTX_* cell of the template, opened in Calc with the extension, shows the
    value the file holds (computed by the same functions as Excel's)."""
    book = load_workbook(TEMPLATE, data_only=True)
    answer = calc(TEMPLATE, [{"formulas": book.sheetnames}])
    cells = list(_template_htx_cells(answer))
    bad = [(s, r, c, v, book[s].cell(r, c).value) for s, r, c, f, v in cells
           if not (close(v, book[s].cell(r, c).value) or
                   v == "" and book[s].cell(r, c).value is None or
                   isinstance(v, float) and isinstance(book[s].cell(r, c).value, int)
                   and close(v, float(book[s].cell(r, c).value)))]
    assert len(cells) > 300 and {s for s, *_ in cells} >= {
        "Guide", "Positions", "Ladder", "Scenario", "Accounts", "Liquidation map"}
    assert bad == []


def test_editing_a_position_recalculates_its_htx_cells(calc):
    book = load_workbook(TEMPLATE)
    header = [c.value for c in book["Positions"][1]]
    col = {h: chr(ord("A") + k) for k, h in enumerate(header)}
    row = 3   # the second position
    contract, side = (book["Positions"][f"{col[h]}{row}"].value for h in ("Contract", "Side"))
    steps = [{"set": [f"Positions.{col['Contracts']}{row}", 1200]},
             {"set": [f"Positions.{col['Mark price']}{row}", 2950]},
             {"set": [f"Positions.{col['Margin']}{row}", 25000]},
             {"set": [f"Positions.{col['Margin mode']}{row}", "cross"]},
             {"calculate": True},
             {"read": [f"Positions.A{row}:{col['Status']}{row}"]}]
    (got,), = calc(TEMPLATE, steps)["reads"]
    got = dict(zip(header, got[0]))
    q, entry, lev = got["Contracts"], got["Entry price"], got["Leverage"]
    assert (q, got["Mark price"], got["Margin"]) == (1200, 2950, 25000)
    pos = (contract, side, q, entry)
    assert close(got["Liq. price"], float(api.liq_price(*pos, lev, margin=25000,
                                                          mode="cross")))
    assert close(got["Margin ratio"], float(api.margin_ratio(
        *pos, 2950, lev, margin=25000, mode="cross")["margin_ratio"]))
    assert close(got["Notional"], float(api.notional(contract, q, 2950)))
    assert close(got["MMR"], float(api.tier(contract, lev, q, mode="cross")["mmr"]))
