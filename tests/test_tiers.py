"""Tier, contract and margin-ladder tables: every shape of HTX's tier and margin-ladder tables, boundaries,
and refusals with messages that name the row and column."""

import json
import math

import numpy as np
import pytest

from htxcore import status as st
from xlhtx import api
from xlhtx.reference.ladder_margin import MarginLadders
from xlhtx.reference.tables import TableError
from xlhtx.reference.tiers import ADJUST_FACTOR, RISK_LIMIT, TierTable
from xlhtx.reference.snapshot import snapshot
from xlhtx.reference.contracts import parse_contract_info

HEADER = ["contract_code", "margin_mode", "lever_rate", "ladder", "min_size", "max_size",
          "adjust_factor"]


def rows_125x():
    return [HEADER,
            ["BTC-USDT", "isolated", 125, 0, 0, 8999, 0.65],
            ["BTC-USDT", "isolated", 125, 1, 9000, 89999, 0.80],
            ["BTC-USDT", "isolated", 125, 2, 90000, None, 0.85]]


def test_snapshot_has_source_date_and_the_published_example():
    s = snapshot("legacy")
    assert "HTX" in s.source and s.as_of == "2026-11-21"
    lads = sorted((x for x in s.ladders if (x.contract, x.mode, x.lever) ==
                   ("BTC-USDT", "isolated", 125)), key=lambda x: x.min_size)
    assert [(x.min_size, x.max_size, x.adjust_factor) for x in lads] == [
        (0, 8999, 0.65), (9000, 89999, 0.80), (90000, math.inf, 0.85)]
    assert {"BTC-USDT", "ETH-USDT", "BTC-USD", "ETH-USD"} <= set(s.codes)
    assert s.contract("btc-usd").kind == "inverse" and s.contract("BTC-USD").size == 100
    assert s.contract("ETH-USD").size == 10 and s.contract("BTC-USDT").size == 0.001
    assert {x.mode for x in s.ladders if x.contract == "BTC-USDT"} == {"isolated", "cross"}


def test_todays_snapshot_has_htx_risk_limit_example_for_usdt_and_ladders_for_coin():
    s = snapshot()
    assert "risk-limit" in s.source and s.as_of == "2026-12-04"
    tiers = sorted((x for x in s.ladders if (x.contract, x.mode) == ("BTC-USDT", "cross")),
                   key=lambda x: x.min_size)
    # HTX's /v5/market/risk/limit example, BTC-USDT cross
    assert [(x.ladder, x.max_leverage, x.mmr, x.min_size, x.max_size) for x in tiers] == [
        (1, 200, 0.00385, 1, 400), (2, 100, 0.005, 401, 4000), (3, 50, 0.015, 4001, 8000),
        (4, 30, 0.02, 8001, 120000), (5, 20, 0.03, 120000, 500000)]
    assert all(x.lever == 0 for x in tiers)
    assert s.systems["BTC-USDT"] == RISK_LIMIT and s.systems["BTC-USD"] == ADJUST_FACTOR
    assert {c for c, sys_ in s.systems.items() if sys_ == ADJUST_FACTOR} == {"BTC-USD", "ETH-USD"}
    assert s.system_summary().startswith("risk-limit tiers: BTC-USDT")


def test_api_json_shape_parses_like_htx_documents_it():
    payload = {"status": "ok", "data": [{
        "symbol": "BTC", "contract_code": "BTC-USDT", "margin_mode": "cross",
        "list": [{"lever_rate": 125, "ladders": [
            {"ladder": 0, "min_size": 0, "max_size": 8999, "adjust_factor": 0.65},
            {"ladder": 1, "min_size": 9000, "max_size": None, "adjust_factor": 0.8}]}]}],
        "ts": 1}
    t = TierTable.from_api(payload, contracts=snapshot().contracts)
    assert [(x.mode, x.max_size) for x in t.ladders] == [("cross", 8999), ("cross", math.inf)]
    r = api.tier("BTC-USDT", 125, [8999, 9000, 10**9], mode="cross", tiers=t)
    assert r["ladder"].values.tolist() == [0, 1, 1]


