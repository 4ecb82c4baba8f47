"""HTX account and position responses -> a positions table with our figures beside HTX's.

Reads the raw JSON (HTX API references, docs/maths.md "Margin accounts"), one file or
several files of one moment together:

* accounts with their positions: ``swap_account_position_info`` (USDT- and coin-margined
  isolated: one account per contract), ``swap_cross_account_position_info`` (one account
  per margin asset, ``contract_detail`` / ``futures_contract_detail`` per contract),
  ``contract_account_position_info`` (coin-margined delivery futures, one account per
  coin);
* accounts alone: ``swap_account_info``, ``swap_sub_account_info``,
  ``swap_cross_account_info``, ``swap_cross_sub_account_info``, ``contract_account_info``,
  the websocket ``accounts`` / ``accounts_cross`` pushes and
  ``linear-swap-api/v3/unified_account_info`` (``cross_swap``, ``cross_future``,
  ``isolated_swap``): HTX's figures kept, one row per contract;
* positions alone: ``swap_position_info``, ``swap_cross_position_info``,
  ``contract_position_info`` and the ``positions`` pushes.

Positions are joined to the account they belong to (isolated: its contract; cross: its
margin account; delivery: its coin), so an account file and a positions file of one
moment compute together. A position with no account is not computed (its balance, which
holds added margin, fees and realized PnL, is nowhere in the response) and an account with
no positions keeps HTX's figures only; each row says which response to add. Every leg's
``position_margin`` is checked against the contract size used (HTX prints it as
volume x size x price / leverage): a size that does not give it back is named, with
``--contracts``, instead of computed.

Each account goes through the account kernel (``htxcore.account``) with HTX's own
``adjust_factor``, the cost basis ``cost_hold`` and HTX's locked margin for hedged pairs
at the response's ``ts``. These are responses of HTX's adjustment-factor system: a contract
the tier table has on risk-limit tiers (USDT-M today) is taken on the legacy snapshot's
ladders here. Responses of the new USDT-M system (v5) are read by ``xlhtx.htx.v5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from xlhtx import api
from xlhtx.coerce import parse_number
from xlhtx.errors import XlhtxError
from xlhtx.reference.contracts import Contract
from xlhtx.reference.tables import TableError, api_data
from xlhtx.reference.snapshot import snapshot
from xlhtx.reference.tiers import RISK_LIMIT, TierTable

COLUMNS = ("margin_account", "margin_mode", "contract", "side", "contracts", "entry_price",
           "cost_hold", "mark_price", "leverage", "adjust_factor", "position_margin",
           "margin_balance", "liq_price", "htx_liq_price", "liq_price_diff", "margin_ratio",
           "risk_rate", "htx_risk_rate", "status")
TEXT_COLUMNS = ("margin_account", "margin_mode", "contract", "side", "status")
# HTX prints position_margin to 8-18 digits; a wrong contract size is off by a factor
SIZE_AGREE = 1e-6
# files of "one moment" further apart than this are said to be so
MOMENT_SECONDS = 5.0
ADD_ACCOUNT = ("add the account response of the same moment (swap_account_info, "
               "swap_cross_account_info, contract_account_info or the accounts push)")
ADD_POSITIONS = ("add the positions response of the same moment (swap_position_info, "
                 "swap_cross_position_info, contract_position_info or the positions push)")


@dataclass
class Leg:
    contract: str
    side: str
    contracts: float
    cost_open: float | None
    cost_hold: float | None
    mark: float | None
    leverage: float | None
    position_margin: float | None
    frozen: float = 0.0
    adjust_factor: float | None = None
    htx_liq: float | None = None
    output: bool = True            # False: a contract that only holds order margin
    owner: tuple = ()              # positions-only: keys of the account it belongs to
    issue: str | None = None       # why this leg's account is not computed (its size)


@dataclass
class Detail:
    """One contract of an account response without positions: HTX's figures."""
    contract: str
    leverage: float | None
    adjust_factor: float | None
    htx_liq: float | None
    frozen: float


