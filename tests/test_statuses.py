"""The status table: every code a kernel or the boundary sets has one entry, and what the
entry says holds — input errors name their argument and rule, error words read as Excel
errors, results without a number do not, and ``Result.is_error`` comes from the code."""

import numpy as np

from htxcore import status as st
from xlhtx import api
from xlhtx.excel import udfs
from xlhtx.statuses import (BOUND, EMPTY, ERROR, EXCEL_ERRORS, INPUT, RANGE, RESULT, TABLE,
                            TINY, is_error, plain)
from xlhtx.tables.metrics import Rows, vocabulary


def test_every_code_has_one_entry():
    kernel_codes = {v for k, v in vars(st).items() if k.isupper() and isinstance(v, int)
                    and k not in ("N_CODES",)}
    assert kernel_codes | {EMPTY, INPUT, RANGE} == set(TABLE)


def test_entries_say_what_their_code_means():
    for code, s in TABLE.items():
        if code in st.ARGUMENT:
            assert s.severity == ERROR and s.argument == st.ARGUMENT[code]
            assert s.rule or code == st.ERR_CONTRACT, code
        if s.words:
            # Excel's convention: an error reads like one (#VALUE!, #N/A, #NUM!), a result
            # without a number does not
            assert (s.words.split(" ", 1)[0] in EXCEL_ERRORS) == (s.severity == ERROR), code
    assert (BOUND, TINY) == ("1e15", "1e-12")      # the kernels' bounds, as rules say them
    assert "from 1e-12 to below 1e15" in TABLE[st.ERR_CONTRACTS].rule


def test_is_error_comes_from_the_status_not_the_text():
    r = api.liq_price(["BTC-USDT", "BTC-USDT", "NOPE", None], ["long"] * 3 + [None],
                      [100] * 3 + [None], [30000] * 3 + [None], [1, 50, 10, None],
                      tiers="legacy")
    assert r.is_error.tolist() == [False, False, True, False]   # no liquidation is a result
    assert TABLE[int(r.status[0])].severity == RESULT and r.status[3] == EMPTY
    assert udfs.HTX_LIQPRICE("BTC-USDT", "long", 100, 30000, 1) == "no liquidation"
    assert is_error(np.array([st.OK, st.UNREACHABLE, INPUT, EMPTY])).tolist() == [
        False, True, True, False]


def test_a_tables_status_word_comes_from_the_code_not_the_text():
    """``xlhtx calc``'s status column: the code says ok, no liquidation, past liquidation
    or error; the message only supplies the words after "error: "."""
    codes = np.array([st.OK, st.NO_LIQUIDATION, st.LIQUIDATED, st.ERR_SIDE, INPUT, EMPTY,
                      st.OK], dtype=np.int16)
    messages = {3: "#VALUE! side = 'up': use long or short",
                4: "contracts = 'ten' is not a number"}   # an error whatever its text
    words = vocabulary(Rows(codes, messages), ratio=[0.1, np.nan, np.nan, np.nan, np.nan,
                                                     np.nan, 0.85])
    assert words == ["ok", "no liquidation", "past liquidation",
                     "error: side = 'up': use long or short",
                     "error: contracts = 'ten' is not a number", "", "warning"]
    assert plain("#N/A no tier") == "no tier" and plain("#Fee note") == "#Fee note"
