"""Per-row status codes returned by every kernel.

Kernels never raise: a row they cannot compute gets NaN and one of these codes; the
boundary (``xlhtx.messages``) turns a code into words for the person who typed the row.
Plain module-level ints so Numba freezes them as compile-time constants.
"""

OK = 0
# input errors: the row is wrong as typed
ERR_CONTRACT = 1          # unknown contract code
ERR_SIDE = 2              # side not long/short
ERR_CONTRACTS = 3         # contracts not a finite number > 0
ERR_ENTRY = 4             # entry price not a finite number > 0
ERR_PRICE = 5             # (mark) price not a finite number > 0
ERR_LEVERAGE = 6          # leverage not a finite number > 0
ERR_MARGIN = 7            # margin balance not a finite number > 0
ERR_MODE = 8              # margin mode not isolated/cross
ERR_NO_TIER = 9           # the tier table has no ladder for this contract/mode/leverage
ERR_SIZE_ABOVE_TIERS = 10  # position larger than the last bounded ladder
ERR_LEVER_ABOVE_TIER = 11  # leverage above the tier's maximum (Multi-Assets tables)
ERR_TIER_VALUE = 12       # the ladder's factor/MMR gives MMR outside [0, 1)
ERR_TARGET = 13           # target (price / ROE) not finite or unreachable
ERR_BALANCE = 14          # account balance / equity not a finite number
ERR_ACCOUNT = 15          # another row of the same cross account is invalid
ERR_FEE = 16              # fee rate not finite or outside [0, 1)
ERR_NET = 17              # net contracts not a finite number >= 0
# results that are not errors of input but have no number
NO_LIQUIDATION = 20       # no positive price liquidates it (long at <= 1x, coin short)
LIQUIDATED = 21           # equity <= 0 or liquidated at every price
UNREACHABLE = 22          # target cannot be reached (e.g. ROE needs a price <= 0)

N_CODES = 23
