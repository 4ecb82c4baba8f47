"""Per-row status codes returned by every kernel, one meaning each.

Kernels never raise: a row they cannot compute gets NaN and one of these codes; the
boundary (``xlhtx.messages``) turns a code into words for the person who typed the row.
An input error names *which input* failed: each ``ERR_*`` below belongs to one argument
(``ARGUMENT`` gives its name as the Excel functions spell it), so a message needs no
per-call map. Plain module-level ints, so Numba freezes them as compile-time constants.
"""

OK = 0
# input errors: the row is wrong as typed (one argument each)
ERR_CONTRACT = 1          # contract: unknown contract code
ERR_SIDE = 2              # side: not long/short
ERR_CONTRACTS = 3         # contracts: not a finite number > 0
ERR_ENTRY = 4             # entry_price: not a finite number > 0
ERR_PRICE = 5             # price: not a finite number > 0
ERR_LEVERAGE = 6          # leverage: not a finite number > 0
ERR_MARGIN = 7            # margin: not a finite number > 0
ERR_MODE = 8              # mode: not isolated/cross
ERR_MARK = 9              # mark_price: not a finite number > 0
ERR_NET = 10              # net_contracts: not a finite number >= 0
ERR_TARGET_PRICE = 11     # target_liq_price: not a finite number > 0
ERR_TARGET_ROE = 12       # target_roe: not a finite number
ERR_BALANCE = 13          # balance: the account balance is not a finite number
ERR_EQUITY = 14           # equity: not a finite number >= 0
ERR_EXEC_PRICE = 15       # exec_price: not a finite number > 0
ERR_FEE = 16              # fee_rate: not finite or outside [0, 1)
ERR_FUND = 17             # fund_balance: not a finite number >= 0
ERR_LIMIT = 18            # position_limit: not a number >= 0
ERR_DISTANCE = 19         # distance: not a finite number > 0
ERR_PNL = 20              # pnl: not a finite number
ERR_NOTIONAL = 21         # notional: not a finite number > 0
ERR_ADJUST = 22           # adjust_factor: not a number from 0 to below the leverage
ERR_FROZEN = 23           # frozen_margin: not a finite number >= 0
# tier look-ups and accounts: the row is fine, the table or the account is not
ERR_NO_TIER = 30          # the tier table has no ladder for this contract/mode/leverage
ERR_SIZE_ABOVE_TIERS = 31  # position larger than the last bounded ladder
ERR_LEVER_ABOVE_TIER = 32  # leverage above the tier's maximum (Multi-Assets tables)
ERR_TIER_VALUE = 33       # the ladder's factor/MMR gives MMR outside [0, 1)
ERR_ACCOUNT = 34          # another row of the same account is invalid
ERR_ISOLATED_CONTRACTS = 35  # an isolated margin account holding more than one contract
ERR_MARKS_DIFFER = 36     # legs of one contract given different mark prices
# results that are not errors of input but have no number
NO_LIQUIDATION = 40       # no positive price liquidates it (long at <= 1x, coin short)
LIQUIDATED = 41           # equity <= maintenance margin already, or at every price
UNREACHABLE = 42          # target cannot be reached (e.g. ROE needs a price <= 0)
NO_POSITION = 43          # a row with no contracts (only frozen order margin)
NOT_APPLICABLE = 44       # a legacy figure (adjustment factor, risk rate) of a risk-limit
                          # contract: HTX's new USDT-M system has none

N_CODES = 45

# the argument each input error belongs to (Excel argument names)
ARGUMENT = {
    ERR_CONTRACT: "contract", ERR_SIDE: "side", ERR_CONTRACTS: "contracts",
    ERR_ENTRY: "entry_price", ERR_PRICE: "price", ERR_LEVERAGE: "leverage",
    ERR_MARGIN: "margin", ERR_MODE: "mode", ERR_MARK: "mark_price",
    ERR_NET: "net_contracts", ERR_TARGET_PRICE: "target_liq_price",
    ERR_TARGET_ROE: "target_roe", ERR_BALANCE: "balance", ERR_EQUITY: "equity",
    ERR_EXEC_PRICE: "exec_price", ERR_FEE: "fee_rate", ERR_FUND: "fund_balance",
    ERR_LIMIT: "position_limit", ERR_DISTANCE: "distance", ERR_PNL: "pnl",
    ERR_NOTIONAL: "notional", ERR_ADJUST: "adjust_factor", ERR_FROZEN: "frozen_margin",
}