@dataclass
class Account:
    name: str
    mode: str                      # isolated | cross
    balance: float | None          # static balance (before unrealized PnL)
    margin_balance: float | None   # HTX's margin_balance
    htx_risk: float | None
    legs: list[Leg] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: tuple = ()               # what positions name it by (margin account, code, coin)
    details: list[Detail] = field(default_factory=list)   # an account-only response
    ts: float | None = None        # HTX's ts (ms) of the response
    positions_only: bool = False


# ------------------------------------------------------------------------- parsing


def parse_accounts(payload: Any) -> list[Account]:
    """The margin accounts of an HTX account or position response."""
    _refuse_copy_trading(payload)
    ts = htx_number(payload.get("ts")) if isinstance(payload, dict) else None
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
        payload = dict(payload, data=[payload["data"]])
    out: list[Account] = []
    for n, item in enumerate(api_data(payload, "positions"), start=1):
        if not isinstance(item, dict):
            raise TableError(f"positions: entry {n} of data is not an object")
        if any(isinstance(item.get(k), list) for k in UNIFIED):
            out.extend(_unified(item, n))
        elif isinstance(item.get("positions"), list) or _is_account(item):
            out.append(_account(item, n))
        else:
            out.append(_positions_only(item, n))
    for acc in out:
        acc.ts = ts
    return out


ACCOUNT_FIELDS = ("margin_balance", "margin_static", "risk_rate", "margin_available",
                  "withdraw_available", "contract_detail", "futures_contract_detail")
UNIFIED = ("cross_swap", "cross_future", "isolated_swap")


def _is_account(item: dict) -> bool:
    return any(k in item for k in ACCOUNT_FIELDS) and "direction" not in item


def _refuse_copy_trading(payload: Any) -> None:
    """HTX's copy-trading ``/copytrading/trader/position_list`` (``data.positions`` with
    ``lever``/``position_side``) carries no account: refused by name."""
    data = payload.get("data") if isinstance(payload, dict) else None
    rows = data.get("positions") if isinstance(data, dict) else None
    if isinstance(rows, list) and any(isinstance(r, dict) and "lever" in r
                                      and "lever_rate" not in r for r in rows):
        raise TableError("a copy-trading position list (/copytrading/trader/position_list): "
                         "it carries no account balance, so xlhtx cannot compute its "
                         "positions; import the trader's own account responses "
                         "(/v5/trade/position/opens with /v5/account/balance)")


def _keys(item: dict) -> tuple:
    """The names positions give their account: its margin account (USDT-M), contract
    (isolated) or coin (delivery, coin-margined cross)."""
    for k in ("margin_account", "contract_code", "symbol"):
        v = item.get(k)
        if isinstance(v, str) and v.strip():
            return (v.strip().upper(),)
    return ()


def _account(item: dict, n: int) -> Account:
    details = [d for key in ("contract_detail", "futures_contract_detail")
               for d in (item.get(key) or []) if isinstance(d, dict)]
    mode = _mode(item.get("margin_mode") or (details and "cross") or "isolated", n)
    name = str(item.get("margin_account") or item.get("contract_code") or item.get("symbol")
               or f"account {n}")
    acc = Account(name, mode, None, htx_number(item.get("margin_balance")),
                  htx_number(item.get("risk_rate")), keys=_keys(item))
    per_contract = {str(d.get("contract_code", "")).upper(): d for d in details}
    account_af = htx_number(item.get("adjust_factor"))
    positions = item.get("positions")
    if positions is None:   # an account response alone: its positions come from a file
        acc.details = _details(item, details)    # of the same moment (``join``)
    elif not isinstance(positions, list):
        raise TableError(f"positions: account {name}: 'positions' is not a list")
    for p in positions or []:
        if not isinstance(p, dict):
            raise TableError(f"positions: account {name}: a position is not an object")
        leg = _leg(p, item)
        d = per_contract.get(leg.contract, {})
        leg.adjust_factor = htx_number(d.get("adjust_factor")) if d else account_af
        leg.leverage = htx_number(d.get("lever_rate")) or leg.leverage
        leg.htx_liq = htx_number(d.get("liquidation_price")) if d else htx_number(
            p.get("liquidation_price", item.get("liquidation_price")))
        acc.legs.append(leg)
    if positions is not None:
        add_frozen(acc, _details(item, details))
    if not item.get("margin_mode") and len({leg.contract for leg in acc.legs}) > 1:
        # a delivery account holds a coin's weekly, bi-weekly and quarterly contracts in
        # one margin account: each contract moves alone, the others held, as in cross
        acc.mode = "cross"
    acc.balance = _static_balance(item, acc)
    return acc


