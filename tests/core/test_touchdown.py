"""Touchdown classification against closed-form stability results (``riskengine.core.touchdown``)."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from riskengine.config import load_preset
from riskengine.config.models import VehicleSpec
from riskengine.core import MODE_OUTCOME, OUTCOMES, TOUCHDOWN_MODES, Outcome, TouchdownMode, VehicleParams
from riskengine.core import touchdown as td

G = 1.625  # lunar surface gravity, m/s^2
B, H = 1.3, 1.0  # m1-class footprint radius and CG height
A = math.atan2(B, H)  # static tip angle, 52.43 deg
D = math.hypot(B, H)


@pytest.fixture(scope="module")
def vehicle() -> VehicleParams:
    spec = load_preset("vehicles", "m1_class", VehicleSpec)
    fields = {f.name: jnp.float32(getattr(spec, f.name)) for f in dataclasses.fields(VehicleParams)}
    v = VehicleParams(**fields)
    assert float(v.footprint_radius_m) == pytest.approx(B) and float(v.cg_height_m) == pytest.approx(H)
    return v


def _run(vehicle, sink, v_h, grad, rock=0.0, contacted=True, ran_dry=False):
    out, mode = td.classify(
        vehicle,
        jnp.asarray(contacted),
        jnp.asarray(ran_dry),
        jnp.float32(sink),
        jnp.asarray(v_h, jnp.float32),
        jnp.asarray(grad, jnp.float32),
        jnp.float32(rock),
        jnp.float32(G),
    )
    return Outcome(int(out)), TouchdownMode(int(mode))


def _slope_grad(slope_deg: float) -> list[float]:
    """Ground descending towards +x by ``slope_deg``."""
    return [-math.tan(math.radians(slope_deg)), 0.0]


def _critical(vehicle, v_of_speed, grad, sink_of_speed=lambda s: 0.0, hi=20.0) -> float:
    """Smallest speed that tips dynamically (bisection on the classifier itself)."""
    vehicle = vehicle.replace(crash_speed_mps=jnp.float32(1e3))  # the envelope, not the structure
    lo = 0.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        _, mode = _run(vehicle, sink_of_speed(mid), v_of_speed(mid), grad)
        lo, hi = (lo, mid) if mode == TouchdownMode.TIPPED_DYNAMIC else (mid, hi)
    return 0.5 * (lo + hi)


def _hand_critical_u(slope_deg: float) -> float:
    """Energy balance with w = 0, moving towards the pad on a ground descending by ``slope_deg`` towards it:
    0.5 (u cos(tau) cos A)^2 = g d (1 - cos(A - tau))."""
    tau = math.radians(slope_deg)
    return math.sqrt(2 * G * D * (1 - math.cos(A - tau))) / (math.cos(tau) * math.cos(A))


def test_standard_outcomes_unchanged() -> None:
    assert OUTCOMES == ("landed", "hard_landing", "tip_over", "propellant_exhausted", "crashed", "timeout")
    assert TOUCHDOWN_MODES[TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT] == "at_rest_beyond_operational_tilt"


def test_every_mode_maps_to_exactly_one_outcome() -> None:
    assert set(MODE_OUTCOME) == set(TouchdownMode)
    assert all(isinstance(o, Outcome) for o in MODE_OUTCOME.values())
    assert set(MODE_OUTCOME.values()) == set(Outcome)  # every standard outcome is reachable
    assert MODE_OUTCOME[TouchdownMode.SAFE] == Outcome.LANDED
    assert [m for m, o in MODE_OUTCOME.items() if o == Outcome.LANDED] == [TouchdownMode.SAFE]


def test_flat_ground_without_horizontal_speed_never_tips(vehicle) -> None:
    for sink in (0.0, 1.0, 2.9, 5.0, 5.99, 50.0):
        out, mode = _run(vehicle, sink, [0.0, 0.0], [0.0, 0.0])
        assert out != Outcome.TIP_OVER and mode not in (
            TouchdownMode.TIPPED_DYNAMIC,
            TouchdownMode.TIPPED_STATIC,
        )


def test_static_tip_angle(vehicle) -> None:
    assert float(td.static_tip_angle_deg(vehicle)) == pytest.approx(52.4314, abs=1e-3)
    below = _run(vehicle, 0.0, [0.0, 0.0], _slope_grad(math.degrees(A) - 0.05))
    above = _run(vehicle, 0.0, [0.0, 0.0], _slope_grad(math.degrees(A) + 0.05))
    assert below == (Outcome.HARD_LANDING, TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT)
    assert above == (Outcome.TIP_OVER, TouchdownMode.TIPPED_STATIC)
    # A rock adds to the ground slope, in any direction of the gradient.
    grad = [math.tan(math.radians(30.0)) * math.cos(2.0), math.tan(math.radians(30.0)) * math.sin(2.0)]
    assert _run(vehicle, 0.0, [0.0, 0.0], grad, rock=22.3)[1] == TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT
    assert _run(vehicle, 0.0, [0.0, 0.0], grad, rock=22.6)[1] == TouchdownMode.TIPPED_STATIC


def test_at_rest_on_20_deg_is_not_a_tip_over(vehicle) -> None:
    out, mode = _run(vehicle, 0.0, [0.0, 0.0], [0.0, math.tan(math.radians(20.0))])
    assert (out, mode) == (Outcome.HARD_LANDING, TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT)
    assert float(td.tilt_deg(jnp.asarray(_slope_grad(20.0)), jnp.float32(1.5))) == pytest.approx(
        21.5, abs=1e-4
    )
    # ... and within the operational tilt, slow, it is landed.
    assert _run(vehicle, 1.0, [0.3, 0.0], _slope_grad(11.0)) == (Outcome.LANDED, TouchdownMode.SAFE)


def test_downhill_critical_speed_matches_energy_balance(vehicle) -> None:
    grad = _slope_grad(10.0)
    u = _critical(vehicle, lambda s: [s, 0.0], grad)
    assert u == pytest.approx(_hand_critical_u(10.0), abs=1e-3)
    assert u == pytest.approx(
        1.9678, abs=1e-3
    )  # by hand: sqrt(2 * 1.625 * 1.640 * 0.2618) / (0.9848 * 0.6097)
    # The downhill direction may be any horizontal direction.
    c, s = math.cos(0.7), math.sin(0.7)
    grad_r = [grad[0] * c, grad[0] * s]
    assert _critical(vehicle, lambda v: [v * c, v * s], grad_r) == pytest.approx(u, abs=1e-3)


def test_uphill_more_stable_than_across_more_stable_than_downhill(vehicle) -> None:
    grad = _slope_grad(10.0)
    down = _critical(vehicle, lambda s: [s, 0.0], grad)
    up = _critical(vehicle, lambda s: [-s, 0.0], grad)
    across = _critical(vehicle, lambda s: [0.0, s], grad)
    assert down < across < up
    assert across == pytest.approx(_hand_critical_u(0.0), abs=1e-3)  # across: no slope in the slide plane
    assert up == pytest.approx(_hand_critical_u(-10.0), abs=1e-3)
    # At one speed between them: downhill tips, across and uphill do not.
    assert _run(vehicle, 0.0, [2.1, 0.0], grad)[1] == TouchdownMode.TIPPED_DYNAMIC
    assert _run(vehicle, 0.0, [0.0, 2.1], grad)[1] != TouchdownMode.TIPPED_DYNAMIC
    assert _run(vehicle, 0.0, [-2.1, 0.0], grad)[1] != TouchdownMode.TIPPED_DYNAMIC


def test_sink_on_a_slope_adds_tipping(vehicle) -> None:
    grad = _slope_grad(10.0)
    u0 = _critical(vehicle, lambda s: [s, 0.0], grad)
    u1 = _critical(vehicle, lambda s: [s, 0.0], grad, sink_of_speed=lambda s: 1.0)
    assert u1 < u0 - 0.1  # the sink's downslope part, w sin(tau), adds to the slide
    assert _run(vehicle, 0.0, [1.9, 0.0], grad)[1] != TouchdownMode.TIPPED_DYNAMIC
    assert _run(vehicle, 1.0, [1.9, 0.0], grad)[1] == TouchdownMode.TIPPED_DYNAMIC
    # No horizontal speed on 30 deg: tips above w = v_s* / sin(30 deg), v_s* from the energy balance.
    tau = math.radians(30.0)
    w_hand = math.sqrt(2 * G * D * (1 - math.cos(A - tau))) / (math.sin(tau) * math.cos(A))
    w = _critical(vehicle, lambda s: [0.0, 0.0], _slope_grad(30.0), sink_of_speed=lambda s: s, hi=5.9)
    assert w == pytest.approx(w_hand, abs=1e-3)
    # On flat ground the same sink does nothing.
    assert _run(vehicle, w + 0.5, [0.0, 0.0], [0.0, 0.0])[0] != Outcome.TIP_OVER


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sink": 1.0, "v_h": [0.2, 0.1], "grad": [0.05, 0.0]}, TouchdownMode.SAFE),
        (
            {"sink": 1.0, "v_h": [0.0, 0.0], "grad": _slope_grad(15.0)},
            TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT,
        ),
        ({"sink": 3.5, "v_h": [0.0, 0.0], "grad": [0.0, 0.0]}, TouchdownMode.OVER_VERTICAL_LIMIT),
        ({"sink": 1.0, "v_h": [0.0, 1.2], "grad": [0.0, 0.0]}, TouchdownMode.OVER_HORIZONTAL_LIMIT),
        ({"sink": 1.0, "v_h": [3.0, 0.0], "grad": [0.0, 0.0]}, TouchdownMode.TIPPED_DYNAMIC),
        ({"sink": 0.5, "v_h": [0.0, 0.0], "grad": _slope_grad(60.0)}, TouchdownMode.TIPPED_STATIC),
        (
            {"sink": 1.0, "v_h": [3.0, 0.0], "grad": [0.0, 0.0], "ran_dry": True},
            TouchdownMode.DRY_BEFORE_CONTACT,
        ),
        ({"sink": 6.5, "v_h": [0.0, 0.0], "grad": [0.0, 0.0]}, TouchdownMode.CRUSHED),
        ({"sink": 1.0, "v_h": [0.0, 0.0], "grad": [0.0, 0.0], "contacted": False}, TouchdownMode.NO_CONTACT),
        # Ran dry but landed safely (fell the last centimetres): landed.
        ({"sink": 1.0, "v_h": [0.0, 0.0], "grad": [0.0, 0.0], "ran_dry": True}, TouchdownMode.SAFE),
    ],
)
def test_each_mode_and_its_outcome(vehicle, kwargs, expected) -> None:
    out, mode = _run(vehicle, **kwargs)
    assert mode == expected
    assert out == MODE_OUTCOME[expected]


def test_vmap_and_jit_equal_per_sample(vehicle) -> None:
    rng = np.random.default_rng(7)
    n = 512
    contacted = rng.random(n) > 0.05
    ran_dry = rng.random(n) > 0.9
    sink = rng.uniform(0.0, 7.0, n).astype(np.float32)
    v_h = rng.normal(0.0, 1.5, (n, 2)).astype(np.float32)
    grad = rng.normal(0.0, 0.3, (n, 2)).astype(np.float32)
    v_h[:8] = 0.0  # undefined slide direction
    grad[8:16] = 0.0  # undefined downhill
    rock = rng.exponential(3.0, n).astype(np.float32)
    g = jnp.float32(G)
    batched = jax.jit(jax.vmap(td.classify, in_axes=(None, 0, 0, 0, 0, 0, 0, None)))
    out_b, mode_b = batched(vehicle, contacted, ran_dry, sink, v_h, grad, rock, g)
    assert out_b.dtype == jnp.int32 and mode_b.dtype == jnp.int32 and out_b.shape == (n,)
    one = jax.jit(td.classify)
    per = [one(vehicle, contacted[i], ran_dry[i], sink[i], v_h[i], grad[i], rock[i], g) for i in range(64)]
    np.testing.assert_array_equal(np.asarray(out_b[:64]), [int(o) for o, _ in per])
    np.testing.assert_array_equal(np.asarray(mode_b[:64]), [int(m) for _, m in per])
    table = np.array([MODE_OUTCOME[m] for m in TouchdownMode])
    np.testing.assert_array_equal(np.asarray(out_b), table[np.asarray(mode_b)])
    assert len(set(np.asarray(mode_b).tolist())) >= 7  # the random batch exercises most modes
