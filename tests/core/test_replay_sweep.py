"""Replay ranges, facts and sweeps: parsing and errors, fact checks, a real sweep, the summary, the CLI."""

from __future__ import annotations

import json

import pytest

from riskengine.cli import main
from riskengine.cli.replay import parse_sweep, sweep_plans
from riskengine.config.parameters import resolve_path
from riskengine.errors import ConfigError
from riskengine.replay import (
    SEED_AXIS,
    facts_summary,
    load_replay,
    noise_streams,
    parse_replay,
    run_replay,
    stated_inputs,
    sweep,
    sweep_grid,
    sweep_summary,
)
from riskengine.replay_facts import QUANTITIES, check_fact, make_fact

REPLAYS = ("nominal", "m1", "m2")
ROW_KEYS = {
    "inputs",
    "outcome",
    "first_valid_true_altitude_m",
    "propellant_remaining_kg",
    "propellant_loaded_kg",
    "impact_vertical_speed_mps",
    "impact_horizontal_speed_mps",
    "miss_distance_m",
    "facts",
    "facts_failed",
    "stated",
}

# A synthetic ReplayRun.to_json(): the facts never need the engine.
REPORT = {
    "replay": "synthetic",
    "outcome": "crashed",
    "impact_vertical_speed_mps": 25.0,
    "impact_horizontal_speed_mps": 3.0,
    "propellant_remaining_kg": 40.0,
    "miss_distance_m": 370.0,
    "events": [
        {"t_s": 600.0, "name": "altimeter_in_range", "true_altitude_m": 3000.0},
        {"t_s": 641.0, "name": "altimeter_first_valid", "true_altitude_m": 399.2},
        {"t_s": 650.0, "name": "touchdown", "true_altitude_m": 0.0},
    ],
}


def _fact(quantity: str, op: str, value: object, tolerance: float = 0.0) -> dict:
    fact = make_fact(
        {"id": "f", "source": "test", "quantity": quantity, "op": op, "value": value, "tolerance": tolerance}
    )
    return check_fact(fact, REPORT)


@pytest.mark.parametrize(
    ("quantity", "op", "passing", "failing"),
    [
        ("first_valid_true_altitude_m", "<=", 900, 300),
        ("first_valid_true_altitude_m", "<", 400, 399.2),
        ("propellant_remaining_kg", ">", 0, 40),
        ("propellant_remaining_kg", ">=", 40, 40.5),
        ("miss_distance_m", "==", 370, 371),
        ("miss_distance_m", "!=", 371, 370),
        ("outcome", "==", "crashed", "landed"),
        ("outcome", "!=", "landed", "crashed"),
        ("outcome", "in", ["crashed", "propellant_exhausted"], ["landed", "hard_landing"]),
        ("outcome", "not_in", ["landed"], ["crashed"]),
        ("event.altimeter_first_valid.happened", "==", True, False),
        ("event.propellant_exhausted.happened", "==", False, True),
        ("altimeter_acquisition_delay_s", "==", 41, 40),
        ("impact_speed_mps", ">", 25.1, 25.2),
    ],
)
def test_each_op_passes_and_fails(quantity, op, passing, failing):
    assert _fact(quantity, op, passing)["passed"] is True
    result = _fact(quantity, op, failing)
    assert result["passed"] is False
    assert result["observed"] == QUANTITIES[quantity].extract(REPORT)


def test_tolerance_loosens_and_missing_events_fail():
    assert _fact("first_valid_true_altitude_m", "<=", 390, tolerance=10)["passed"] is True
    assert _fact("first_valid_true_altitude_m", "<=", 390, tolerance=5)["passed"] is False
    assert _fact("miss_distance_m", "==", 360, tolerance=10)["passed"] is True
    missing = _fact("event.propellant_exhausted.true_altitude_m", ">", 1000)
    assert missing["passed"] is False and missing["observed"] is None
    # The keys the validation report reads.
    assert missing["name"] == "f" and missing["actual"] is None
    assert missing["expected"] == "event.propellant_exhausted.true_altitude_m > 1000.0"
    # Either side of "not observed" fails: the fact cannot be shown.
    assert _fact("event.propellant_exhausted.true_altitude_m", "<=", 1000)["passed"] is False


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"quantity": "first_valid_altitude_m", "op": "<=", "value": 900}, "facts.quantity", "did you mean"),
        ({"quantity": "event.touchdown.speed", "op": "<=", "value": 9}, "facts.quantity", "happened"),
        ({"quantity": "miss_distance_m", "op": "=~", "value": 9}, "facts.op", "allowed: <, <=, >, >="),
        ({"quantity": "outcome", "op": "<", "value": "crashed"}, "facts", "needs a number quantity"),
        ({"quantity": "outcome", "op": "in", "value": "crashed"}, "facts", "needs a list value"),
        ({"quantity": "miss_distance_m", "op": "<=", "value": "far"}, "facts", "is a number"),
        ({"quantity": "miss_distance_m", "op": "<=", "value": 9, "tolerance": -1}, "facts.tolerance", ">= 0"),
    ],
)
def test_bad_facts_name_field_value_and_allowed(data, field, words):
    with pytest.raises(ConfigError) as err:
        make_fact({"id": "f", "source": "test", **data})
    assert err.value.field == field
    assert words in str(err.value) and f"field '{field}' = " in str(err.value)