def _details(item: dict, details: list[dict]) -> list[Detail]:
    """An account response without positions: per contract HTX's figures (the account's
    own when it names one contract)."""
    if details:
        return [_detail_of(d) for d in details]
    return [_detail_of(item)]   # no contract_code (a coin's delivery account): "" = its own


def _detail_of(d: dict) -> Detail:
    """HTX's figures of one contract (or of an account that names none: contract "")."""
    return Detail(str(d.get("contract_code") or "").strip().upper(),
                  htx_number(d.get("lever_rate")),
                  htx_number(d.get("adjust_factor")), htx_number(d.get("liquidation_price")),
                  htx_number(d.get("margin_frozen")) or 0.0)


def _unified(item: dict, n: int) -> list[Account]:
    """``unified_account_info``: one cross account per margin asset (``cross_swap`` and
    ``cross_future`` its contracts) and an isolated account per ``isolated_swap`` entry."""
    asset = str(item.get("margin_asset") or "USDT").upper()
    cross = Account(asset, "cross", None, htx_number(item.get("margin_balance")),
                    htx_number(item.get("cross_risk_rate")), keys=(asset,))
    cross.details = [_detail_of(d) for k in ("cross_swap", "cross_future")
                     for d in item.get(k) or [] if isinstance(d, dict)]
    cross.balance = _first_num(item, "cross_margin_static", "margin_static")
    out = [cross] if cross.details else []
    for d in item.get("isolated_swap") or []:
        if isinstance(d, dict):
            code = str(d.get("contract_code", "")).upper()
            iso = Account(code, "isolated", None, htx_number(d.get("margin_balance")),
                          htx_number(d.get("risk_rate")), keys=(code,))
            iso.details = [_detail_of(d)]
            iso.balance = _static_balance(d, iso)
            out.append(iso)
    if not out:
        raise TableError(f"positions: entry {n}: a unified account ({asset}) with no "
                         "contract in cross_swap, cross_future or isolated_swap")
    return out


def _leg(p: dict, account: dict) -> Leg:
    code = p.get("contract_code", account.get("contract_code"))
    if not isinstance(code, str) or not code.strip():
        raise TableError(f"positions: a position has no contract_code (got {code!r})")
    direction = str(p.get("direction", "")).strip().lower()
    side = {"buy": "long", "sell": "short"}.get(direction, direction)
    if side not in ("long", "short"):
        raise TableError(f"positions: {code}: direction {p.get('direction')!r}; expected "
                         "buy or sell")
    volume = htx_number(p.get("volume"))
    if volume is None or volume < 0:
        raise TableError(f"positions: {code}: volume {p.get('volume')!r} is not a number of "
                         "contracts")
    for key in ("lever_rate", "cost_open", "cost_hold", "last_price", "position_margin"):
        if p.get(key) not in (None, "") and htx_number(p.get(key)) is None:
            raise TableError(f"positions: {code}: {key} {p.get(key)!r} is not a number")
    return Leg(code.strip().upper(), side, volume,
               htx_number(p.get("cost_open")), htx_number(p.get("cost_hold")),
               htx_number(p.get("last_price")),
               htx_number(p.get("lever_rate")) or htx_number(account.get("lever_rate")),
               htx_number(p.get("position_margin")))


def _static_balance(item: dict, acc: Account) -> float | None:
    """HTX's ``margin_static``; else ``margin_balance`` less the unrealized PnL."""
    static = htx_number(item.get("margin_static"))
    if static is not None:
        return static
    if acc.margin_balance is None:
        return None
    unreal = htx_number(item.get("profit_unreal"))
    if unreal is None:
        unreal = sum(htx_number(p.get("profit_unreal")) or 0.0 for p in item.get("positions") or []
                     if isinstance(p, dict))
        acc.notes.append("no margin_static: balance = margin_balance - positions' "
                         "profit_unreal")
    return acc.margin_balance - unreal


