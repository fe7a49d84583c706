"""Pydantic models of a site's 2-D terrain: grid levels, named landforms, crater population.

Frames and units. Named features are placed by ``east_km`` / ``north_km``: offsets of the feature's centre
from the landing target on the local tangent plane (arc lengths on the lunar sphere, km). The terrain
package rotates them into site track coordinates (``downrange_m`` along the direction of flight
``approach_azimuth_deg``, ``crossrange_m`` to the left of track). Strikes and azimuths are clockwise from
north, degrees. Heights are metres; each feature's ``source`` names its morphometry source or ESTIMATE.

These models are load-time configuration (they shape the grids) and are never study parameters: every
field here is inside a list or a nested model, which the parameter registry does not descend into.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelSpec(_Strict):
    """One square-cell grid level in track coordinates; levels are listed coarsest first."""

    step_m: float = Field(gt=0.5, le=1e4, description="Cell size, m (an integer fraction of the parent's)")
    downrange_km: tuple[float, float] = Field(description="Downrange extent [start, end], km")
    crossrange_km: tuple[float, float] = Field(description="Crossrange extent [right, left], km")

    @model_validator(mode="after")
    def _ordered(self) -> LevelSpec:
        for name, (lo, hi) in (("downrange_km", self.downrange_km), ("crossrange_km", self.crossrange_km)):
            if not lo < hi:
                raise ValueError(f"{name} = [{lo}, {hi}]: the start must be below the end")
        return self


class _Feature(_Strict):
    name: str = Field(min_length=1, description="Unique within the site; map_missing_features refers to it")
    source: str = Field("", description="Morphometry source, or ESTIMATE")
    east_km: float = Field(ge=-2000.0, le=2000.0, description="Centre east of the landing target, km")
    north_km: float = Field(ge=-2000.0, le=2000.0, description="Centre north of the landing target, km")


class ComplexCraterSpec(_Feature):
    """Complex crater: flat or hilly floor, terraced wall, rim crest, ejecta flank (see terrain._landforms)."""

    kind: Literal["complex_crater"] = "complex_crater"
    diameter_km: float = Field(gt=5.0, le=1000.0, description="Rim-crest diameter, km")
    depth_m: float = Field(gt=0.0, le=1e4, description="Rim crest above the floor, m")
    plain_m: float = Field(
        0.0, ge=-1e4, le=1e4, description="Surrounding plain above the floor, m (the flank decays to it)"
    )
    floor_diameter_fraction: float = Field(0.6, gt=0.05, lt=0.95, description="Floor diameter / D")
    terraces: int = Field(3, ge=0, le=10, description="Wall terraces (scarp + bench pairs)")
    scarp_slope_deg: float = Field(25.0, gt=0.0, le=45.0, description="Slope of each terrace scarp")
    central_peak_m: float = Field(
        0.0, ge=0.0, le=1e4, description="Central peak above the floor, m (0: none)"
    )
    floor_relief_m: float = Field(0.0, ge=0.0, le=2000.0, description="Hill amplitude on the floor, m")
    floor_hill_km: float = Field(5.0, gt=0.1, le=100.0, description="Typical floor hill width, km")


class BowlCraterSpec(_Feature):
    """Simple bowl crater (Pike 1977; Melosh 1989): parabolic bowl, raised rim, r^-3 ejecta flank."""

    kind: Literal["bowl_crater"] = "bowl_crater"
    diameter_m: float = Field(gt=1.0, le=20000.0, description="Rim-crest diameter, m")
    depth_ratio: float = Field(0.2, gt=0.0, le=0.35, description="Rim crest to floor depth / diameter")
    rim_ratio: float = Field(0.036, ge=0.0, le=0.1, description="Rim crest above the plain / diameter")


class WrinkleRidgeSpec(_Feature):
    """Mare wrinkle ridge: a broad arch under a narrow asymmetric ridge, ends tapered."""

    kind: Literal["wrinkle_ridge"] = "wrinkle_ridge"
    strike_deg: float = Field(ge=-360.0, le=360.0, description="Ridge axis azimuth, clockwise from north")
    length_km: float = Field(gt=0.1, le=2000.0)
    width_km: float = Field(gt=0.01, le=100.0, description="Full width of the broad arch, km")
    height_m: float = Field(gt=0.0, le=2000.0, description="Crest above the plain, m")
    steep_side: Literal["left", "right"] = Field(
        "right", description="Side (facing along the strike) of the steep scarp"
    )


class DomeSpec(_Feature):
    """Mons or dome: a smooth cos^2 bump."""

    kind: Literal["dome"] = "dome"
    diameter_km: float = Field(gt=0.01, le=500.0)
    height_m: float = Field(gt=0.0, le=1e4)


class RilleSpec(_Feature):
    """Linear rille (graben or fracture): a flat-bottomed trough with tapered ends."""

    kind: Literal["rille"] = "rille"
    strike_deg: float = Field(ge=-360.0, le=360.0)
    length_km: float = Field(gt=0.1, le=2000.0)
    width_m: float = Field(gt=1.0, le=1e4)
    depth_m: float = Field(gt=0.0, le=1000.0)


class BoulderFieldSpec(_Feature):
    """A disc where the rock abundance is raised (no relief of its own)."""

    kind: Literal["boulder_field"] = "boulder_field"
    radius_km: float = Field(gt=0.0, le=100.0)
    rock_abundance_k: float = Field(ge=0.0, le=0.5, description="Golombek-Rapp k inside the disc")


FeatureSpec = Annotated[
    ComplexCraterSpec | BowlCraterSpec | WrinkleRidgeSpec | DomeSpec | RilleSpec | BoulderFieldSpec,
    Field(discriminator="kind"),
]


class CraterPopulationSpec(_Strict):
    """Procedural craters: cumulative density N(>D) = min(equilibrium, production) per m^2, D in m.

    Equilibrium ``equilibrium_a * D^-2`` (Gault 1970; Trask 1966): a = 10^-1.1 = 0.079 is Gault's
    saturation-equilibrium line. Production ``n1_per_km2 * (D / 1 km)^-production_slope``: N(>1 km) from the
    Neukum et al. (2001) chronology for the unit's age (mare 3.5 Ga: ~4.8e-3 km^-2; highland 3.9 Ga:
    ~3e-2 km^-2), slope ~3 for 0.1-1 km (Neukum production function; Hartmann 1999).
    """

    terrain_type: Literal["mare", "highland"] = "mare"
    equilibrium_a: float = Field(0.079, ge=0.0, le=1.0, description="Equilibrium coefficient, N in m^-2")
    n1_per_km2: float = Field(4.8e-3, ge=0.0, le=1.0, description="Production N(>1 km), km^-2")
    production_slope: float = Field(3.0, gt=1.0, le=5.0, description="Production cumulative slope")
    max_diameter_m: float = Field(5000.0, gt=1.0, le=1e5, description="Largest procedural crater, m")
    fresh_depth_ratio: float = Field(0.2, gt=0.0, le=0.35, description="d/D of a fresh crater (Pike 1977)")
    degraded_depth_ratio: float = Field(
        0.04, gt=0.0, le=0.35, description="d/D of the most degraded crater (Fassett & Thomson 2014)"
    )
    degradation_skew: float = Field(
        2.0,
        ge=1.0,
        le=10.0,
        description="d/D = degraded (fresh/degraded)^(u^skew), u uniform: > 1 favours degraded craters (ESTIMATE)",
    )
    min_cells: float = Field(3.0, ge=1.0, le=100.0, description="A level renders craters >= this many cells")
