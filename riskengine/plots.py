"""Figures (matplotlib, headless)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from riskengine.replay import ReplayRun


def plot_replay(replay: ReplayRun, path: str) -> None:
    """True and believed altitude, vertical speed and propellant against time, with the story's events."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = replay.trace
    t = np.asarray(tr.t_s)
    keep = np.concatenate([[True], np.diff(t) > 0])  # the trace pads with the final state after contact
    t = t[keep]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    axes[0].plot(t, np.asarray(tr.true_altitude_m)[keep] / 1000, label="true altitude above terrain")
    axes[0].plot(
        t, np.asarray(tr.estimated_altitude_m)[keep] / 1000, "--", label="altitude navigation believes"
    )
    axes[0].set_ylabel("altitude (km)")
    axes[1].plot(t, np.asarray(tr.vertical_speed_mps)[keep], color="C2")
    axes[1].set_ylabel("vertical speed (m/s)")
    axes[2].plot(t, np.asarray(tr.propellant_kg)[keep], color="C3")
    axes[2].set_ylabel("propellant (kg)")
    axes[2].set_xlabel("time since powered-descent initiation (s)")
    for e in replay.events():
        for ax in axes:
            ax.axvline(e["t_s"], color="0.7", lw=0.8)
        axes[0].annotate(
            e["name"], (e["t_s"], axes[0].get_ylim()[1]), rotation=90, fontsize=7, va="top", ha="right"
        )
    axes[0].legend(loc="center left", fontsize=8)
    fig.suptitle(f"{replay.spec.name} at {replay.spec.site}: {replay.outcome}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
