"""Books by handle: HTX_BOOK holds a positions book, HTX_BOOKCOLUMN reads its columns,
each the number the per-position functions give (or the row's words), and the handle
names the book's content."""

import numpy as np
import pytest

from xlhtx import api
from xlhtx.excel import udfs
from xlhtx.tables import books, metrics

CONTRACTS = ["BTC-USDT", "ETH-USDT", "BTC-USD", "XXX", "SOL-USDT"]
SIDES = ["long", "short", "long", "long", "short"]
QTY = [300, 1500, 500, 1, 50]
ENTRY = [30000, 3120.5, 64000, 1, 142.5]
LEV = [100, 20, 20, 5, 10]
MARK = [29950, 3188.2, 62500, 1, 140]
MARGIN = [None, 250.0, None, None, None]
MODES = ["isolated", "isolated", "isolated", "isolated", "cross"]


def col(values):
    return [[v] for v in values]


@pytest.fixture
def handle():
    return udfs.HTX_BOOK(col(CONTRACTS), col(SIDES), col(QTY), col(ENTRY), col(LEV), col(MARK),
                         col(MARGIN), col(MODES))


def test_a_books_columns_are_the_per_position_functions(handle):
    assert handle.startswith("book ") and handle.endswith(": 5 positions")
    liq = api.liq_price(CONTRACTS, SIDES, QTY, ENTRY, LEV, margin=MARGIN, mode=MODES)
    ratio = api.margin_ratio(CONTRACTS, SIDES, QTY, ENTRY, MARK, LEV, margin=MARGIN,
                             mode=MODES)["margin_ratio"]
    mmr = api.tier(CONTRACTS, LEV, QTY, mode=MODES)["mmr"]
    for column, want in (("liq_price", liq), ("margin_ratio", ratio), ("mmr", mmr)):
        got = udfs.HTX_BOOKCOLUMN([[handle]], [[column]])
        shown = [udfs.shown(want.cell(i)) for i in range(5)]
        assert [r[0] for r in got] == [udfs.NO_EQUITY if v == np.inf else v for v in shown]
    status = udfs.HTX_BOOKCOLUMN([[handle]], [["status"]])
    assert [r[0] for r in status] == [metrics.status(
        c, s, q, e, m, lv, margin=mg, mode=md).cell(0)
        for c, s, q, e, m, lv, mg, md in zip(CONTRACTS, SIDES, QTY, ENTRY, MARK, LEV, MARGIN, MODES)]
    assert status[3][0].startswith("error: contract 'XXX' is not in the contract table")


def test_the_handle_names_the_content(handle):
    again = udfs.HTX_BOOK(col(CONTRACTS), col(SIDES), col(QTY), col(ENTRY), col(LEV),
                          col(MARK), col(MARGIN), col(MODES))
    edited = udfs.HTX_BOOK(col(CONTRACTS), col(SIDES), col([301] + QTY[1:]), col(ENTRY),
                           col(LEV), col(MARK), col(MARGIN), col(MODES))
    assert again == handle != edited
    assert udfs.HTX_BOOKCOLUMN([[edited]], [["notional"]])[0][0] == \
        float(api.notional("BTC-USDT", 301, 29950))


def test_a_book_column_says_what_is_wrong(handle):
    with pytest.raises(udfs.UdfError, match="column = 'nope': one of notional, "):
        udfs.HTX_BOOKCOLUMN([[handle]], [["nope"]])
    with pytest.raises(udfs.UdfError, match="book 0123456789abcdef is not loaded .*Ctrl\\+Alt\\+F9"):
        udfs.HTX_BOOKCOLUMN([["book 0123456789abcdef: 3 positions"]], [["status"]])
    with pytest.raises(udfs.UdfError, match="give the cell holding HTX_BOOK's handle"):
        udfs.HTX_BOOKCOLUMN([["tiers abc"]], [["status"]])
    no_mark = udfs.HTX_BOOK(col(CONTRACTS[:2]), col(SIDES[:2]), col(QTY[:2]), col(ENTRY[:2]),
                            col(LEV[:2]))
    with pytest.raises(udfs.UdfError, match="no mark_price, so it has no margin_ratio"):
        udfs.HTX_BOOKCOLUMN([[no_mark]], [["margin_ratio"]])


def test_books_are_computed_once_and_only_the_last_few_kept():
    handle = udfs.HTX_BOOK(col(CONTRACTS), col(SIDES), col([7] + QTY[1:]), col(ENTRY),
                           col(LEV), col(MARK))
    held = books._held(handle)
    assert held.result is None
    udfs.HTX_BOOKCOLUMN([[handle]], [["liq_price"]])
    first = held.result
    udfs.HTX_BOOKCOLUMN([[handle]], [["equity"]])
    assert held.result is first          # one kernel pass serves every column
    for k in range(books.CACHE_SIZE):
        udfs.HTX_BOOK(col(["BTC-USDT"]), col(["long"]), col([k + 1]), col([30000]), col([10]))
    with pytest.raises(udfs.UdfError, match="is not loaded"):
        udfs.HTX_BOOKCOLUMN([[handle]], [["liq_price"]])
    assert np.isfinite(first[0]["liq_price"][1])