def _spec_data(**extra: object) -> dict:
    return {"name": "t", "site": "mare_frigoris", **extra}


@pytest.mark.parametrize(
    ("ranges", "field", "words"),
    [
        ({"sensor_latency_s": [-5.0, 10.0]}, "ranges.sensor_latency_s", "outside the physical range"),
        ({"navigation.nope": [0.0, 1.0]}, "ranges.navigation.nope", "not a known parameter"),
        ({"fuel_margin_pct": [20.0, 3.0]}, "ranges.fuel_margin_pct", "low end must be below"),
        (
            {"sensor_latency_s": [1.0, 2.0], "altimeter.acquisition_delay_s": [1.0, 3.0]},
            "ranges.altimeter.acquisition_delay_s",
            "already given",
        ),
    ],
)
def test_bad_ranges_name_field_value_and_range(ranges, field, words):
    with pytest.raises(ConfigError) as err:
        parse_replay(_spec_data(ranges=ranges), "replay 't'")
    assert err.value.field == field
    assert words in str(err.value) and str(err.value).startswith("replay 't': ")


def test_duplicate_fact_ids_are_refused():
    fact = {"id": "a", "source": "s", "quantity": "outcome", "op": "==", "value": "landed"}
    with pytest.raises(ConfigError, match="fact id 'a' is given more than once"):
        parse_replay(_spec_data(facts=[fact, fact]))


@pytest.mark.parametrize("name", REPLAYS)
def test_each_replay_states_ranges_and_facts_with_its_stated_values_inside_them(name):
    spec = load_replay(name)
    assert spec.ranges and spec.facts
    assert all(f.source for f in spec.facts)
    stated = stated_inputs(spec, list(spec.ranges))
    for param, (lo, hi) in spec.ranges.items():
        value = stated[param]
        assert value is not None and lo <= value <= hi, (name, param, value, (lo, hi))


def test_parse_sweep_values_and_errors():
    m2 = load_replay("m2")
    assert parse_sweep("fuel_margin_pct=5:15:3", m2) == ("fuel_margin_pct", [5.0, 10.0, 15.0])
    name, values = parse_sweep("sensor_latency_s", m2)  # its band in m2.yaml, 7 values
    assert name == "sensor_latency_s" and len(values) == 7
    assert (values[0], values[-1]) == tuple(m2.ranges["sensor_latency_s"])
    assert len(parse_sweep("fuel_margin_pct=0:10", m2)[1]) == 7
    assert [list(g) for g in sweep_plans(m2, [""])] == [[p] for p in m2.ranges]
    grid = sweep_plans(m2, ["fuel_margin_pct=5:15:2", "sensor_latency_s=33:45:3"])
    assert grid == [{"fuel_margin_pct": [5.0, 15.0], "sensor_latency_s": [33.0, 39.0, 45.0]}]

    cases = [
        ("fuel_margin_pct=5-15", "expected PARAM=LO:HI:N"),
        ("fuel_margin_pct=a:b:3", "expected PARAM=LO:HI:N"),
        ("=1:2:3", "expected PARAM=LO:HI:N"),
        ("navigation.nope=1:2:3", "not a known parameter"),
        (
            "sensor_latency_s=-5:10:3",
            "outside the physical range of altimeter.acquisition_delay_s: [0, 3600] s",
        ),
        ("fuel_margin_pct=5:15:1", "must be in [2, 1000]"),
        ("fuel_margin_pct=15:5:3", "LO must be below HI"),
        ("imu.bias_z_mps2", "states no range"),
    ]
    for text, words in cases:
        with pytest.raises(ConfigError) as err:
            parse_sweep(text, m2)
        assert words in str(err.value), (text, str(err.value))
        assert err.value.field is not None
    with pytest.raises(ConfigError, match="cannot be combined"):
        sweep_plans(m2, ["", "fuel_margin_pct=5:15:3"])
    with pytest.raises(ConfigError, match="swept twice"):
        sweep_plans(m2, ["fuel_margin_pct=5:15:3", "fuel_margin_pct=1:2:2"])