def _positions_only(p: dict, n: int) -> Account:
    leg = _leg(p, {})
    leg.htx_liq = htx_number(p.get("liquidation_price"))
    leg.adjust_factor = htx_number(p.get("adjust_factor"))
    mode = _mode(p.get("margin_mode") or "isolated", n)
    owner = tuple(str(p[k]).strip().upper() for k in ("margin_account", "contract_code", "symbol")
                  if isinstance(p.get(k), str) and p[k].strip())
    parts = leg.contract.split("-")
    if mode == "cross" and len(parts) > 1 and parts[1] in ("USDT", "USDC"):
        owner += (parts[1],)   # a USDT-M cross position's margin account is its asset
    leg.owner = owner
    return Account(f"{leg.contract} position {n}", mode, None, None, None, [leg],
                   keys=owner[:1], positions_only=True)


def _first_num(item: dict, *keys: str) -> float | None:
    return next((x for x in (htx_number(item.get(k)) for k in keys) if x is not None), None)


def _mode(v: Any, n: int) -> str:
    m = str(v).strip().lower()
    if m not in ("isolated", "cross"):
        raise TableError(f"positions: entry {n}: margin_mode {v!r}; expected isolated "
                         "or cross")
    return m


def htx_number(v: Any) -> float | None:
    """HTX's number (often text, "0E-18"); a text the way a cell reads it ("1,000");
    None for absent or unreadable."""
    if v is None or isinstance(v, bool):
        return None
    try:
        x = parse_number(v) if isinstance(v, str) else float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


# ------------------------------------------------------------------------- joining


def join(accounts: list[Account]) -> list[Account]:
    """Several files of one moment as one: each positions-only leg moves into the account
    response that names it (an account without positions takes its contracts' adjust
    factor, leverage, liquidation price and frozen margin from its details); what finds no
    partner stays as it is and says which response to add."""
    holders = [a for a in accounts if not a.positions_only and a.details]
    out = [a for a in accounts if not a.positions_only]
    for acc in (a for a in accounts if a.positions_only):
        leg = acc.legs[0]
        home = next((h for h in holders if h.mode == acc.mode and set(leg.owner) & set(h.keys)),
                    None)
        if home is None:
            out.append(acc)
            continue
        d = _detail(home, leg.contract)
        if d is not None:
            leg.adjust_factor = d.adjust_factor if d.adjust_factor is not None \
                else leg.adjust_factor
            leg.leverage = d.leverage or leg.leverage
            leg.htx_liq = d.htx_liq if d.htx_liq is not None else leg.htx_liq
        home.legs.append(leg)
        if acc.ts is not None and home.ts is not None and \
                abs(acc.ts - home.ts) > MOMENT_SECONDS * 1000:
            note = (f"positions and account responses {abs(acc.ts - home.ts) / 1000:,.0f} s "
                    "apart: figures of different moments")
            if note not in home.notes:
                home.notes.append(note)
    for acc in holders:
        if acc.legs:
            add_frozen(acc, acc.details)
            acc.details = []
    return out


def _detail(acc: Account, code: str) -> Detail | None:
    """The detail of ``code``, else the account's own (a response naming no contract)."""
    return next((d for d in acc.details if d.contract == code), None) or \
        next((d for d in acc.details if not d.contract), None)


def add_frozen(acc: Account, details: list[Detail]) -> None:
    """Frozen order margin onto the legs: per contract (a contract with orders only
    becomes a leg with no contracts, priced at 1: no value and no PnL at any price), an
    account's own (contract "") on its first leg."""
    held = {leg.contract: leg for leg in acc.legs}
    for d in details:
        if not d.contract:
            if acc.legs:
                acc.legs[0].frozen += d.frozen
        elif d.contract in held:
            held[d.contract].frozen += d.frozen
        elif d.frozen > 0:
            acc.legs.append(Leg(d.contract, "long", 0.0, None, 1.0, 1.0, d.leverage, 0.0,
                                d.frozen, d.adjust_factor, output=False))


# ----------------------------------------------------------------------- contracts


