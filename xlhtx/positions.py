"""HTX account and position responses -> a positions table with our figures beside HTX's.

Reads the raw JSON of (HTX API references, docs/maths.md "Margin accounts"):

* ``swap_account_position_info`` (USDT- and coin-margined, isolated): ``data`` is a list
  of accounts, one per contract, each with ``margin_static``, ``margin_balance``,
  ``margin_frozen``, ``adjust_factor``, ``lever_rate``, ``risk_rate``,
  ``liquidation_price`` and its ``positions``;
* ``swap_cross_account_position_info``: ``data`` is one account object (or a list of
  them) per margin asset, with ``contract_detail`` / ``futures_contract_detail`` (per
  contract: ``adjust_factor``, ``lever_rate``, ``margin_frozen``,
  ``liquidation_price``) and ``positions``;
* ``contract_account_position_info`` (coin-margined delivery futures): like the first,
  one account per coin;
* ``swap_position_info`` / ``swap_cross_position_info``: positions only. Isolated margin
  is then approximated by ``position_margin`` (said in ``status``); a cross position
  needs its account.

Each account goes through the account kernel (``htxcore.account``) with HTX's own
``adjust_factor`` and the cost basis ``cost_hold``. These are responses of HTX's
adjustment-factor system: a contract the tier table has on risk-limit tiers (USDT-M
today) is taken on the legacy snapshot's ladders here. Responses of the new USDT-M
system (v5) are read by ``xlhtx.positions_v5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from xlhtx import api
from xlhtx.errors import XlhtxError
from xlhtx.reference.contracts import Contract, default_size, infer_kind
from xlhtx.reference.tables import TableError, api_data
from xlhtx.reference.snapshot import snapshot
from xlhtx.reference.tiers import RISK_LIMIT, TierTable

COLUMNS = ("margin_account", "margin_mode", "contract", "side", "contracts", "entry_price",
           "cost_hold", "mark_price", "leverage", "adjust_factor", "position_margin",
           "margin_balance", "liq_price", "htx_liq_price", "liq_price_diff", "margin_ratio",
           "risk_rate", "htx_risk_rate", "status")
TEXT_COLUMNS = ("margin_account", "margin_mode", "contract", "side", "status")


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


@dataclass
class Account:
    name: str
    mode: str                      # isolated | cross
    balance: float | None          # static balance (before unrealized PnL)
    margin_balance: float | None   # HTX's margin_balance
    htx_risk: float | None
    legs: list[Leg] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------- parsing


def parse_accounts(payload: Any) -> list[Account]:
    """The margin accounts of an HTX account or position response."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
        payload = dict(payload, data=[payload["data"]])
    out = []
    for n, item in enumerate(api_data(payload, "positions"), start=1):
        if not isinstance(item, dict):
            raise TableError(f"positions: entry {n} of data is not an object")
        if isinstance(item.get("positions"), list) or "margin_balance" in item:
            out.append(_account(item, n))
        else:
            out.append(_positions_only(item, n))
    return out


def _account(item: dict, n: int) -> Account:
    details = [d for key in ("contract_detail", "futures_contract_detail")
               for d in (item.get(key) or []) if isinstance(d, dict)]
    mode = _mode(item.get("margin_mode") or (details and "cross") or "isolated", n)
    name = str(item.get("margin_account") or item.get("contract_code") or item.get("symbol")
               or f"account {n}")
    acc = Account(name, mode, None, _num(item.get("margin_balance")),
                  _num(item.get("risk_rate")))
    per_contract = {str(d.get("contract_code", "")).upper(): d for d in details}
    account_af = _num(item.get("adjust_factor"))
    positions = item.get("positions") or []
    if not isinstance(positions, list):
        raise TableError(f"positions: account {name}: 'positions' is not a list")
    for p in positions:
        if not isinstance(p, dict):
            raise TableError(f"positions: account {name}: a position is not an object")
        leg = _leg(p, item)
        d = per_contract.get(leg.contract, {})
        leg.adjust_factor = _num(d.get("adjust_factor")) if d else account_af
        leg.leverage = _num(d.get("lever_rate")) or leg.leverage
        leg.htx_liq = _num(d.get("liquidation_price")) if d else _num(
            p.get("liquidation_price", item.get("liquidation_price")))
        acc.legs.append(leg)
    _frozen(acc, item, per_contract)
    if not item.get("margin_mode") and len({leg.contract for leg in acc.legs}) > 1:
        # a delivery account holds a coin's weekly, bi-weekly and quarterly contracts in
        # one margin account: each contract moves alone, the others held, as in cross
        acc.mode = "cross"
    acc.balance = _static_balance(item, acc)
    return acc


def _leg(p: dict, account: dict) -> Leg:
    code = p.get("contract_code", account.get("contract_code"))
    if not isinstance(code, str) or not code.strip():
        raise TableError(f"positions: a position has no contract_code (got {code!r})")
    direction = str(p.get("direction", "")).strip().lower()
    side = {"buy": "long", "sell": "short"}.get(direction, direction)
    return Leg(code.strip().upper(), side, _num(p.get("volume")) or 0.0,
               _num(p.get("cost_open")), _num(p.get("cost_hold")), _num(p.get("last_price")),
               _num(p.get("lever_rate")) or _num(account.get("lever_rate")),
               _num(p.get("position_margin")))