def test_sweep_grid_refuses_a_value_outside_the_physical_range():
    with pytest.raises(ConfigError, match=r"field 'sweep fuel_margin_pct' = -60.0 is outside"):
        sweep(load_replay("nominal"), "fuel_margin_pct", [10.0, -60.0])


def _row(value: float, outcome: str, other: float | None = None, fact: bool = True) -> dict:
    inputs = {"a": value} if other is None else {"a": value, "b": other}
    return {"inputs": inputs, "outcome": outcome, "facts": {"f1": True, "f2": fact}}


def test_sweep_summary_finds_where_the_outcome_changes():
    same = [_row(v, "crashed") for v in (1.0, 2.0, 3.0)]
    assert sweep_summary(same, ["a"]) == "outcome crashed across the whole band"
    rows = [_row(1.0, "landed"), _row(2.0, "landed"), _row(3.0, "crashed"), _row(4.0, "hard_landing")]
    assert sweep_summary(rows, ["a"]) == (
        "outcome changes inside the band at a ~ 2.5 (landed -> crashed), a ~ 3.5 (crashed -> hard_landing)"
    )
    grid = [_row(a, "landed" if a < 2 or b < 20 else "crashed", b) for a in (1.0, 3.0) for b in (10.0, 30.0)]
    assert sweep_summary(grid, ["a", "b"]) == (
        "outcome changes inside the grid at a ~ 2 (landed -> crashed) at b=30, b ~ 20 (landed -> crashed) at a=3"
    )
    mixed = [_row(1.0, "landed"), _row(2.0, "landed", fact=False), _row(3.0, "landed", fact=False)]
    assert facts_summary(mixed) == "facts hold everywhere: f1; hold at some points: f2 (1/3)"


def _streams_row(seed: int, outcome: str, a: float | None = None) -> dict:
    inputs = {SEED_AXIS: float(seed)} | ({} if a is None else {"a": a})
    return {"inputs": inputs, "outcome": outcome, "facts": {"f1": seed != 3}}


def test_a_noise_stream_summary_counts_outcomes_and_names_the_odd_seeds():
    rows = [_streams_row(s, "crashed" if s in (3, 5) else "landed") for s in range(1, 9)]
    assert sweep_summary(rows, [SEED_AXIS]) == "across 8 noise streams: landed 6, crashed 2 (seeds 3, 5) of 8"
    assert facts_summary(rows) == "facts hold at some points: f1 (7/8)"
    # In a grid only the points whose streams disagree are listed.
    grid = [
        _streams_row(s, "crashed" if a > 1 and s == 2 else "landed", a) for a in (1.0, 2.0) for s in (1, 2)
    ]
    assert sweep_summary(grid, ["a", SEED_AXIS]) == (
        "across 2 noise streams: landed 1, crashed 1 (seed 2) of 2 at a=2"
        " (the other 1 point: one outcome in every stream)"
    )
    # Where every point's streams agree, the summary says where the outcome changes between points.
    same = [_streams_row(s, "landed", a) for a in (1.0, 2.0) for s in (1, 2)]
    assert sweep_summary(same, ["a", SEED_AXIS]) == (
        "outcome landed across the whole band, the same in each of the 2 noise streams"
    )
    split = [_streams_row(s, "landed" if a < 2 else "crashed", a) for a in (1.0, 2.0) for s in (1, 2)]
    assert sweep_summary(split, ["a", SEED_AXIS]) == (
        "outcome changes inside the band at a ~ 1.5 (landed -> crashed), the same in each of the 2 noise streams"
    )


def test_noise_streams_start_at_the_stated_seed_and_bad_counts_name_the_field():
    spec = load_replay("m2")
    assert noise_streams(spec, 3) == [float(spec.seed + k) for k in range(3)]
    with pytest.raises(ConfigError, match=r"field 'seeds' = 0: the number of noise streams must be in \[1, "):
        noise_streams(spec, 0)
    with pytest.raises(ConfigError, match=r"field 'sweep seed' = 1.5: a noise stream is a whole number"):
        sweep_grid(spec, {SEED_AXIS: [1.5]})


