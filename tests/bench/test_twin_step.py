"""One step of the NumPy twin (bench/numpy_twin.py) from the engine's own state, against the engine's step.

End to end, a descent is chaotic once the altimeter's beams are in range (tests/bench/test_twin_agreement.py),
so the model itself is compared here, one step at a time from identical states: along a whole descent,
every 50 steps in braking, then every reading step (beam casts against the true terrain and the onboard
map, range and Doppler updates) and every step that ends a covariance propagation period.

Per field the figure is |twin - engine| over (|the step's change| + 8 float32 ulps of the field). Measured
over 415 states of sample 1 at key 3 (138 with beam updates): filter and truth states <= 0.004 (position
estimate 0.0025, accelerometer bias 0.004, covariance 0.0011: the slant ranges, good to ~0.25 mm at 2.5 km
in float32, differ by their last bits). Each model change sends the sample along another path, and on
some paths one multi-update reading step reaches 0.03 in an estimate (with the initial covariance rotated
into the PDI frame: a 6-update step 940 m up moved the position estimate 6 cm, the twin 2 mm apart, ~4
float32 ulps of its coordinate; with the gravity gradient, 0.030 in the bias estimate), so the estimates'
tolerance is 0.05; fields a step barely moves, where rounding is a visible fraction of
the change, <= 0.24 (throttle), 0.08 (true height), 0.07 (attitude and its knowledge). A missing row term,
a wrong variance or a sign moves the first group by tens of percent of the change, or the exact ones.
(Saturated guidance near the vertical is ill-conditioned in float32 -- ``sqrt(a_max^2 - a_v^2)`` of nearly
equal numbers -- and gives 20-60 on attitude and command in a crashing sample, 13 at key 3; not this one.)
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import numpy_twin
from bench.inputs import study_inputs

jax = pytest.importorskip("jax")

FIELDS: dict[str, tuple[str, float]] = {
    "p": ("position_m", 0.02), "v": ("velocity_mps", 0.02), "p_est": ("est_position_m", 0.05),
    "v_est": ("est_velocity_mps", 0.05), "cov": ("nav.cov", 0.02), "bias_est": ("nav.bias_est_mps2", 0.05),
    "nis_sum": ("nav.nis_sum", 0.02), "t_go": ("guidance.t_go_s", 0.02), "prop": ("propellant_kg", 0.02),
    "knowledge": ("attitude_knowledge_error_rad", 0.5), "q": ("attitude", 0.5), "cmd_dir": ("cmd_dir", 0.5),
    "throttle": ("throttle", 0.5), "h_true": ("heights.true_m", 0.5), "h_est": ("heights.estimated_m", 0.5),
}  # fmt: skip
EXACT = {
    "nis_count": "nav.nis_count", "rejections": "nav.total_rejections", "failed": "nav.failed",
    "phase": "guidance.phase", "done": "done", "t_in_range": "t_in_range_s",
}  # fmt: skip


def _get(tree: object, path: str) -> np.ndarray:
    for part in path.split("."):
        tree = getattr(tree, part)
    return np.asarray(tree)


def test_one_step_from_engine_states() -> None:
    from riskengine.core import apply_dispersion, engine, noise

    params, dispersion = study_inputs()
    key, sample = jax.random.key(3), 1
    inputs = numpy_twin.inputs_from_engine(params, dispersion, key, np.array([sample], np.int32))
    # The sample's parameters, initial state and noise seed as simulate_sample derives them.
    k_disp, k_init, k_noise = engine._keys(jax.random.fold_in(key, sample))
    p = apply_dispersion(params, dispersion, k_disp)
    seed = noise.lane_seed(k_noise)
    step = jax.jit(lambda s: engine.step(p, s, seed))
    advance = jax.jit(
        lambda s, n: jax.lax.while_loop(
            lambda x: (x.step < n) & ~x.done, lambda x: engine.step(p, x, seed), s
        )
    )
    like = numpy_twin.initial_state(inputs)
    state, target, checked, updates = engine.init(p, k_init), 0, 0, 0
    worst = dict.fromkeys(FIELDS, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for k in range(10_000):
            state = advance(state, target)
            if bool(state.done):
                break
            # Reading and guidance steps are the multiples of 5; the covariance propagates in the 5th.
            spacing = 5 if np.isfinite(float(state.t_in_range_s)) else 50
            target = (target // 5) * 5 + spacing + (4 if k % 2 == 0 else 0)
            after = step(state)
            twin = numpy_twin.step(inputs.params, numpy_twin.state_from_engine(state, like), inputs.seed)
            checked += 1
            updates += int(after.nav.nis_count > state.nav.nis_count)
            for name, path in EXACT.items():
                assert np.array_equal(_get(after, path), getattr(twin, name)[0]), (int(state.step), name)
            for name, (path, _) in FIELDS.items():
                a0, a1 = _get(state, path).astype(np.float64), _get(after, path).astype(np.float64)
                scale = np.abs(a1 - a0) + 8 * 2.0**-23 * np.max(np.abs(a1))
                err = np.abs(getattr(twin, name)[0] - a1) / np.maximum(scale, 1e-30)
                worst[name] = max(worst[name], float(np.max(err)))
    assert checked > 300 and updates > 100, (checked, updates)  # braking and the beams both covered
    bad = {name: w for name, w in worst.items() if w > FIELDS[name][1]}
    assert not bad, (bad, worst)