def _frozen(acc: Account, item: dict, per_contract: dict[str, dict]) -> None:
    """Frozen order margin: per contract in cross (a contract with only orders becomes a
    leg with no contracts), the account's in isolated."""
    if per_contract:
        held = {leg.contract: leg for leg in acc.legs}
        for code, d in per_contract.items():
            frozen = _num(d.get("margin_frozen")) or 0.0
            if code in held:
                held[code].frozen += frozen
            elif frozen > 0:
                # prices of 1: a leg with no contracts has no value and no PnL at any price
                acc.legs.append(Leg(code, "long", 0.0, None, 1.0, 1.0,
                                    _num(d.get("lever_rate")), 0.0, frozen,
                                    _num(d.get("adjust_factor")), output=False))
    elif acc.legs:
        acc.legs[0].frozen = _num(item.get("margin_frozen")) or 0.0


def _static_balance(item: dict, acc: Account) -> float | None:
    """HTX's ``margin_static``; else ``margin_balance`` less the unrealized PnL."""
    static = _num(item.get("margin_static"))
    if static is not None:
        return static
    if acc.margin_balance is None:
        return None
    unreal = _num(item.get("profit_unreal"))
    if unreal is None:
        unreal = sum(_num(p.get("profit_unreal")) or 0.0 for p in item.get("positions") or []
                     if isinstance(p, dict))
        acc.notes.append("no margin_static: balance = margin_balance - positions' "
                         "profit_unreal")
    return acc.margin_balance - unreal


def _positions_only(p: dict, n: int) -> Account:
    leg = _leg(p, {})
    leg.htx_liq = _num(p.get("liquidation_price"))
    mode = _mode(p.get("margin_mode") or "isolated", n)
    acc = Account(f"{leg.contract} position {n}", mode, None, None, None, [leg])
    if mode == "cross":
        acc.notes.append("cross position without its account: import "
                         "swap_cross_account_position_info for its liquidation price")
    else:
        # position_margin is the initial margin at the last price: an estimate of the
        # account's balance that leaves out realized PnL, fees and added margin
        acc.balance = leg.position_margin
        acc.notes.append("approximate: positions-only response, margin taken as "
                         "position_margin (the account response gives HTX's figures)")
    return acc


def _mode(v: Any, n: int) -> str:
    m = str(v).strip().lower()
    if m not in ("isolated", "cross"):
        raise TableError(f"positions: entry {n}: margin_mode {v!r}; expected isolated "
                         "or cross")
    return m


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# ----------------------------------------------------------------------- contracts


def with_contracts_of(accounts: list[Account], table: TierTable) -> TierTable:
    """``table`` with every contract the accounts hold: a delivery contract takes its
    swap's size (``BTC-USDT-220624`` -> ``BTC-USDT``); coin-margined contracts HTX's face
    value (BTC 100 USD, other coins 10 USD). A USDT-margined code with no known size is
    an error naming ``--contracts``."""
    extra: dict[str, Contract] = {}
    for acc in accounts:
        for leg in acc.legs:
            code = leg.contract
            if table.contract(code) is not None or code in extra:
                continue
            kind = infer_kind(code)
            swap = table.contract("-".join(code.split("-")[:2]))
            if kind == "linear" and swap is not None:
                extra[code] = Contract(code, "linear", swap.size)
            elif kind == "inverse":
                extra[code] = Contract(code, "inverse", default_size(code, "inverse"))
            else:
                raise XlhtxError(f"contract {code}: no contract size known; give it with "
                                 "--contracts FILE (columns contract_code, contract_size)")
    return table.with_contracts(extra) if extra else table


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
    """One row per position: the position, our figures and HTX's, and a status."""
    table = with_contracts_of(accounts, legacy_rules(tiers))
    priced = [(i, leg) for i, acc in enumerate(accounts) if acc.balance is not None
              for leg in acc.legs]
    figures = iter(_compute(accounts, priced, table))
    out: dict[str, list] = {c: [] for c in COLUMNS}
    for acc in accounts:
        for leg in acc.legs:
            got = next(figures) if acc.balance is not None else {}
            if not leg.output:
                continue
            ours = got.get("liq_price")
            row = {
                "margin_account": acc.name, "margin_mode": acc.mode, "contract": leg.contract,
                "side": leg.side, "contracts": leg.contracts, "entry_price": leg.cost_open,
                "cost_hold": leg.cost_hold, "mark_price": leg.mark, "leverage": leg.leverage,
                "adjust_factor": leg.adjust_factor, "position_margin": leg.position_margin,
                "margin_balance": acc.margin_balance if acc.margin_balance is not None
                else got.get("equity"),
                "liq_price": ours, "htx_liq_price": leg.htx_liq,
                "liq_price_diff": None if ours is None or leg.htx_liq is None
                else ours - leg.htx_liq,
                "margin_ratio": got.get("margin_ratio"), "risk_rate": got.get("risk_rate"),
                "htx_risk_rate": acc.htx_risk,
                "status": "; ".join([*filter(None, [got.get("status")]), *acc.notes]),
            }
            for c in COLUMNS:
                out[c].append(row[c])
    return out


def _compute(accounts: list[Account], legs: list, table: TierTable) -> list[dict]:
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
        col(lambda g: g.leverage), col(lambda g: g.adjust_factor), col(lambda g: g.frozen),
        tiers=table)
    liq = res["liq_price"]
    out = []
    for r, (_, leg) in enumerate(legs):
        got = {k: v.cell(r) for k, v in res.items()}
        got = {k: c if isinstance(c, float) else None for k, c in got.items()}
        status = "" if liq.ok[r] else str(liq.cell(r) or "")
        if not status and leg.cost_hold is None:
            status = "approximate: no cost_hold, PnL measured from cost_open"
        got["status"] = status
        out.append(got)
    return out
