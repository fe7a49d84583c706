"""The Apollo LM flies Apollo 11's public profile from PDI (configs/replays/apollo11.yaml), and a propellant
margin can be stated as seconds of hover (``fuel_margin_hover_s``)."""

from __future__ import annotations

import math

import pydantic
import pytest

from riskengine.config import ScenarioSpec, build_params, nominal_propellant_need_kg
from riskengine.config.parameters import PARAMETERS
from riskengine.config.scenario import hover_mass_flow_kgps, hover_reserve_kg, resolved_values
from riskengine.core.outcomes import TouchdownMode
from riskengine.errors import ConfigError
from riskengine.replay import (
    SEED_AXIS,
    ReplayRun,
    load_replay,
    noise_streams,
    parse_replay,
    run_replay,
    sweep,
    sweep_grid,
)

G0 = 9.80665
MOON_G = 4.9028e12 / 1.7374e6**2  # mu / R^2 of the body model (NASA Moon fact sheet)
APOLLO = {"vehicle": "apollo_lm", "sensors": "apollo_landing_radar", "guidance": "apollo"}


@pytest.fixture(scope="module")
def apollo11() -> ReplayRun:
    return run_replay(load_replay("apollo11"))


def _event_t(run: ReplayRun, name: str) -> float:
    return next(e["t_s"] for e in run.events() if e["name"] == name)


def test_apollo11_lands_within_the_gear_envelope_on_apollos_timeline(apollo11):
    r = apollo11.to_json()
    # Within the gear's speeds. On the 2-D Tranquility model the unpiloted replay comes down 158 m from the
    # target on a small crater's wall (21 deg across the LM's 9 m span): the crew's redesignation of the
    # landing point, which took Eagle past West crater to level ground, is not modelled.
    assert r["outcome"] in ("landed", "hard_landing")
    if r["outcome"] == "hard_landing":
        assert int(apollo11.result.touchdown_mode) == int(TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT)
    assert r["impact_vertical_speed_mps"] <= 3.0 and r["impact_horizontal_speed_mps"] <= 1.2
    # P63 to the high gate ~8.5 min, P64 to the low gate, then P66 (Apollo 11: 8 min 27 s, ~1 min 48 s, 2 min 23 s).
    braking = _event_t(apollo11, "approach_start")
    approach = _event_t(apollo11, "terminal_descent_start") - braking
    assert 480.0 <= braking <= 540.0
    # Within 25 % of Apollo 11's ~108 s (P64); on the 2-D Tranquility model the high gate comes ~0.5 km
    # higher than on the old profile and the approach takes ~128 s.
    assert 81.0 <= approach <= 135.0
    # The landing radar's ~13.7 km (45,000 ft) is its slant range along the altitude beam: the LM pitched
    # back in braking looks at the ground tens of degrees off the vertical, so the first reading comes lower
    # (the beam geometry, not a setting), and it finds the stated ~880 m altitude error.
    first = next(e for e in apollo11.events() if e["name"] == "altimeter_first_valid")
    assert 9_000.0 < first["true_altitude_m"] < 13_700.0
    assert 700.0 < first["estimated_altitude_m"] - first["true_altitude_m"] < 1000.0


@pytest.fixture(scope="module")
def apollo11_streams() -> list[dict]:
    spec = load_replay("apollo11")
    return sweep_grid(spec, {SEED_AXIS: noise_streams(spec, 8)})