def test_htx_error_payload_is_a_clear_error():
    with pytest.raises(TableError, match="1014 Invalid contract code"):
        TierTable.from_api({"status": "error", "err_code": 1014,
                            "err_msg": "Invalid contract code"})


@pytest.mark.parametrize("net, ladder", [(0, 0), (8999, 0), (8999.5, 0), (9000, 1),
                                         (89999, 1), (90000, 2), (1e12, 2)])
def test_boundaries_are_inclusive_and_the_top_is_unbounded(net, ladder):
    t = TierTable.from_rows(rows_125x(), snapshot().contracts)
    assert api.tier("BTC-USDT", 125, net, tiers=t)["ladder"].values[0] == ladder


def test_bounded_top_ladder_rejects_larger_positions():
    rows = rows_125x()
    rows[3][5] = 500000
    r = api.liq_price("BTC-USDT", "long", [500000, 500001], 30000, 125, tiers=rows)
    assert r.status.tolist() == [st.OK, st.ERR_SIZE_ABOVE_TIERS]
    assert "500001 contracts is above the last ladder of BTC-USDT isolated 125x" in r.messages[1]


def test_plain_rows_with_mmr_and_contract_size_define_a_new_contract():
    rows = [HEADER + ["mmr", "contract_size"],
            ["PEPE-USDT", "isolated", 10, 0, 0, 999, None, 0.02, 1000],
            ["PEPE-USDT", "isolated", 10, 1, 1000, None, None, 0.05, 1000]]
    r = api.tier("PEPE-USDT", 10, [10, 5000], tiers=rows)
    assert r["mmr"].values.tolist() == [0.02, 0.05]
    assert r["adjust_factor"].values.tolist() == pytest.approx([0.2, 0.5])
    assert api.notional("PEPE-USDT", 2, 0.00001, tiers=rows).values[0] == pytest.approx(0.02)


def test_multi_assets_shape_gives_mmr_and_caps_leverage():
    rows = [["contract_code", "tier", "max_leverage", "position_limit", "mmr"],
            ["BTC-USDT", 1, 100, 10000, 0.005],
            ["BTC-USDT", 2, 50, 50000, 0.01],
            ["BTC-USDT", 3, 20, None, 0.025]]
    r = api.tier("BTC-USDT", [20, 20, 20, 75, 7], [10000, 10001, 10**7, 20000, 5],
                 mode="cross", tiers=rows)
    assert r["ladder"].status.tolist() == [st.OK, st.OK, st.OK, st.ERR_LEVER_ABOVE_TIER, st.OK]
    assert r["mmr"].values[:3].tolist() == [0.005, 0.01, 0.025]
    assert r["mmr"].messages[3] == ("#VALUE! leverage = 75: BTC-USDT cross tier 1 (10,001 to "
                                    "50,000 contracts) allows at most 50x; lower the leverage "
                                    "or the size")
    # any leverage up to the tier maximum, even one the isolated table lacks
    assert r["mmr"].values[4] == 0.005


