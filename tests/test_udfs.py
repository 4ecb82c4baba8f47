"""The Excel functions through xlwings' own Windows UDF machinery (stubbed COM): the VBA
"Import Functions" generates, values converted as xlwings converts them, results as
xlwings writes them; broadcasting, mixed rows and fuzzed cells."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import oracle
from xlhtx.excel.registry import FUNCTIONS as REGISTRY, dropped_arguments
from xlhtx.reference.snapshot import snapshot
from xlwings_windows import excel_call, vba_for, windows_udfs

# the catalogue as released before the registry: function -> arguments in order
# (optional ones in brackets). A workbook's formulas keep their meaning: every function
# still takes these arguments in this order (new optional ones come after them).
RELEASED = {
    "HTX_NOTIONAL": "contract, contracts, price, [tiers]",
    "HTX_MARGIN": "contract, contracts, price, leverage, [tiers]",
    "HTX_TIER": "contract, leverage, net_contracts, [mode], [tiers]",
    "HTX_ADJFACTOR": "contract, leverage, net_contracts, [mode], [tiers]",
    "HTX_MMR": "contract, leverage, net_contracts, [mode], [tiers]",
    "HTX_MAINTMARGIN": "contract, contracts, price, leverage, [mode], [tiers]",
    "HTX_PNL": "contract, side, contracts, entry_price, price, [tiers]",
    "HTX_ROE": "contract, side, contracts, entry_price, price, leverage, [tiers]",
    "HTX_MARGINRATIO": "contract, side, contracts, entry_price, mark_price, leverage, [margin], [tiers]",
    "HTX_LIQPRICE": "contract, side, contracts, entry_price, leverage, [margin], [tiers]",
    "HTX_BANKRUPTCYPRICE": "contract, side, contracts, entry_price, leverage, [margin], [tiers]",
    "HTX_LIQLADDER": "contract, side, contracts, entry_price, leverage, [margin], [tiers]",
    "HTX_AFTERLIQ": "contract, side, contracts, entry_price, leverage, price, [margin], [tiers], [output]",
    "HTX_MARGINASSET": "contract, [tiers]",
    "HTX_ADDMARGIN": "contract, side, contracts, entry_price, leverage, target_liq_price, [margin], [tiers]",
    "HTX_MAXOPEN": "contract, equity, price, leverage, [margin_ladders]",
    "HTX_TARGETPRICE": "contract, side, entry_price, leverage, target_roe",
    "HTX_CROSSLIQPRICE": "contract_col, side_col, contracts_col, entry_col, mark_col, leverage_col, margin_static, [tiers], [adjust_factor_col]",
    "HTX_EQUITY": "contract, side, contracts, entry_price, mark_price, leverage, [margin], [tiers]",
    "HTX_LIQDISTANCE": "contract, side, contracts, entry_price, mark_price, leverage, [margin], [tiers]",
    "HTX_STATUS": "contract, side, contracts, entry_price, mark_price, leverage, [margin], [tiers]",
    "HTX_LIQMAP": "contract_col, side_col, contracts_col, entry_col, leverage_col, margin_col, price_from, price_to, step, [tiers], [mark_price], [map_contract]",
    "HTX_ACCOUNT": "contract_col, side_col, contracts_col, entry_col, mark_col, leverage_col, margin_static, [mode], [frozen_margin], [tiers], [collateral], [adjust_factor_col]",
    "HTX_RISKRATE": "contract_col, side_col, contracts_col, entry_col, mark_col, leverage_col, margin_static, [mode], [frozen_margin], [tiers], [adjust_factor_col]",
    "HTX_INSURANCE": "contract, side, contracts, entry_price, leverage, exec_price, [margin], [fee_rate], [tiers]",
    "HTX_ADLRANK": "pnl_col, margin_col, notional_col",
    "HTX_VERSION": "",
    "HTX_TIERSET": "tiers",
    "HTX_BOOK": "contract_col, side_col, contracts_col, entry_col, leverage_col, [mark_col], "
                "[margin_col], [mode_col], [tiers]",
    "HTX_BOOKCOLUMN": "book, column",
}
# the test suite's list of functions: the registry's, as Excel declares them
DECLARED = {name: ", ".join(f"[{a.name}]" if a.optional else a.name for a in fn.args)
        for name, fn in REGISTRY.items()}
T = snapshot("legacy")


@pytest.fixture(scope="module")
def xl():
    with windows_udfs() as (xlu, module):
        yield xlu, module


def test_vba_declares_every_function_with_the_spec_arguments(xl):
    vba = vba_for(*xl)
    declared = dict(re.findall(r"^Function (HTX_\w+)\((.*)\)$", vba, re.M))
    assert set(declared) == set(DECLARED)
    for name, args in DECLARED.items():
        want = ", ".join(f"Optional {a[1:-1]}" if a.startswith("[") else a
                         for a in args.split(", ") if a)
        assert declared[name] == want, name
        assert f'XLPy.CallUDF("xlhtx.excel.udfs", "{name}"' in vba


def test_every_argument_has_wizard_help_and_a_category(xl):
    _, m = xl
    for name in DECLARED:
        info = getattr(m, name).__xlfunc__
        assert info["category"] == "xlhtx (HTX futures)"
        assert info["ret"]["doc"] and len(info["ret"]["doc"]) < 256
        for a in info["args"]:
            assert not a["doc"].startswith("Positional argument"), (name, a["name"])
            assert len(a["doc"]) <= 255 and a["options"] == {"ndim": 2}


def col(*values):
    return tuple((v,) for v in values)


def legacy(name, *args):
    """``args`` with the tiers argument set to the bundled legacy snapshot (the worked
    examples of HTX's adjustment-factor pages are on it)."""
    names = [a.strip(" []") for a in DECLARED[name].split(",")]
    k = names.index("tiers")
    return (*args, *[None] * (k - len(args)), "legacy")


def test_scalars_match_the_oracle(xl):
    _, m = xl
    c = T.contract("BTC-USDT")
    mmr = oracle.tier(T, "BTC-USDT", "isolated", 125, 5000)[1]
    im = oracle.initial_margin(c, 5000, 30000, 125)
    cases = {
        ("HTX_NOTIONAL", "BTC-USDT", 5000.0, 30000.0): oracle.value(c, 5000, 30000),
        ("HTX_MARGIN", "BTC-USDT", 5000.0, 30000.0, 125.0): im,
        ("HTX_TIER", "BTC-USDT", 125.0, 9000.0): 1,
        ("HTX_ADJFACTOR", "BTC-USDT", 125.0, 9000.0): 0.8,
        ("HTX_MMR", "BTC-USDT", 125.0, 5000.0): mmr,
        ("HTX_MAINTMARGIN", "BTC-USDT", 5000.0, 29000.0, 125.0): mmr * oracle.value(c, 5000, 29000),
        ("HTX_PNL", "BTC-USDT", "short", 5000.0, 30000.0, 29000.0): oracle.pnl(c, -1, 5000, 30000, 29000),
        ("HTX_ROE", "BTC-USDT", "long", 5000.0, 30000.0, 30300.0, 125.0): 1.25,
        ("HTX_MARGINRATIO", "BTC-USDT", "long", 5000.0, 30000.0, 29950.0, 125.0):
            oracle.margin_ratio(c, 1, 5000, 30000, 29950, mmr, im)[0],
        ("HTX_LIQPRICE", "BTC-USDT", "long", 5000.0, 30000.0, 125.0):
            oracle.liq_price(c, 1, 5000, 30000, mmr, im),
        ("HTX_BANKRUPTCYPRICE", "BTC-USDT", "short", 5000.0, 30000.0, 125.0): 30240.0,
        ("HTX_AFTERLIQ", "BTC-USDT", "long", 100000.0, 30000.0, 125.0, 29950.0): 89999,
        ("HTX_ADDMARGIN", "BTC-USDT", "long", 5000.0, 30000.0, 125.0, 29000.0):
            oracle.margin_for_liq(c, 1, 5000, 30000, mmr, 29000) - im,
        ("HTX_INSURANCE", "BTC-USDT", "long", 5000.0, 30000.0, 125.0, 29800.0): 200.0,
    }
    for (name, *args), want in cases.items():
        got = excel_call(m, name, *legacy(name, *args))
        assert got == pytest.approx(want, rel=1e-12), name
    today = {   # functions without a tiers argument: today's snapshot (BTC-USDT risk limits)
        # all of 100,000 USDT at 30x: 60,000 contracts, under tier 4's 120,000 (30x cap)
        ("HTX_MAXOPEN", "BTC-USDT", 100000.0, 50000.0, 30.0): 60000,
        ("HTX_TARGETPRICE", "BTC-USDT", "long", 30000.0, 10.0, 0.5): 31500.0,
    }
    for (name, *args), want in today.items():
        got = excel_call(m, name, *args)
        assert got == pytest.approx(want, rel=1e-12), name


def test_columns_broadcast_against_single_cells(xl):
    _, m = xl
    got = excel_call(m, "HTX_LIQPRICE", "BTC-USDT", col("long", "short", "long"),
                     5000.0, 30000.0, col(125.0, 125.0, 20.0), None, "legacy")
    assert [r[0] for r in got] == pytest.approx([29915.5609167672, 30083.5654596100,
                                                 28500 / 0.995], rel=1e-12)
    row = excel_call(m, "HTX_NOTIONAL", "BTC-USDT", ((1.0, 2.0, 3.0),), 30000.0)
    assert row == [30.0, 60.0, 90.0]  # a row in, a row out (one row reaches Excel flat)


def test_mixed_good_and_bad_rows(xl):
    _, m = xl
    got = excel_call(m, "HTX_LIQPRICE", col("BTC-USDT", "XXX", "BTC-USDT", None),
                     col("long", "long", "sideways", None), col(5000.0, 1.0, 1.0, None),
                     col(30000.0, 30000.0, 30000.0, None), col(125.0, 10.0, 10.0, None),
                     None, "legacy")
    assert got[0][0] == pytest.approx(29915.5609167672)
    assert got[1][0].startswith("#N/A contract 'XXX'")
    assert got[2][0].startswith("#VALUE! side = 'sideways'")
    assert got[3][0] == ""  # an empty row stays empty (xlwings writes None as "")


def test_scalar_errors_raise_one_clear_line(xl):
    _, m = xl
    with pytest.raises(Exception, match=r"^#VALUE! leverage = 0: must be a number from 1e-12 to below 1e15$"):
        excel_call(m, "HTX_LIQPRICE", "BTC-USDT", "long", 5000.0, 30000.0, 0.0)
    with pytest.raises(Exception, match="unequal length"):
        excel_call(m, "HTX_LIQPRICE", col("BTC-USDT", "BTC-USDT"), "long",
                   col(1.0, 2.0, 3.0), 30000.0, 125.0)
    # no liquidation is a result, not an error: the words, short enough for a cell
    assert excel_call(m, "HTX_LIQPRICE", "BTC-USD", "short", 100.0, 30000.0, 1.0) == \
        "no liquidation"
    got = excel_call(m, "HTX_LIQPRICE", col("BTC-USD", "BTC-USDT"), "short", 100.0, 30000.0,
                     1.0, None, "legacy")
    assert got[0] == ["no liquidation"] and isinstance(got[1][0], float)


def test_excel_error_values_and_empty_text_arrive_as_empty(xl):
    _, m = xl
    got = excel_call(m, "HTX_LIQPRICE", "BTC-USDT", "long", col(5000.0, -2146826281),
                     col(30000.0, ""), 125.0)
    assert got[1][0] == "#VALUE! contracts is empty; a number is required"


def test_ladder_spills_a_table_with_header(xl):
    _, m = xl
    got = excel_call(m, "HTX_LIQLADDER", "BTC-USDT", "long", 100000.0, 30000.0, 125.0, None,
                     "legacy")
    assert got[0] == ["Step", "Trigger price", "Contracts before", "Contracts after",
                      "Tier before", "Tier after", "Margin after"]
    assert [r[3] for r in got[1:]] == [89999, 8999, 0]


def test_cross_and_adl_take_columns(xl):
    _, m = xl
    got = excel_call(m, "HTX_CROSSLIQPRICE", col("BTC-USDT", "ETH-USDT"), col("long", "short"),
                     col(5000.0, 100.0), col(30000.0, 2000.0), col(30000.0, 2000.0),
                     col(125.0, 20.0), 2000.0, "legacy")
    want = oracle.cross_liq(T, [("BTC-USDT", 1, 5000, 30000, 30000, 125),
                                ("ETH-USDT", -1, 100, 2000, 2000, 20)], 2000)
    assert [r[0] for r in got] == pytest.approx(want, rel=1e-12)
    ranks = excel_call(m, "HTX_ADLRANK", col(10.0, -5.0, 50.0), col(100.0, 100.0, 100.0),
                       col(1000.0, 1000.0, 1000.0))
    assert ranks == [[2.0], [3.0], [1.0]]


def test_tiers_range_is_used_and_parsed_once(xl):
    from xlhtx import api
    _, m = xl
    tiers = (("contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
              "adjust_factor"),
             ("BTC-USDT", "isolated", 125.0, 0.0, 0.0, None, 0.9))
    api._TIER_CACHE.clear()
    a = excel_call(m, "HTX_MMR", "BTC-USDT", 125.0, 5000.0, None, tiers)
    b = excel_call(m, "HTX_MMR", "BTC-USDT", 125.0, 1e9, None, tiers)
    assert a == b == pytest.approx(0.9 / 125)
    assert len(api._TIER_CACHE) == 1


def test_version(xl):
    _, m = xl
    v = excel_call(m, "HTX_VERSION")
    assert v.startswith("xlhtx 0.1.0; bundled tier snapshot as of") and "illustrative" in v


CELL = hs.one_of(hs.none(), hs.booleans(), hs.text(max_size=5), hs.integers(-10**9, 10**9),
                 hs.floats(allow_nan=True, allow_infinity=True),
                 hs.floats(min_value=1e300, max_value=1e308), hs.just(-2146826273),
                 hs.sampled_from(["BTC-USDT", "BTC-USD", "long", "short", "cross", "",
                                  "isolated"]))
RANGE = hs.one_of(CELL, hs.lists(CELL, min_size=1, max_size=4).map(lambda v: tuple((x,) for x in v)))
NOT_NUMBERS = ("no liquidation", "liquidated")


@pytest.mark.parametrize("name", [n for n in DECLARED if n != "HTX_VERSION"])
def test_fuzzed_cells_never_escape_as_tracebacks(xl, name):
    _, m = xl
    n_args = len(getattr(m, name).__xlfunc__["args"])

    @settings(max_examples=120, deadline=None)
    @given(hs.lists(RANGE, min_size=n_args, max_size=n_args))
    def run(cells):
        if name in ("HTX_MAXOPEN",) or cells[-1] is not None and n_args > 5 and \
                "tiers" in [a["name"] for a in getattr(m, name).__xlfunc__["args"]]:
            cells[-1] = None  # a tiers/ladders range is a table: fuzzed separately below
        try:
            out = excel_call(m, name, *cells)
        except Exception as e:
            assert type(e).__name__ == "UdfError", repr(e)
            assert str(e).startswith("#") and "\n" not in str(e)
            return
        flat = out if isinstance(out, list) else [[out]]
        for row in flat:
            for v in (row if isinstance(row, list) else [row]):
                assert v is None or v == "" or isinstance(v, (int, float, str))
                if isinstance(v, float):
                    assert math.isfinite(v)
                if isinstance(v, str) and v and v not in LADDER_HEADERS:
                    assert v.startswith("#") or v.startswith(NOT_NUMBERS) or (
                        name in ("HTX_TIERSET", "HTX_BOOK") and  # a handle names its table
                        re.match(r"(tiers|book) [0-9a-f]{16}: ", v)), v
    run()


LADDER_HEADERS = {"Step", "Trigger price", "Contracts before", "Contracts after", "Tier before",
                "Tier after", "Margin after"}


@settings(max_examples=150, deadline=None)
@given(hs.lists(hs.lists(CELL, min_size=7, max_size=7), min_size=0, max_size=4))
def test_fuzzed_tier_ranges_give_a_clear_message(rows):
    with windows_udfs() as (_, m):
        header = ("contract_code", "margin_mode", "lever_rate", "ladder", "min_size",
                  "max_size", "adjust_factor")
        try:
            out = excel_call(m, "HTX_LIQPRICE", "BTC-USDT", "long", 5000.0, 30000.0, 125.0,
                             None, (header, *map(tuple, rows)))
        except Exception as e:
            assert type(e).__name__ == "UdfError" and str(e).startswith("#")
            return
        assert isinstance(out, float) and math.isfinite(out)


def test_a_tier_handle_stands_for_its_table(xl):
    """The workbook passes one short handle instead of the 3,000-cell range to every call;
    the numbers are the range's, an edited range has a new handle, and a handle this
    Python session never loaded says how to reload it."""
    _, m = xl
    table = [list(r) for r in T.to_rows(risk_limit=False)]
    handle = excel_call(m, "HTX_TIERSET", tuple(map(tuple, table)))
    assert re.fullmatch(r"tiers [0-9a-f]{16}: [\d,]+ tier rows, as of .+", handle)
    args = ("BTC-USDT", "long", 5000.0, 30000.0, 125.0, None)
    by_range = excel_call(m, "HTX_LIQPRICE", *args, tuple(map(tuple, table)))
    assert excel_call(m, "HTX_LIQPRICE", *args, handle) == by_range
    edited = [r[:] for r in table]
    k = table[0].index("adjust_factor")
    edited[1][k] = edited[1][k] * 2      # one adjustment factor changed
    assert excel_call(m, "HTX_TIERSET", tuple(map(tuple, edited))) != handle
    with pytest.raises(Exception, match="not loaded in this Python session.*Ctrl\\+Alt\\+F9"):
        excel_call(m, "HTX_LIQPRICE", *args, "tiers 0123456789abcdef: 1 tier rows")


def test_an_unknown_handle_is_reloaded_from_the_open_workbook(monkeypatch):
    """Python restarted after the workbook was computed (its TierSet cell keeps the old
    handle): the first call finds the workbook whose TierTables hold that very table —
    the handle is the content's hash — and computes; a workbook with another table is not
    taken for it."""
    from types import SimpleNamespace as NS
    from xlhtx import api
    from xlhtx.excel import udfs
    rows = [list(r) for r in T.to_rows(risk_limit=False)]
    handle = api.tier_handle(rows)
    want = udfs.HTX_LIQPRICE("BTC-USDT", "long", 5000, 30000, 125, None, [[handle]])

    def excel_with(table):
        rng = NS(options=lambda ndim: NS(value=table))
        return [NS(books=[NS(names={}), NS(names={"TierTables": NS(refers_to_range=rng)})])]
    other = [r[:] for r in rows]
    other[1][6] *= 2
    monkeypatch.setattr(api, "_HANDLES", type(api._HANDLES)())
    monkeypatch.setattr(udfs.xw, "apps", excel_with(other), raising=False)
    with pytest.raises(Exception, match="no open workbook's TierTables holds that table"):
        udfs.HTX_LIQPRICE("BTC-USDT", "long", 5000, 30000, 125, None, [[handle]])
    monkeypatch.setattr(udfs.xw, "apps", excel_with(rows), raising=False)
    assert udfs.HTX_LIQPRICE("BTC-USDT", "long", 5000, 30000, 125, None, [[handle]]) == want


def test_released_signatures_are_kept_and_no_api_argument_is_dropped():
    """The registry grew the functions (mode and tiers wherever the API takes them) only
    at the end of their argument lists, and every argument of each API function reaches
    Excel (the few left out say why in API_ONLY)."""
    assert set(RELEASED) == set(DECLARED)
    for name, released in RELEASED.items():
        old = [a for a in released.split(", ") if a]
        new = [a for a in DECLARED[name].split(", ") if a]
        assert new[:len(old)] == old, name
        assert all(a.startswith("[") for a in new[len(old):]), name
        assert dropped_arguments(REGISTRY[name]) == set(), name
    for name in ("HTX_LIQPRICE", "HTX_MARGINRATIO", "HTX_EQUITY", "HTX_LIQDISTANCE",
                 "HTX_LIQLADDER", "HTX_AFTERLIQ", "HTX_ADDMARGIN", "HTX_INSURANCE",
                 "HTX_STATUS", "HTX_MAXOPEN"):
        assert "[mode]" in DECLARED[name], name
    assert "[tiers]" in DECLARED["HTX_MAXOPEN"] and "[tiers]" in DECLARED["HTX_TARGETPRICE"]


def test_mode_reaches_the_kernel_from_excel(xl):
    """A tier table whose cross ladder differs from the isolated one: the cross call
    gives the cross number (it used to be dropped and the isolated one came back)."""
    _, m = xl
    rows = [list(r) for r in T.to_rows(risk_limit=False)]
    head = rows[0]
    k, mode_at = head.index("adjust_factor"), head.index("margin_mode")
    cross = [r[:] for r in rows[1:] if r[0] == "BTC-USD" and r[mode_at] == "isolated"]
    for r in cross:
        r[mode_at] = "cross"
        r[k] = min(r[k] * 1.5, 0.99)
    table = tuple(map(tuple, [head] + rows[1:] + cross))
    args = ("BTC-USD", "long", 100.0, 30000.0, 20.0, None, table)
    iso = excel_call(m, "HTX_LIQPRICE", *args, "isolated")
    crossed = excel_call(m, "HTX_LIQPRICE", *args, "cross")
    assert iso == excel_call(m, "HTX_LIQPRICE", *args)      # empty = isolated
    assert crossed > iso                                    # a higher MMR: liquidated sooner
    assert crossed == pytest.approx(
        __import__("xlhtx").api.liq_price(*args[:5], tiers=[list(r) for r in table],
                                          mode="cross").values[0], rel=1e-15)