def test_the_stated_seed_of_a_stream_sweep_is_the_replay_and_other_streams_differ():
    spec = load_replay("nominal")
    rows = sweep_grid(spec, {SEED_AXIS: noise_streams(spec, 2)})
    report = run_replay(spec).to_json()
    assert [r["stated"] for r in rows] == [True, False]
    assert rows[0]["propellant_remaining_kg"] == report["propellant_remaining_kg"]
    assert rows[1]["propellant_remaining_kg"] != report["propellant_remaining_kg"]


@pytest.fixture(scope="module")
def nominal_rows() -> list[dict]:
    return sweep(load_replay("nominal"), "fuel_margin_pct", [5.0, 10.0, 15.0])


def test_real_sweep_of_nominal_fuel_margin(nominal_rows):
    assert [r["inputs"] for r in nominal_rows] == [{"fuel_margin_pct": v} for v in (5.0, 10.0, 15.0)]
    assert all(set(r) >= ROW_KEYS for r in nominal_rows)
    assert [r["stated"] for r in nominal_rows] == [False, True, False]
    spec = load_replay("nominal")
    assert all(set(r["facts"]) == {f.id for f in spec.facts} for r in nominal_rows)
    # Each row flew its own margin: the load is the nominal need times (1 + margin / 100).
    loaded = [r["propellant_loaded_kg"] for r in nominal_rows]
    assert loaded[2] / loaded[0] == pytest.approx(1.15 / 1.05, rel=1e-4)
    assert loaded[1] / loaded[0] == pytest.approx(1.10 / 1.05, rel=1e-4)


def test_sweep_row_at_the_stated_inputs_is_the_replay(nominal_rows):
    report = run_replay(load_replay("nominal")).to_json()
    row = next(r for r in nominal_rows if r["stated"])
    for key in ("outcome", "propellant_remaining_kg", "impact_vertical_speed_mps", "miss_distance_m"):
        assert row[key] == report[key], key


def test_grid_sweep_replaces_an_assignment_given_under_another_name():
    spec = load_replay("nominal")
    path = resolve_path("sensor_latency_s")  # nominal assigns it as sensor_latency_s
    rows = sweep_grid(spec, {path: [0.0], "fuel_margin_pct": [10.0]})
    assert len(rows) == 1 and rows[0]["stated"] is True


def test_cli_sweep_json_and_table(capsys):
    assert main(["replay", "nominal", "--sweep", "fuel_margin_pct=5:15:2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (one,) = out["sweeps"]
    assert one["params"] == ["fuel_margin_pct"] and len(one["rows"]) == 2
    assert one["summary"].startswith("outcome ")
    assert main(["replay", "nominal", "--sweep", "fuel_margin_pct=5:15:2"]) == 0
    text = capsys.readouterr().out
    assert "fuel_margin_pct 5..15 (2 values; stated 10)" in text and "outcome " in text and "facts " in text


def test_cli_seeds_fly_every_sweep_point_at_each_stream(capsys):
    assert main(["replay", "nominal", "--sweep", "fuel_margin_pct=5:15:2", "--seeds", "2", "--json"]) == 0
    (one,) = json.loads(capsys.readouterr().out)["sweeps"]
    assert one["params"] == ["fuel_margin_pct", SEED_AXIS] and len(one["rows"]) == 4
    assert main(["replay", "nominal", "--seeds", "0"]) == 2
    assert "field '--seeds' = 0: the number of noise streams must be in [1, " in capsys.readouterr().err


def test_cli_facts(capsys):
    assert main(["replay", "nominal", "--facts"]) == 0
    text = capsys.readouterr().out
    spec = load_replay("nominal")
    assert f"of {len(spec.facts)} facts hold at the stated inputs" in text
    assert all(f.id in text for f in spec.facts)
    assert main(["replay", "nominal", "--facts", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)["facts"]
    assert [f["id"] for f in facts] == [f.id for f in spec.facts]
    assert all(isinstance(f["passed"], bool) for f in facts)


def test_cli_bad_sweep_exits_2_naming_field_and_allowed(capsys):
    assert main(["replay", "m2", "--sweep", "sensor_latency_s=10:20:1"]) == 2
    err = capsys.readouterr().err
    assert "riskengine: error: field '--sweep sensor_latency_s' N = 1" in err and "[2, 1000]" in err
