"""Excel = command line: the account functions take HTX's adjust factor as import does,
contract codes resolve the same everywhere, and every default the wizard help states is
the default the function uses."""

import inspect
import json
import re
from pathlib import Path

import pytest

from xlhtx import api
from xlhtx.htx import v1
from xlhtx.excel import udfs
from xlhtx.reference.snapshot import snapshot

DATA = Path(__file__).parent / "data" / "htx-accounts"
THETA = json.loads((DATA / "coin-isolated-theta-usd.json").read_text())
EXPECTED = {c["file"]: c for c in json.loads((DATA / "expected.json").read_text())}

# a tier table whose cross ladder differs from the isolated one, so a mode taken wrongly shows
TIERS = [["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
          "adjust_factor", "contract_size"],
         ["BTC-USDT", "isolated", 20, 0, 0, None, 0.2, 0.001],
         ["BTC-USDT", "cross", 20, 0, 0, 50, 0.3, 0.001],
         ["BTC-USDT", "cross", 20, 1, 51, None, 0.4, 0.001]]
SAMPLE = {"contract": "BTC-USDT", "leverage": 20, "net_contracts": 100, "contracts": 100,
          "price": 29000, "contract_col": [["BTC-USDT"]], "side_col": [["long"]],
          "contracts_col": [[100]], "entry_col": [[30000]], "mark_col": [[29000]],
          "leverage_col": [[20]], "margin_static": 200, "tiers": TIERS,
          "side": "long", "entry_price": 30000, "mark_price": 29000, "equity": 5000,
          "target_liq_price": 28000, "exec_price": 28000, "margin_col": [[None]],
          "price_from": 20000, "price_to": 40000, "step": 250}
WITH_MODE = [n for n, f in udfs.FUNCTIONS.items() if "mode" in inspect.signature(f).parameters]


@pytest.mark.parametrize("name", WITH_MODE)
def test_the_default_mode_is_the_one_the_wizard_help_states(name):
    f = udfs.FUNCTIONS[name]
    default = re.search(r"empty = (isolated|cross)", udfs.arg_doc(name, "mode")).group(1)
    other = {"isolated": "cross", "cross": "isolated"}[default]
    args = {k: SAMPLE[k] for k in inspect.signature(f).parameters if k in SAMPLE}
    blank = f(**args)
    assert blank == f(**args, mode=default)
    if name not in MODE_FREE:
        assert blank != f(**args, mode=other), "the sample cannot tell the modes apart"


# functions that take a mode (it is checked) but whose number here does not depend on it
MODE_FREE = {"HTX_EQUITY": "isolated equity is margin + PnL in either mode",
             "HTX_MAXOPEN": "on these ladders the available margin is the same in both"}


def test_every_argument_has_wizard_help_within_excels_limit():
    for name, f in udfs.FUNCTIONS.items():
        for arg in inspect.signature(f).parameters:
            assert 0 < len(udfs.arg_doc(name, arg)) <= 255, (name, arg)


def _theta_cells():
    a = THETA["data"][0]
    p = a["positions"][0]
    return (p["contract_code"], "long", float(p["volume"]), float(p["cost_hold"]),
            float(p["last_price"]), float(p["lever_rate"]), float(a["margin_static"]))


def test_excel_account_with_htx_adjust_factor_gives_the_import_numbers():
    code, side, q, cost, mark, lever, static = _theta_cells()
    frozen = float(THETA["data"][0]["margin_frozen"])
    af = float(THETA["data"][0]["adjust_factor"])
    (row,) = udfs.HTX_ACCOUNT([[code]], [[side]], [[q]], [[cost]], [[mark]], [[lever]],
                              static, "isolated", frozen, None, None, [[af]])
    imported = v1.compare(v1.parse_accounts(THETA), snapshot("legacy"))
    want = EXPECTED["coin-isolated-theta-usd.json"]
    assert row[0] == pytest.approx(imported["liq_price"][0], rel=1e-12)
    assert row[0] == pytest.approx(float(want["htx_liquidation_price"]), rel=1e-9)
    assert row[2] == pytest.approx(float(want["htx_risk_rate"]), rel=1e-9)
    risk = udfs.HTX_RISKRATE([[code]], [[side]], [[q]], [[cost]], [[mark]], [[lever]], static,
                             "isolated", frozen, None, [[af]])
    assert risk == pytest.approx(row[2], rel=1e-15)


@pytest.mark.parametrize("code, size", [("THETA-USD", 10), ("BTC200710", 100),
                                        ("BTC_CQ", 100), ("BTC-USDT-211210", 0.001)])
def test_codes_import_resolves_resolve_in_excel_and_calc(code, size):
    kind_price = 30000.0
    v = udfs.HTX_NOTIONAL(code, 10, kind_price)
    want = 10 * size * kind_price if "USDT" in code else 10 * size / kind_price
    assert v == pytest.approx(want, rel=1e-15)
    assert api.notional([code], [10], [kind_price]).values[0] == v


def test_a_typo_stays_unknown():
    with pytest.raises(Exception, match="not in the contract table"):
        udfs.HTX_NOTIONAL("BTCUSDT", 10, 30000)


def test_the_balance_argument_says_which_htx_field_goes_there():
    help_text = udfs.arg_doc("HTX_ACCOUNT", "margin_static")
    assert "margin_static" in help_text and "not margin_balance" in help_text
    with pytest.raises(Exception, match="margin_static"):
        udfs.HTX_RISKRATE("BTC-USDT", "long", 1, 30000, 30000, 20, "lots")


def test_a_resolved_code_in_the_range_does_not_shift_another_rows_margin_bands():
    """Resolving a code HTX defines (ADA-USD) adds a contract that sorts first: every
    array compiled against the table must use the resolved one (max_open's margin bands
    once took the old contract ids, so BTC-USDT read no bands: 666,666 for 366,666)."""
    alone = api.max_open(["BTC-USDT"], 1e6, 30000, 20, tiers="legacy")["contracts"]
    mixed = api.max_open(["BTC-USDT", "ADA-USD"], 1e6, 30000, 20, tiers="legacy")["contracts"]
    assert alone.values[0] == 366666.0
    assert mixed.values[0] == alone.values[0]
