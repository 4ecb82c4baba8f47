"""The status table: every per-row status code with the argument it belongs to, the rule
its check enforces, its severity and, where it reads the same on every row, its words.

The kernels set the codes (``htxcore.status``; three more are set here at the boundary:
an empty row, a cell that could not be read, a result out of range). Everything that
words a status or asks whether it is an error reads this table: ``xlhtx.messages``
(the words), ``xlhtx.api`` (``Result.is_error``), the Excel functions (a single cell
that is an error fails; one that is a result shows its words) and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htxcore import status as st
from htxcore.position import MAX_INPUT, MIN_INPUT

# set at the boundary, never by a kernel
EMPTY = 100   # every required argument of the row was empty
INPUT = 101   # a value could not be read (text in a number cell, ...)
RANGE = 102   # the inputs are valid one by one but the result overflows float64

# the input bounds as the rules say them ("1e15"), from the kernels' own constants
BOUND = f"{MAX_INPUT:.0e}".replace("e+", "e")
TINY = f"{MIN_INPUT:.0e}"
BELOW = f"below {BOUND}"
POSITIVE = f"from {TINY} to below {BOUND}"

OK, ERROR, RESULT, BLANK = "ok", "error", "result", "blank"


@dataclass(frozen=True)
class Status:
    code: int
    severity: str                 # ok, error, result (no number, not a mistake), blank
    argument: str | None = None   # the Excel argument an input error belongs to
    rule: str | None = None       # what a valid value is (input errors)
    words: str | None = None      # the message, where it is the same on every row


def _input(code: int, rule: str) -> Status:
    return Status(code, ERROR, st.ARGUMENT[code], rule)


TABLE: dict[int, Status] = {s.code: s for s in (
    Status(st.OK, OK),
    Status(st.ERR_CONTRACT, ERROR, "contract"),   # worded with the table's codes
    _input(st.ERR_SIDE, "use long or short (buy/sell, 1/-1)"),
    _input(st.ERR_CONTRACTS, f"must be a number {POSITIVE}"),
    _input(st.ERR_ENTRY, f"must be a price {POSITIVE}"),
    _input(st.ERR_PRICE, f"must be a price {POSITIVE}"),
    _input(st.ERR_MARK, f"must be a price {POSITIVE}"),
    _input(st.ERR_LEVERAGE, f"must be a number {POSITIVE}"),
    _input(st.ERR_MARGIN, f"must be {POSITIVE} (leave it empty for the initial margin)"),
    _input(st.ERR_MODE, "use isolated or cross"),
    _input(st.ERR_NET, "must be a number >= 0"),
    _input(st.ERR_TARGET_PRICE, f"must be a price {POSITIVE}"),
    _input(st.ERR_TARGET_ROE, "must be a finite number (0.5 = +50%)"),
    _input(st.ERR_BALANCE, "must be a finite number"),
    _input(st.ERR_EQUITY, "must be a number >= 0"),
    _input(st.ERR_EXEC_PRICE, f"must be a price {POSITIVE}"),
    _input(st.ERR_FEE, "must be a rate from 0 to below 1 (e.g. 0.0005)"),
    _input(st.ERR_FUND, "must be a number >= 0 (leave it empty when unknown)"),
    _input(st.ERR_LIMIT, "must be a number of contracts >= 0 (leave it empty for no limit)"),
    _input(st.ERR_DISTANCE, f"must be a fraction of the entry price from {TINY} (0.1 = 10%)"),
    _input(st.ERR_PNL, "must be a finite number"),
    _input(st.ERR_NOTIONAL, f"must be a number {POSITIVE}"),
    _input(st.ERR_ADJUST, "must be a number from 0 to below the leverage (leave it empty to "
                          "take it from the tier table)"),
    _input(st.ERR_FROZEN, "must be a number >= 0"),
    # tier look-ups: worded with the row's contract, mode and size (xlhtx.messages)
    Status(st.ERR_NO_TIER, ERROR),
    Status(st.ERR_SIZE_ABOVE_TIERS, ERROR),
    Status(st.ERR_LEVER_ABOVE_TIER, ERROR),
    Status(st.ERR_TIER_VALUE, ERROR),
    Status(st.ERR_ACCOUNT, ERROR, words="#N/A another position of this account is invalid; "
                                        "fix that row first"),
    Status(st.ERR_ISOLATED_CONTRACTS, ERROR, words="#VALUE! an isolated margin account holds "
                                                   "one contract; give each contract its own "
                                                   "account"),
    Status(st.ERR_MARKS_DIFFER, ERROR, "mark_price",
           words="#VALUE! mark_price: the legs of one contract move with one price; give "
                 "them the same mark price"),
    Status(st.NO_LIQUIDATION, RESULT,
           words="no liquidation: the margin covers the position at any price"),
    Status(st.LIQUIDATED, RESULT,
           words="liquidated: equity is at or below the maintenance margin"),
    Status(st.UNREACHABLE, ERROR, words="#N/A the target needs a price <= 0: unreachable"),
    Status(st.NO_POSITION, RESULT, words="no position: this row holds only order margin"),
    Status(st.NOT_APPLICABLE, RESULT,
           words="n/a: risk-limit tiers (HTX's USDT-M system since 2026) have no adjustment "
                 "factor or risk rate; see the MMR and the margin ratio"),
    Status(EMPTY, BLANK),
    Status(INPUT, ERROR),   # worded by the coercion, naming the cell that could not be read
    Status(RANGE, ERROR, words="#NUM! the result is out of range: the inputs are too large"),
)}

RULES = {c: s.rule for c, s in TABLE.items() if s.rule}
# results without a number that read the same on every row (the kernels' 40s)
NO_NUMBER = {c: s.words for c, s in TABLE.items() if st.NO_LIQUIDATION <= c < st.N_CODES}
ERROR_CODES = np.array(sorted(c for c, s in TABLE.items() if s.severity == ERROR))
_ERRORS = np.zeros(max(TABLE) + 1, dtype=bool)   # code -> error? (one look-up per row)
_ERRORS[ERROR_CODES] = True


def is_error(codes: np.ndarray) -> np.ndarray:
    """Per row: is its status an error (as opposed to a number, a result without a
    number such as "no liquidation", or an empty row)."""
    return _ERRORS[np.asarray(codes, dtype=np.intp)]


# the error values a message starts with, as Excel shows them in a cell
EXCEL_ERRORS = ("#VALUE!", "#N/A", "#NUM!")


def excel_error(message: str) -> tuple[str | None, str]:
    """The Excel error value a message starts with and its words (``#N/A no tier ...``
    -> ``("#N/A", "no tier ...")``); (None, message) when it starts with none."""
    head, _, rest = message.partition(" ")
    return (head, rest) if head in EXCEL_ERRORS else (None, message)


def plain(message: str) -> str:
    """A message without the Excel error value it starts with: the words, for a table
    whose status column says "error" itself."""
    return excel_error(message)[1]