def with_contracts_of(accounts: list[Account], table: TierTable) -> TierTable:
    """``table`` with every contract the accounts hold, resolved as everywhere else
    (``TierTable.resolving``: delivery contracts, coin-margined face values). A code
    nothing resolves is an error naming ``--contracts``."""
    codes = {leg.contract for acc in accounts for leg in acc.legs}
    table = table.resolving(codes)
    for code in sorted(codes):
        if table.contract(code) is None:
            raise XlhtxError(f"contract {code}: no contract size known; give it with "
                             "--contracts FILE (columns contract_code, contract_size)")
    return table


def size_issue(leg: Leg, c: Contract) -> str | None:
    """Why HTX's ``position_margin`` of a leg says the contract size is not ``c.size``
    (HTX prints volume x size x price / leverage at the latest price; some files print it
    at the cost), or None when it agrees or cannot be checked."""
    pm, q, lever = leg.position_margin, leg.contracts, leg.leverage
    if not pm or not q or not lever or pm <= 0 or q <= 0:
        return None
    prices = [x for x in (leg.mark, leg.cost_hold, leg.cost_open) if x and x > 0]
    if not prices:
        return None
    implied = [pm * lever / (q * p) if c.kind == "linear" else pm * lever * p / q
               for p in prices]
    if any(abs(x - c.size) <= SIZE_AGREE * c.size for x in implied):
        return None
    unit = "" if c.kind == "linear" else " USD"
    return (f"contract size: HTX's position_margin {pm:,.8g} needs a size of "
            f"{implied[0]:.6g}{unit} per contract, the table has {c.size:g}{unit} "
            f"({implied[0] / c.size:.3g}x); give {leg.contract}'s size with --contracts FILE")


# --------------------------------------------------------------------- computing


def legacy_rules(tiers: TierTable) -> TierTable:
    """``tiers`` with its risk-limit contracts on the legacy snapshot's adjustment-factor
    ladders: a legacy (v1) response was margined by those rules."""
    moved = {c for c, system in tiers.systems.items() if system == RISK_LIMIT}
    if not moved:
        return tiers
    ladders = [x for x in tiers.ladders if x.contract not in moved] + \
        [x for x in snapshot("legacy").ladders if x.contract in moved]
    return TierTable(dict(tiers.contracts), ladders, tiers.source, tiers.as_of,
                     tiers.ladder_margin).validated()


def compare(accounts: list[Account], tiers: TierTable) -> dict[str, list]:
    """One row per position: the position, our figures and HTX's, and a status; one row
    per contract of an account given without its positions (HTX's figures)."""
    accounts = join(accounts)
    _refuse_duplicates(accounts)
    table = with_contracts_of(accounts, legacy_rules(tiers))
    for acc in accounts:
        issues = [size_issue(leg, table.contract(leg.contract)) for leg in acc.legs]
        bad = [m for m in issues if m]
        if bad:   # one leg's size is wrong: the account's totals are
            acc.balance = None
            for leg, issue in zip(acc.legs, issues):
                leg.issue = issue or "not computed: " + bad[0]
    computed = [acc for acc in accounts if _computable(acc)]
    priced = [(i, leg) for i, acc in enumerate(accounts) if _computable(acc) for leg in acc.legs]
    stamps = [acc.ts for acc in computed if acc.ts is not None]
    figures = iter(_compute(accounts, priced, table, max(stamps) if stamps else None))
    out: dict[str, list] = {c: [] for c in COLUMNS}
    for acc in accounts:
        if acc.details and not acc.legs:
            for d in acc.details:
                _emit(out, _detail_row(acc, d))
            continue
        orders_only = not any(leg.output for leg in acc.legs)
        for leg in acc.legs:
            got = next(figures) if _computable(acc) else {}
            if leg.output or orders_only:
                _emit(out, _leg_row(acc, leg, got))
    return out


def _refuse_duplicates(accounts: list[Account]) -> None:
    """HTX lists a contract's long and short once each per account: a second copy means
    files pasted or given twice, and summing it would double the position."""
    for acc in accounts:
        seen = set()
        for leg in acc.legs:
            key = (leg.contract, leg.side)
            if leg.output and key in seen:
                raise TableError(f"positions: {leg.contract} {leg.side} appears twice in "
                                 f"account {acc.name}; HTX lists each contract and side once "
                                 "(was a file given twice, or pasted together?)")
            seen.add(key)


