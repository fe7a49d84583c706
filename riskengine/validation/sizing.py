"""How big a validation run is: ``quick`` (minutes on a laptop) or full (a bench-style run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_SEED = 20230425
SITES: tuple[str, ...] = ("atlas_crater", "mare_frigoris")


@dataclass(frozen=True)
class Sizes:
    quick: bool
    seed: int
    sites: tuple[str, ...]
    latency_axis_s: tuple[float, ...]  # paired monotonicity, at MONOTONIC_MARGIN_PCT
    margin_axis_pct: tuple[float, ...]  # paired monotonicity, at MONOTONIC_LATENCY_S
    monotonic_samples: int  # per cell
    working_samples: int  # per site
    consistency_samples: int
    replay_streams: int  # noise streams each replay is flown at (its stated seed first)
    replay_band_points: int  # values across each band of a replay's ranges
    rk4_dts_s: tuple[float, ...]  # fixed-thrust burn, halving steps
    nominal_dts_s: tuple[float, ...]  # nominal descent's propellant need

    @staticmethod
    def make(
        quick: bool, *, samples: int | None = None, seed: int = DEFAULT_SEED, sites: tuple[str, ...] = SITES
    ) -> Sizes:
        """The standard sizes; ``samples`` replaces every Monte Carlo count (for tests and smoke runs)."""
        if samples is not None and samples < 1:
            raise ValueError(f"samples must be positive, got {samples}")

        def n(quick_n: int, full_n: int) -> int:
            return samples if samples is not None else (quick_n if quick else full_n)

        return Sizes(
            quick=quick,
            seed=seed,
            sites=sites,
            latency_axis_s=(0.0, 20.0, 40.0) if quick else (0.0, 10.0, 20.0, 30.0, 45.0, 60.0),
            margin_axis_pct=(5.0, 10.0, 20.0) if quick else (0.0, 5.0, 10.0, 20.0, 30.0),
            monotonic_samples=n(256, 1000),
            working_samples=n(512, 2000),
            consistency_samples=n(64, 256),
            replay_streams=4 if quick else 8,
            replay_band_points=3 if quick else 5,
            # Below 2 s the burn's float64 error reaches its rounding floor (~5e-8 m, measured at 1 s and 0.5 s).
            rk4_dts_s=(32.0, 16.0, 8.0, 4.0, 2.0) if quick else (128.0, 64.0, 32.0, 16.0, 8.0, 4.0, 2.0),
            # 0.2 s is refused by the configuration: the guidance period (0.5 s) must be a whole multiple.
            nominal_dts_s=(0.1, 0.05, 0.025),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


MONOTONIC_MARGIN_PCT = 10.0
MONOTONIC_LATENCY_S = 20.0
WORKING_LATENCY_S = 0.0
WORKING_MARGIN_PCT = 10.0
CONSISTENCY_SITE = "mare_frigoris"
