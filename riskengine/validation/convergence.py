"""Section 2: convergence over dt, with the observed order fitted.

* The core's ``rk4_step`` on a fixed-thrust braking burn (gravity, thrust, falling mass) at dt, dt/2, ...
  In float64 (``jax.enable_x64``, the same function): in float32 the rounding floor (measured ~0.1 m
  for dt 1-32 s over this 512 s burn, which ends 450 km from the site) is above RK4's truncation error
  (0.02 m at dt 32 s), so no order is observable in float32. The float32 error at the engine's dt is
  reported alongside as a diagnostic.
* The nominal descent's propellant need at several ``sim.dt_s`` (``nominal_propellant_need_kg``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import ScenarioSpec, nominal_propellant_need_kg
from riskengine.core import BodyParams
from riskengine.core.constants import G0_MPS2, MOON_MU_M3PS2, MOON_RADIUS_M
from riskengine.validation.checks_closed_form import integrate
from riskengine.validation.section import Check, Figure, SectionResult, Table, new_figure, to_png
from riskengine.validation.sizing import Sizes

KEY, TITLE = "convergence", "Convergence over the integration step"

EXPECTED_ORDER = 4.0
ORDER_TOLERANCE = 0.3
# The fixed-thrust burn: 512 s of a braking burn 15 km up at orbital speed, thrust back and up.
BURN_T_S = 512.0
BURN_P0_M = (0.0, 0.0, 15000.0)
BURN_V0_MPS = (1690.0, 0.0, 0.0)
BURN_MASS_KG = 1000.0
BURN_FORCE_N = (-2500.0, 0.0, 600.0)
BURN_ISP_S = 310.0
ENGINE_DT_S = 0.1
NOMINAL_SITE = "mare_frigoris"
NOMINAL_TOLERANCE = 2e-3  # relative change of the need between the two finest steps


def fit_order(dts: Sequence[float], errors: Sequence[float]) -> tuple[float, list[float]]:
    """Observed order: least-squares slope of log(error) on log(dt), and each successive ratio's order.

    ``errors[i]`` is the error at ``dts[i]``; pairwise orders are log(e_i / e_{i+1}) / log(dt_i / dt_{i+1}).
    """
    dt = np.asarray(dts, np.float64)
    err = np.asarray(errors, np.float64)
    if dt.shape != err.shape or dt.size < 2:
        raise ValueError("need at least two (dt, error) pairs of equal length")
    if np.any(err <= 0) or np.any(dt <= 0):
        raise ValueError("errors and steps must be positive to fit an order")
    pairwise = (np.log(err[:-1] / err[1:]) / np.log(dt[:-1] / dt[1:])).tolist()
    slope = float(np.polyfit(np.log(dt), np.log(err), 1)[0])
    return slope, pairwise


def burn_state(dt_s: float, dtype: type = jnp.float64) -> tuple[np.ndarray, float]:
    """(6,) position and velocity, and the mass (kg), after the fixed-thrust burn at ``dt_s`` in ``dtype``."""
    n = round(BURN_T_S / dt_s)
    if abs(n * dt_s - BURN_T_S) > 1e-9:
        raise ValueError(f"dt {dt_s} does not divide the burn's {BURN_T_S} s")
    mdot = math.hypot(*BURN_FORCE_N) / (BURN_ISP_S * G0_MPS2)
    body = BodyParams(mu_m3ps2=jnp.asarray(MOON_MU_M3PS2, dtype), radius_m=jnp.asarray(MOON_RADIUS_M, dtype))
    p, v, m, _ = integrate(
        jnp.asarray(BURN_P0_M, dtype),
        jnp.asarray(BURN_V0_MPS, dtype),
        jnp.asarray(BURN_MASS_KG, dtype),
        jnp.asarray(BURN_FORCE_N, dtype),
        jnp.asarray(mdot, dtype),
        body,
        jnp.asarray(dt_s, dtype),
        n,
    )
    return np.concatenate([np.asarray(p, np.float64), np.asarray(v, np.float64)]), float(m)


@dataclass(frozen=True)
class OrderStudy:
    dts_s: list[float]
    position_error_m: list[float]  # float64, against the dts_s[-1] / 8 reference
    pairwise_order: list[float]  # between successive steps
    fitted_order: float
    float32_error_at_engine_dt_m: float
    float32_mass_error_at_engine_dt_kg: float


def rk4_order(dts: Sequence[float]) -> OrderStudy:
    """Position errors of the burn against a reference at dts[-1] / 8 (float64), and the fitted order."""
    with jax.enable_x64(True):
        ref, _ = burn_state(dts[-1] / 8.0)
        states = [burn_state(dt)[0] for dt in dts]
        state32, mass32 = burn_state(ENGINE_DT_S, jnp.float32)
    errors = [float(np.linalg.norm(s[:3] - ref[:3])) for s in states]
    exact_mass = BURN_MASS_KG - math.hypot(*BURN_FORCE_N) / (BURN_ISP_S * G0_MPS2) * BURN_T_S
    order, pairwise = fit_order(dts, errors)
    return OrderStudy(
        dts_s=list(dts),
        position_error_m=errors,
        pairwise_order=pairwise,
        fitted_order=order,
        float32_error_at_engine_dt_m=float(np.linalg.norm(state32[:3] - ref[:3])),
        float32_mass_error_at_engine_dt_kg=mass32 - exact_mass,
    )


def nominal_needs(dts: Sequence[float]) -> list[float]:
    return [nominal_propellant_need_kg(ScenarioSpec(sim={"dt_s": dt}), NOMINAL_SITE) for dt in dts]


def _plot(rk4: OrderStudy) -> Figure:
    dts = np.asarray(rk4.dts_s)
    errs = np.asarray(rk4.position_error_m)
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    ax.loglog(dts, errs, "o-", label="RK4 position error (float64)")
    ax.loglog(dts, errs[-1] * (dts / dts[-1]) ** EXPECTED_ORDER, "--", color="0.5", label="slope 4")
    ax.axhline(rk4.float32_error_at_engine_dt_m, color="C3", lw=0.8, label="float32 at dt 0.1 s")
    ax.set_xlabel("dt (s)")
    ax.set_ylabel("position error after 512 s (m)")
    ax.legend(fontsize=8)
    return to_png(fig, f"RK4 on a fixed-thrust burn: fitted order {rk4.fitted_order:.2f}")


def run(sizes: Sizes) -> SectionResult:
    rk4 = rk4_order(sizes.rk4_dts_s)
    order, f32_err = rk4.fitted_order, rk4.float32_error_at_engine_dt_m
    f32_mass = rk4.float32_mass_error_at_engine_dt_kg
    needs = nominal_needs(sizes.nominal_dts_s)
    changes = [abs(a - b) for a, b in itertools.pairwise(needs)]
    rel_last = changes[-1] / needs[-1]
    checks = (
        Check(
            "RK4 fitted order (fixed-thrust burn)",
            order,
            f"{EXPECTED_ORDER:g} +- {ORDER_TOLERANCE:g}",
            abs(order - EXPECTED_ORDER) <= ORDER_TOLERANCE,
        ),
        Check("float32 burn position error at dt 0.1 s", f32_err, "diagnostic", None, "m"),
        Check("float32 mass bookkeeping error at dt 0.1 s", f32_mass, "diagnostic", None, "kg"),
        Check(
            f"nominal need: relative change dt {sizes.nominal_dts_s[-2]:g} -> {sizes.nominal_dts_s[-1]:g} s",
            rel_last,
            f"< {NOMINAL_TOLERANCE:g}",
            rel_last < NOMINAL_TOLERANCE,
        ),
        # Below float32's own mass bookkeeping error (the burn above: ~0.1 kg over 512 s) a change of the
        # need is rounding, not truncation, and need not shrink: at 344 kg the changes were 7 and 5 g
        # (engine 6648760), then 3 and 5 g after a guidance change that moved the need by 30 g (3fc08a8).
        Check(
            "nominal need: changes shrink as dt halves (or lie below the float32 mass floor)",
            changes[-1] - changes[0],
            f"<= 0 kg, or last change < {abs(f32_mass):.3g} kg",
            changes[-1] <= changes[0] + 1e-6 or changes[-1] < abs(f32_mass),
            "kg",
        ),
    )
    rk4_rows = [
        (dt, e, "" if i == 0 else rk4.pairwise_order[i - 1])
        for i, (dt, e) in enumerate(zip(rk4.dts_s, rk4.position_error_m, strict=True))
    ]
    need_rows = [
        (dt, need, "" if i == 0 else need - needs[i - 1])
        for i, (dt, need) in enumerate(zip(sizes.nominal_dts_s, needs, strict=True))
    ]
    return SectionResult(
        KEY,
        TITLE,
        checks=checks,
        tables=(
            Table.of(
                "RK4 fixed-thrust burn (float64): error vs a dt/8 reference",
                ("dt (s)", "position error (m)", "order vs previous"),
                rk4_rows,
            ),
            Table.of(
                f"Nominal descent's propellant need at {NOMINAL_SITE}",
                ("sim.dt_s", "need (kg)", "change (kg)"),
                need_rows,
            ),
        ),
        figures=(_plot(rk4),),
        notes=(
            "Burn: 512 s from 15 km at 1690 m/s, 2.57 kN thrust back and up at Isp 310 s, 1000 kg; "
            "riskengine.core.dynamics.rk4_step in float64 (jax.enable_x64), reference at the finest dt / 8.",
            "float32 at the engine's dt (diagnostic, no verdict): the engine's own precision. Most of that "
            "position error is the mass bookkeeping m - mdot dt rounded in float32 every step (a mass ~600-1000 kg "
            "is spaced 6e-5 kg, a step burns 0.009 kg), which drifts by the reported mass error; the rest is the "
            "spacing of float32 positions 450 km from the site (0.03 m).",
            "Nominal need: sim.dt_s 0.1 / 0.05 / 0.025 (the brief's 0.2 s is refused by the configuration: the "
            "guidance period, 0.5 s, must be a whole multiple of dt). Touchdown and phase switches fall on step "
            "boundaries, so the need converges at first order, not fourth.",
        ),
        data={
            "rk4": asdict(rk4),
            "nominal": {"site": NOMINAL_SITE, "dts_s": list(sizes.nominal_dts_s), "need_kg": needs},
        },
    )