@pytest.mark.parametrize("rows, message", [
    ([HEADER[:3]], "lacks column(s) ladder, min_size, max_size"),
    ([HEADER, ["BTC-USDT", "isolated", 125, 0, 0, "lots", 0.65]], "max_size = 'lots' is not a number"),
    ([HEADER, ["BTC-USDT", "isolated", 125, 0, 0, 10, 0.65],
      ["BTC-USDT", "isolated", 125, 1, 5, 20, 0.8]], "overlaps"),
    ([HEADER, ["BTC-USDT", "isolated", 125, 0, 50, 10, 0.65]], "max_size 10 < min_size 50"),
    ([HEADER, ["BTC-USDT", "hedge", 125, 0, 0, 10, 0.65]], "margin_mode = 'hedge'"),
    ([HEADER, ["BTC-USDT", "isolated", 12.5, 0, 0, 10, 0.65]], "whole number"),
    ([HEADER, ["BTC-USDT", "isolated", 125, 0, 0, 10, None]], "give adjust_factor or mmr"),
    ([HEADER, ["BTC-USDT", "isolated", 125, 0, -1, 10, 0.65]], "min_size = -1 must be >= 0"),
    ([HEADER, ["ABC-USDT", "isolated", 5, 0, 0, 10, 0.65]], "ABC-USDT has no contract size"),
    ([HEADER] + [["BTC-USDT", "isolated", 5, j, 10 * j, 10 * j + 9, 0.1] for j in range(6)],
     "6 ladders; HTX publishes at most 5 per contract and leverage"),
])
def test_bad_tier_tables_are_refused_with_the_row(rows, message):
    with pytest.raises(TableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TierTable.from_rows(rows, snapshot().contracts)


def test_leverage_without_ladder_names_contract_and_leverage():
    r = api.liq_price("ETH-USDT", "long", 10, 3000, 125, tiers="legacy")
    assert r.status[0] == st.ERR_NO_TIER
    assert r.messages[0].startswith("#N/A no tier ladder for ETH-USDT isolated at 125x")
    assert "leverages with ladders: 1, 2, 3, 5, 10, 20, 30, 50, 75, 100" in r.messages[0]


def test_contract_info_json():
    got = parse_contract_info({"status": "ok", "data": [
        {"contract_code": "BTC-USDT", "contract_size": 0.001},
        {"contract_code": "BTC-USD", "contract_size": 100}]})
    assert got["BTC-USDT"].kind == "linear" and got["BTC-USD"].kind == "inverse"


@pytest.mark.parametrize("name", ["today", "legacy"])
def test_to_rows_round_trips_through_the_plain_shape(name):
    """Tiers and RiskLimits tables side by side, an empty column between them, read as
    one range give back the table."""
    s = snapshot(name)
    again = TierTable.from_rows(s.to_rows())   # both systems in one plain table
    assert sorted(again.ladders, key=repr) == sorted(s.ladders, key=repr)
    tiers, risk = s.to_rows(risk_limit=False), s.risk_rows()
    n = max(len(tiers), len(risk))
    pad = lambda rows, w: rows + [[None] * w] * (n - len(rows))  # noqa: E731
    block = [a + [None] + b for a, b in zip(pad(tiers, len(tiers[0])), pad(risk, len(risk[0])))]
    again = TierTable.from_rows(block if len(risk) > 1 else tiers)
    assert sorted(again.ladders, key=repr) == sorted(s.ladders, key=repr)
    assert again.systems == s.systems


def test_margin_ladder_rows_and_json_agree():
    lm = snapshot().ladder_margin
    again = MarginLadders.from_rows(lm.to_rows())
    t = snapshot()
    a, b = lm.compile(t), again.compile(t)
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


def test_margin_ladder_rate_defaults_to_the_band_below():
    rows = [["contract_code", "margin_mode", "lever_rate", "min_margin_balance",
             "max_margin_balance", "min_margin_available", "max_margin_available"],
            ["BTC-USDT", "isolated", 20, 0, 1000, 0, 1000],
            ["BTC-USDT", "isolated", 20, 1000, 3000, 1000, 2000],
            ["BTC-USDT", "isolated", 20, 3000, None, 2000, None]]
    r = api.max_open("BTC-USDT", [500, 2000, 5000], 50000, 20, margin_ladders=rows)
    # 500 -> 500; 2000 -> 1000 + 1000*0.5; 5000 -> 2000 + 2000*0.5 (slope of the band below)
    assert r["available"].values.tolist() == [500, 1500, 3000]


def test_snapshot_json_is_valid_json_with_three_tables():
    from importlib import resources
    doc = json.loads(resources.files("xlhtx").joinpath("data/snapshot.json").read_text())
    assert {"adjustfactor", "contract_info", "ladder_margin", "source", "as_of"} <= set(doc)


# ---------------------------------------------------------------- packed layout

from hypothesis import given, settings, strategies as hs  # noqa: E402

import oracle  # noqa: E402
from htxcore.position import tier_nb  # noqa: E402
from htxcore.tiers import LAD_MMR, UNBOUNDED, group_of_nb  # noqa: E402
from htxcore.position import liq_price_nb  # noqa: E402
from unittest import mock  # noqa: E402
import xlhtx.reference.tiers as tiers_module  # noqa: E402

TOP = UNBOUNDED - 2   # the largest size the packed layout holds


@hs.composite
def tier_tables(draw):
    """Random tables: 1-3 contracts, both modes, leverage groups and any-leverage groups
    with caps, 1-5 ladders of whole sizes reaching the packed layout's limit."""
    rows = [HEADER + ["mmr", "max_leverage", "contract_size"]]
    for code in draw(hs.lists(hs.sampled_from(["BTC-USDT", "ETH-USDT", "BTC-USD"]),
                              min_size=1, max_size=3, unique=True)):
        risk_limit = draw(hs.booleans())   # a contract follows one system
        for mode in draw(hs.lists(hs.sampled_from(["isolated", "cross"]), min_size=1,
                                  max_size=2, unique=True)):
            levers = [0] if risk_limit else draw(hs.lists(
                hs.sampled_from([1, 2, 5, 20, 125, 200]), min_size=1, max_size=3, unique=True))
            for lever in levers:
                cuts = sorted(draw(hs.lists(hs.integers(1, TOP), min_size=0, max_size=4,
                                            unique=True)))
                bounded = draw(hs.booleans())
                top = draw(hs.integers(cuts[-1] if cuts else 0, TOP)) if bounded else None
                lows = [0] + cuts
                for j, low in enumerate(lows):
                    high = lows[j + 1] - 1 if j + 1 < len(lows) else top
                    cap = draw(hs.sampled_from([None, 10, 50, 125, UNBOUNDED - 1]))
                    if lever:
                        rows.append([code, mode, lever, j, low, high, 0.5 + 0.1 * j, None,
                                     cap, 1])
                    else:
                        rows.append([code, mode, None, j, low, high, None, 0.0005 * (j + 1),
                                     min(cap or 100, 200), 1])
    return TierTable.from_rows(rows)


NETS = hs.one_of(hs.integers(0, 2**33).map(float), hs.floats(0, 2**32),
                 hs.sampled_from([0.0, 0.5, TOP - 0.5, TOP, TOP + 1.0, UNBOUNDED, 2.0**31,
                                  9.9e14]))


@settings(max_examples=150, deadline=None)
@given(tier_tables(), hs.lists(hs.tuples(hs.integers(0, 2), hs.sampled_from([0, 1]),
                                         hs.sampled_from([1.0, 2.0, 5.0, 7.0, 20.0, 125.0,
                                                          200.0, 2.5, 300.0, 10_000.0]),
                                         NETS), min_size=1, max_size=30))
def test_packed_lookup_equals_the_oracle(t, queries):
    """Ladder and MMR from the packed layout, dense and compact, equal the plain reading
    of the table at every size up to the layout's limit, for exact, any-leverage and
    missing groups."""
    for tt in both_layouts(t):
        lookup_equals_the_oracle(t, tt, queries)


def both_layouts(t):
    """The table's compiled arrays as built (dense: a column per whole leverage) and as
    a table too large for that would be built (columns of the distinct leverages)."""
    dense = t.compile()
    with mock.patch.object(tiers_module, "DENSE_CELLS", 0):
        compact = tiers_module._compile(t)
    assert dense.l_col is None and compact.l_col is not None
    assert compact.g_lut.shape[1] == len({x for x in compact.g_lever if x}) + 1
    return dense, compact


def lookup_equals_the_oracle(t, tt, queries):
    n = len(queries)
    codes = [t.codes[min(c, len(t.codes) - 1)] for c, _, _, _ in queries]
    contract = np.array([t.contract_id(c) for c in codes], dtype=np.int32)
    mode = np.array([m for _, m, _, _ in queries], dtype=np.int8)
    lever = np.array([x for _, _, x, _ in queries])
    net = np.array([x for _, _, _, x in queries])
    ladder, af, mmr, s = np.empty(n), np.empty(n), np.empty(n), np.empty(n, np.int8)
    tier_nb(tt, contract, mode, lever, net, ladder, af, mmr, s)
    for i in range(n):
        want = oracle.tier(t, codes[i], ("isolated", "cross")[mode[i]], lever[i], net[i])
        got = None if s[i] != st.OK else (int(ladder[i]), mmr[i])
        assert got == want, (codes[i], mode[i], lever[i], net[i], s[i])


@pytest.mark.parametrize("row, message", [
    (["BTC-USDT", "isolated", 5, 0, 0, 99.5, 0.5],
     "tiers BTC-USDT isolated 5x: ladder 0 max_size = 99.5; it must be a whole number from "
     "0 to 2,147,483,645"),
    (["BTC-USDT", "isolated", 5, 0, 0, 3e9, 0.5],
     "ladder 0 max_size = 3e+09; it must be a whole number from 0 to 2,147,483,645"),
    (["BTC-USDT", "isolated", 5, 0, 0.25, 100, 0.5], "ladder 0 min_size = 0.25"),
])
def test_tables_the_packed_layout_cannot_hold_are_refused_when_loaded(row, message):
    with pytest.raises(TableError, match=message.replace("+", r"\+").replace(".", r"\.")):
        TierTable.from_rows([HEADER + ["contract_size"], row + [0.001]])


def test_fractional_leverage_cap_is_refused():
    rows = [["contract_code", "tier", "max_leverage", "position_limit", "mmr"],
            ["BTC-USDT", 1, 12.5, 5000, 0.004]]
    with pytest.raises(TableError, match=r"tiers BTC-USDT cross: ladder 0 max_leverage = "
                                         r"12\.5; it must be a whole number"):
        TierTable.from_rows(rows, snapshot().contracts)


def test_packed_layout_fields():
    """Five slots per group, padding marked, kind in the sign of the contract size."""
    t = TierTable.from_rows(rows_125x(), snapshot().contracts)
    tt = t.compile()
    assert tt.l_col is None and tt.g_lut.shape[1] == 125 + 2   # dense: a column per leverage
    g = int(tt.g_lut[t.contract_id("BTC-USDT") * 2, 125])
    assert g == group_of_nb(tt.g_lut, tt.l_col, t.contract_id("BTC-USDT") * 2, 125.0)
    assert tt.g_len[g] == 3
    assert tt.l_ladder[g * 5:g * 5 + 5].tolist() == [0, 1, 2, -1, -1]
    words = [int(w) for w in tt.g_mins[:, g]]
    assert [w & (2**32 - 1) for w in words] + [w >> 32 for w in words] \
        == [9000, UNBOUNDED, 90000, UNBOUNDED]
    assert tt.lad[LAD_MMR, g * 5:g * 5 + 3].tolist() == [0.65 / 125, 0.80 / 125, 0.85 / 125]
    assert int(tt.l_bound[g * 5]) >> 32 == 9000 and int(tt.l_bound[g * 5 + 2]) >> 32 == UNBOUNDED
    assert tt.c_size[t.contract_id("BTC-USDT")] == 0.001
    assert tt.c_size[t.contract_id("BTC-USD")] == -100


def test_dense_and_compact_layouts_give_the_same_prices_and_statuses():
    """The liquidation kernel compiled for each layout: bit-identical prices and the
    same status on every row of a random book with bad rows of every kind."""
    t = snapshot("legacy")
    rng = np.random.default_rng(5)
    n = 20_000
    levers = np.array([1, 2, 3, 5, 7, 20, 30, 50, 75, 100, 125, 200, 2.5, 0.5, 10_000, 0,
                       -3, np.nan, np.inf])
    args = (rng.integers(-1, len(t.codes) + 1, n).astype(np.int32),
            rng.integers(-1, 3, n).astype(np.int8), rng.integers(-1, 2, n).astype(np.int8),
            np.where(rng.random(n) < 0.05, np.nan, rng.uniform(-10, 3e6, n)),
            rng.uniform(-1, 70_000, n), levers[rng.integers(0, len(levers), n)],
            np.where(rng.random(n) < 0.5, np.nan, rng.uniform(-10, 1e5, n)))
    got = []
    for tt in both_layouts(t):
        out, status = np.empty(n), np.empty(n, np.int8)
        liq_price_nb(tt, *args, out, status)
        got.append((out, status))
    assert np.array_equal(got[0][0], got[1][0], equal_nan=True)
    assert np.array_equal(got[0][1], got[1][1])
    assert (got[0][1] == st.OK).sum() > 1000 and len(np.unique(got[0][1])) >= 8
