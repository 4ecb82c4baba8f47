"""The status table: every code a kernel or the boundary sets has one entry, and what the
entry says holds — input errors name their argument and rule, error words read as Excel
errors, results without a number do not, and ``Result.is_error`` comes from the code."""

import numpy as np

from htxcore import status as st
from xlhtx import api, udfs
from xlhtx.statuses import BOUND, ERROR, RESULT, TABLE, TINY, is_error


def test_every_code_has_one_entry():
    kernel_codes = {v for k, v in vars(st).items() if k.isupper() and isinstance(v, int)
                    and k not in ("N_CODES",)}
    assert kernel_codes | {api.EMPTY, api.INPUT, api.RANGE} == set(TABLE)


def test_entries_say_what_their_code_means():
    for code, s in TABLE.items():
        if code in st.ARGUMENT:
            assert s.severity == ERROR and s.argument == st.ARGUMENT[code]
            assert s.rule or code == st.ERR_CONTRACT, code
        if s.words:
            # Excel's convention: an error reads like one (#VALUE!, #N/A, #NUM!), a result
            # without a number does not
            assert s.words.startswith("#") == (s.severity == ERROR), code
    assert (BOUND, TINY) == ("1e15", "1e-12")      # the kernels' bounds, as rules say them
    assert "from 1e-12 to below 1e15" in TABLE[st.ERR_CONTRACTS].rule


def test_is_error_comes_from_the_status_not_the_text():
    r = api.liq_price(["BTC-USDT", "BTC-USDT", "NOPE", None], ["long"] * 3 + [None],
                      [100] * 3 + [None], [30000] * 3 + [None], [1, 50, 10, None],
                      tiers="legacy")
    assert r.is_error.tolist() == [False, False, True, False]   # no liquidation is a result
    assert TABLE[int(r.status[0])].severity == RESULT and r.status[3] == api.EMPTY
    assert udfs.HTX_LIQPRICE("BTC-USDT", "long", 100, 30000, 1) == "no liquidation"
    assert is_error(np.array([st.OK, st.UNREACHABLE, api.INPUT, api.EMPTY])).tolist() == [
        False, True, True, False]