def _computable(acc: Account) -> bool:
    return acc.balance is not None and bool(acc.legs) and not acc.positions_only


def _emit(out: dict[str, list], row: dict) -> None:
    for c in COLUMNS:
        out[c].append(row.get(c))


def _detail_row(acc: Account, d: Detail) -> dict:
    return {"margin_account": acc.name, "margin_mode": acc.mode,
            "contract": d.contract or acc.name, "leverage": d.leverage,
            "adjust_factor": d.adjust_factor, "margin_balance": acc.margin_balance,
            "htx_liq_price": d.htx_liq, "htx_risk_rate": acc.htx_risk,
            "status": "; ".join(["account only: HTX's figures kept, ours need its positions: "
                                 + ADD_POSITIONS, *acc.notes])}


def _leg_row(acc: Account, leg: Leg, got: dict) -> dict:
    ours = got.get("liq_price")
    notes = list(acc.notes)
    if not leg.output:
        notes.insert(0, f"no position: open orders only ({leg.frozen:,.8g} frozen margin)")
    if acc.positions_only:
        notes.insert(0, "not computed: a positions-only response has no account balance "
                        "(margin_static), which holds added margin, fees and realized PnL, "
                        "so no estimate can be bounded; " + ADD_ACCOUNT)
    elif leg.issue:
        notes.insert(0, leg.issue)
    elif acc.balance is None:
        notes.insert(0, "not computed: the account response has no margin_static or "
                        "margin_balance")
    return {
        "margin_account": acc.name, "margin_mode": acc.mode, "contract": leg.contract,
        "side": leg.side if leg.output else None, "contracts": leg.contracts,
        "entry_price": leg.cost_open,
        "cost_hold": leg.cost_hold if leg.output else None,
        "mark_price": leg.mark if leg.output else None, "leverage": leg.leverage,
        "adjust_factor": leg.adjust_factor, "position_margin": leg.position_margin,
        "margin_balance": acc.margin_balance if acc.margin_balance is not None
        else got.get("equity"),
        "liq_price": ours, "htx_liq_price": leg.htx_liq,
        "liq_price_diff": None if ours is None or leg.htx_liq is None else ours - leg.htx_liq,
        "margin_ratio": got.get("margin_ratio"), "risk_rate": got.get("risk_rate"),
        "htx_risk_rate": acc.htx_risk,
        "status": "; ".join(dict.fromkeys([*filter(None, [got.get("status")]), *notes])),
    }


def _compute(accounts: list[Account], legs: list, table: TierTable,
             as_of: float | None) -> list[dict]:
    if not legs:
        return []
    ids = sorted({i for i, _ in legs})
    index = {i: j for j, i in enumerate(ids)}
    modes = [1 if accounts[i].mode == "cross" else 0 for i in ids]
    balances = [accounts[i].balance for i in ids]
    col = lambda f: [f(leg) for _, leg in legs]  # noqa: E731
    basis = lambda g: g.cost_hold if g.cost_hold is not None else g.cost_open  # noqa: E731
    res = api.accounts(
        [index[i] for i, _ in legs], modes, balances, col(lambda g: g.contract),
        col(lambda g: g.side), col(lambda g: g.contracts), col(basis),
        col(lambda g: g.mark if g.mark is not None else basis(g)),
        col(lambda g: g.leverage), adjust_factor=col(lambda g: g.adjust_factor), frozen_margin=col(lambda g: g.frozen),
        tiers=table, as_of=as_of)
    liq = res["liq_price"]
    ok = liq.ok
    out = []
    for r, (_, leg) in enumerate(legs):
        got = {k: v.cell(r) for k, v in res.items()}
        got = {k: c if isinstance(c, float) else None for k, c in got.items()}
        status = "" if ok[r] else str(liq.cell(r) or "")
        if not status and leg.cost_hold is None:
            status = "approximate: no cost_hold, PnL measured from cost_open"
        got["status"] = status
        out.append(got)
    return out
