"""The validation's replays section: each replay at its stated inputs, over noise streams and across the
bands of its ``ranges``. Tiny sizes (2 streams, 2 values per band) and one replay: each flight is
a traced single trajectory (~1-2 s on one core), and tests/core flies every replay's facts and bands."""

from __future__ import annotations

import dataclasses

import pytest

from riskengine.config import preset_names
from riskengine.replay import load_replay
from riskengine.validation import replays
from riskengine.validation.sizing import Sizes

pytestmark = pytest.mark.slow


def test_replays_section_flies_every_replay_over_streams_and_bands(monkeypatch):
    names = ("nominal",)
    assert set(names) <= set(preset_names("replays"))
    monkeypatch.setattr(replays, "preset_names", lambda kind: names)
    sizes = dataclasses.replace(Sizes.make(True), replay_streams=2, replay_band_points=2)
    result = replays.run(sizes)
    assert result.error is None
    streams = next(t for t in result.tables if t.title.startswith("Replays across 2 noise streams"))
    assert [row[0] for row in streams.rows] == list(names)
    bands = next(t for t in result.tables if t.title.startswith("Replays across the bands"))
    assert len(bands.rows) == sum(len(load_replay(n).ranges) for n in names)
    for d in result.data["replays"]:
        spec = load_replay(d["replay"])
        assert d["noise_streams"]["seeds"] == [float(spec.seed), float(spec.seed + 1)]
        # The first stream is the stated seed: the replay itself.
        first = d["noise_streams"]["rows"][0]
        assert first["stated"] and first["outcome"] == d["outcome"]
        assert first["propellant_remaining_kg"] == d["propellant_left_kg"]
        assert [b["param"] for b in d["bands"]] == list(spec.ranges)
        assert all(len(b["rows"]) == 2 and b["summary"].startswith("outcome ") for b in d["bands"])
    robust = [c for c in result.checks if "most common over 2 noise streams" in c.name]
    # nominal lands at its stated seed and the next (measured), so the stated outcome is the most common.
    assert len(robust) == len(names) and all(c.passed is True and c.value == 1.0 for c in robust)