def test_apollo11_facts_across_noise_streams(apollo11_streams):
    # Apollo 11 is one flight; the replay at one seed is one draw of the radar's noise, the IMU's walks and
    # the ground under the pads, so the facts are judged over 8 noise streams (measured: all 8 land, P66
    # 135-157 s, propellant left 93-175 kg). Every fact but the propellant left holds at 7 of 8 or more.
    # The hover margin, like fuel_margin_pct, is loaded at PDI: the LM burns about half of any propellant it
    # carries down (mass ratio ~0.5), and navigation costs a little more, so the planned 73 s (~289 kg at PDI)
    # leave ~25-40 s at contact, not Apollo 11's 45-50 s (184-206 kg). Apollo's 303 kg was a touchdown
    # figure; the replay states the public 73 s and lets the fact show the difference.
    n = len(apollo11_streams)
    held = {fid: sum(bool(r["facts"][fid]) for r in apollo11_streams) for fid in apollo11_streams[0]["facts"]}
    assert held.pop("apollo11_propellant_left") <= 2
    assert all(k >= n - 1 for k in held.values()), held
    left = sorted(r["propellant_remaining_kg"] for r in apollo11_streams)
    assert 90.0 <= (left[n // 2 - 1] + left[n // 2]) / 2 <= 170.0, left


def test_apollo11_loads_the_nominal_need_plus_73_s_of_hover(apollo11):
    spec = apollo11.spec
    need = nominal_propellant_need_kg(spec.scenario, spec.site, spec.assignments)
    values = resolved_values(spec.scenario, spec.site, spec.assignments)
    flow = hover_mass_flow_kgps(values, values["vehicle.dry_mass_kg"])
    assert float(apollo11.params.vehicle.propellant_kg) == pytest.approx(need + 73.0 * flow, abs=0.01)


def test_the_planned_profile_takes_about_twelve_minutes():
    # The preset alone (no crew inputs): the press kit's ~12 min plan, its P66 ~2 min from the 500 ft low gate.
    # Flown over 8 noise streams: the radar's noise moves the approach's corrections, and with them the
    # propellant the 73 s reserve has to cover. Measured: 7 of 8 land with 51-122 kg left, seed 7 comes down
    # hard with 46 kg. Before the approach handed over on its vertical channel (guidance.vertical_arrived)
    # 2 of 8 ran dry: those that stayed a few metres above the gate crawled to it at a near hover.
    runs = [
        run_replay(
            parse_replay(
                {
                    "site": "tranquility_base",
                    "scenario": APOLLO,
                    "assignments": {"fuel_margin_hover_s": 73.0},
                    "seed": seed,
                }
            )
        )
        for seed in range(1, 9)
    ]
    landed = [run for run in runs if run.outcome == "landed"]
    assert len(landed) >= 6, [run.outcome for run in runs]
    assert all(run.outcome != "propellant_exhausted" for run in runs), [run.outcome for run in runs]
    durations = sorted(float(run.result.duration_s) for run in runs)
    assert 700.0 <= durations[len(durations) // 2] <= 760.0
    for run in landed:
        assert 700.0 <= float(run.result.duration_s) <= 755.0
        # about the planned 2 min, shorter than the 2 min 23 s Armstrong flew (measured up to 127 s)
        assert float(run.result.duration_s) - _event_t(run, "terminal_descent_start") < 140.0


def test_hover_flow_is_the_closed_form_and_apollos_4_1_kg_per_s():
    values = resolved_values(ScenarioSpec(**APOLLO), "tranquility_base")
    v = {k.split(".", 1)[1]: x for k, x in values.items() if k.startswith("vehicle.")}
    m = v["dry_mass_kg"]
    throttle = m * MOON_G / v["max_thrust_n"]
    assert v["min_throttle"] < throttle < v["throttle_band_low"]  # the LM hovers inside its 10-60 % range
    isp = v["isp_min_throttle_s"] + (v["isp_s"] - v["isp_min_throttle_s"]) * (
        throttle - v["min_throttle"]
    ) / (1.0 - v["min_throttle"])
    closed = m * MOON_G / (isp * G0)
    assert hover_mass_flow_kgps(values, m) == pytest.approx(closed, rel=1e-5)
    assert hover_reserve_kg(values, 73.0) == pytest.approx(73.0 * closed, rel=1e-5)
    # Apollo: ~303 kg for ~73 s, ~4.1 kg/s (within 15 %: the flow here is at the dry mass, Eagle's was ~4 % heavier).
    assert closed == pytest.approx(4.1, rel=0.15)
    assert hover_reserve_kg(values, 73.0) == pytest.approx(303.0, rel=0.15)
    # Below minimum throttle the engine cannot hover: the flow is m g at the minimum-throttle Isp.
    light = 100.0
    assert hover_mass_flow_kgps(values, light) == pytest.approx(
        light * MOON_G / (v["isp_min_throttle_s"] * G0), rel=1e-5
    )


def test_hover_margin_is_registered_in_seconds():
    info = PARAMETERS["fuel_margin_hover_s"]
    assert info.unit == "s" and (info.low, info.high) == (-300.0, 3600.0)


@pytest.mark.parametrize("bad", [-400.0, 4000.0, math.nan])
def test_a_bad_hover_margin_names_field_value_and_range(bad):
    with pytest.raises(ConfigError) as exc:
        build_params(ScenarioSpec(), "mare_frigoris", {"fuel_margin_hover_s": bad})
    msg = str(exc.value)
    assert f"'fuel_margin_hover_s' = {bad!r}" in msg and "[-300, 3600] s" in msg
    assert exc.value.field == "fuel_margin_hover_s"
    with pytest.raises(pydantic.ValidationError, match=r"overrides.fuel_margin_hover_s.*\[-300, 3600\] s"):
        ScenarioSpec(overrides={"fuel_margin_hover_s": bad})


def test_both_margins_are_refused():
    with pytest.raises(
        ConfigError, match=r"fuel_margin_hover_s' = 30.0: give one propellant margin.*fuel_margin_pct = 10.0"
    ):
        build_params(ScenarioSpec(), "mare_frigoris", {"fuel_margin_pct": 10.0, "fuel_margin_hover_s": 30.0})
    with pytest.raises(ConfigError, match="not both"):  # one from the overrides, one from the cell
        build_params(
            ScenarioSpec(overrides={"fuel_margin_pct": 10.0}), "mare_frigoris", {"fuel_margin_hover_s": 30.0}
        )
    # A sweep of the other margin over a replay that states one.
    with pytest.raises(ConfigError, match="not both"):
        sweep(load_replay("apollo11"), "fuel_margin_pct", [10.0])


def test_hover_margin_is_not_a_dispersion():
    from riskengine.config import build_dispersion
    from riskengine.config.distributions import Normal

    with pytest.raises(ConfigError, match="fuel_margin_hover_s is a grid axis"):
        build_dispersion({"fuel_margin_hover_s": Normal(kind="normal", mean=60.0, std=5.0)})
