"""Bad inputs: a status and a message naming the argument, never a crash and never
a finite wrong number; the other rows of the same call still compute."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from htxcore import status as st
from xlhtx import api

# HTX's adjustment-factor rules: the worked examples of its pages are on them
LEGACY = "legacy"
from xlhtx.coerce import ArgError
from xlhtx.statuses import EMPTY

GOOD = 29915.560916767186  # docs/maths.md's example: long 5,000 BTC-USDT at 30,000, 125x


@pytest.mark.parametrize("arg, value, message", [
    ("contracts", "abc", "#VALUE! contracts = 'abc' is not a number"),
    ("contracts", None, "#VALUE! contracts is empty; a number is required"),
    ("contracts", 0, "#VALUE! contracts = 0: must be a number from 1e-12 to below 1e15"),
    ("contracts", -5, "#VALUE! contracts = -5: must be a number from 1e-12 to below 1e15"),
    ("contracts", math.nan, "#VALUE! contracts = nan: must be a number from 1e-12 to below 1e15"),
    ("contracts", math.inf, "#VALUE! contracts = inf: must be a number from 1e-12 to below 1e15"),
    ("contracts", True, "#VALUE! contracts is TRUE, not a number"),
    ("entry_price", 0, "#VALUE! entry_price = 0: must be a price from 1e-12 to below 1e15"),
    ("entry_price", "", "#VALUE! entry_price is empty; a number is required"),
    ("leverage", 0, "#VALUE! leverage = 0: must be a number from 1e-12 to below 1e15"),
    ("leverage", -10, "#VALUE! leverage = -10: must be a number from 1e-12 to below 1e15"),
    ("leverage", 7, "#N/A no tier ladder for BTC-USDT isolated at 7x"),
    ("side", "up", "#VALUE! side = 'up': use long or short (buy/sell, 1/-1)"),
    ("side", 2, "#VALUE! side = 2: use long or short"),
    ("contract", "DOGE-EUR", "#N/A contract 'DOGE-EUR' is not in the contract table"),
    ("contract", 42, "#N/A contract 42 is not in the contract table"),
    ("margin", -1, "#VALUE! margin = -1: must be from 1e-12 to below 1e15 (leave it empty for the initial margin)"),
    ("margin", "x", "#VALUE! margin = 'x' is not a number"),
])
def test_bad_value_in_one_row_leaves_the_other_rows(arg, value, message):
    args = dict(contract=["BTC-USDT", "BTC-USDT"], side=["long", "long"],
                contracts=[5000, 5000], entry_price=[30000, 30000], leverage=[125, 125],
                margin=[None, None])
    args[arg] = [args[arg][0], value]
    r = api.liq_price(**args, tiers=LEGACY)
    assert r.values[0] == pytest.approx(GOOD, rel=1e-12)
    assert math.isnan(r.values[1])
    assert r.messages[1].startswith(message), r.messages[1]
    assert r.to_list()[1] == r.messages[1]


def test_text_numbers_and_aliases_are_accepted():
    r = api.liq_price(["BTC-USDT", " btc-usdt "], ["BUY", -1], ["5,000", 5000.0],
                      ["30000", 30000], [125, "125"], tiers=LEGACY)
    assert r.values.tolist() == pytest.approx([GOOD, 30083.565459610025], rel=1e-12)


def test_ranges_of_unequal_length_are_refused_naming_them():
    with pytest.raises(ArgError, match="unequal length: contract has 3, contracts has 2"):
        api.liq_price(["BTC-USDT"] * 3, "long", [1, 2], 30000, 125, tiers=LEGACY)


def test_two_dimensional_range_is_refused():
    with pytest.raises(ArgError, match="expects one column or one row, got a 2x2 range"):
        api.liq_price("BTC-USDT", "long", ((1, 2), (3, 4)), 30000, 125, tiers=LEGACY)


def test_rows_with_every_required_argument_empty_give_empty_results():
    r = api.liq_price(["BTC-USDT", None, ""], ["long", None, None], [5000, None, None],
                      [30000, None, ""], [125, None, None], tiers=LEGACY)
    assert r.to_list() == [pytest.approx(GOOD), None, None]
    assert r.status.tolist()[1:] == [EMPTY, EMPTY]


def test_a_broadcast_bad_scalar_marks_every_row():
    r = api.liq_price("BTC-USDT", "long", [1, 2, 3], "thirty thousand", 125, tiers=LEGACY)
    assert all(m.startswith("#VALUE! entry_price = 'thirty thousand'") for m in r.to_list())


CELL = hs.one_of(hs.none(), hs.booleans(), hs.text(max_size=6), hs.integers(-10**6, 10**6),
                 hs.floats(allow_nan=True, allow_infinity=True),
                 hs.sampled_from(["long", "short", "BTC-USDT", "BTC-USD", "ETH-USDT",
                                  "isolated", "cross", "", "  ", "1e400", "-0"]))


@settings(max_examples=300, deadline=None)
@given(hs.lists(hs.tuples(CELL, CELL, CELL, CELL, CELL, CELL), min_size=1, max_size=8))
def test_fuzzed_cells_give_numbers_or_messages(rows):
    cols = list(zip(*rows))
    r = api.liq_price(*[list(c) for c in cols[:5]], margin=list(cols[5]), tiers=LEGACY)
    for i, v in enumerate(r.to_list()):
        assert v is None or isinstance(v, str) or math.isfinite(v)
        if isinstance(v, float):
            # a number only comes out of a fully valid row: check it against the formula
            contract, side, q, e, lev, m = rows[i]
            again = api.liq_price(contract, side, q, e, lev, margin=m, tiers=LEGACY)
            assert again.values[0] == v


def test_kernel_status_codes_are_all_worded():
    from xlhtx.coerce import Batch
    from xlhtx.messages import status_message
    from xlhtx.reference.snapshot import snapshot
    codes = {v for k, v in vars(st).items() if k.isupper() and isinstance(v, int)
             and k not in ("OK", "N_CODES")}
    assert len(codes) == len(set(codes)) and max(codes) < st.N_CODES
    for code in codes:
        arg = st.ARGUMENT.get(code, "contracts")
        cols = dict(contract="BTC-USDT", side="long", contracts=1, leverage=1, mode="isolated")
        cols[arg] = "bad value"
        b = Batch(**cols)
        msg = status_message(code, b, 0, snapshot())
        assert msg and "(status" not in msg, (code, msg)
        if code in st.ARGUMENT and code != st.ERR_CONTRACT:
            # the message names the argument the kernel said failed, and its value
            assert msg.startswith(f"#VALUE! {arg} = 'bad value': "), msg


def test_every_input_error_belongs_to_one_argument():
    errors = {v for k, v in vars(st).items() if k.startswith("ERR_")}
    arguments = set(st.ARGUMENT)
    assert arguments <= errors
    assert len(set(st.ARGUMENT.values())) == len(st.ARGUMENT)
