"""``python -m bench [--quick] [--json FILE] [--sizes N ...] [--skip PART ...]``: the issue-5 harness.

Parts (one module each): ``engine`` throughput, ``agreement`` (engine vs NumPy twin vs one-at-a-time loop
on identical inputs: outcome agreement and speed ratios), ``roofline``, ``fanout`` (Ray workers, first
chunk, compilation cache) and ``memory`` (peak RSS against trajectory count). Every figure is printed with
the command that reproduces it; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from typing import Any

PARTS = ("engine", "agreement", "roofline", "fanout", "memory", "headline")


@dataclasses.dataclass(frozen=True)
class Plan:
    sizes: list[int]
    agree_samples: int
    loop_samples: int
    roofline_check_loop: bool
    fanout_samples_per_cell: int
    fanout_workers: list[int]
    memory_totals: list[int]  # descent-engine studies
    bernoulli_totals: list[int]  # closed-form kernel through the same runner (the 1e7 memory figure)
    headline: bool  # atlas_vs_frigoris at 1000 per cell, cold and warm (about 3 minutes)


# Quick: the engine to 1e4 (at ~176 descents/s per core since issue 9's GN&C, 1e5 alone would take ~10 min).
QUICK = Plan([1_000, 10_000], 64, 2, False, 32, [1, 2], [], [10_000_000], False)
FULL = Plan(
    [1_000, 10_000, 100_000, 1_000_000], 256, 20, True, 512, [1, 2], [10_000, 100_000],
    [1_000_000, 10_000_000], True,
)  # fmt: skip


def _pin_to_one_cpu() -> int:
    """Pin this process to its first allowed CPU; returns how many CPUs the in-process parts use."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return 1
    return os.cpu_count() or 1


def _row(name: str, value: Any, unit: str, command: str) -> None:
    shown = "null" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
    print(f"{name:<34} {shown:>12} {unit:<14} {command}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="reduced sizes: under ~5 minutes on 2 cores")
    parser.add_argument("--sizes", type=float, nargs="*", help="engine batch sizes (e.g. 1e3 1e4 1e5 1e6)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--skip", nargs="*", choices=PARTS, default=[], help="parts not to run")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = dataclasses.replace(plan, sizes=[int(s) for s in args.sizes])
    mode = "--quick" if args.quick else ""
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    out: dict[str, Any] = {"command": command, "mode": "quick" if args.quick else "full"}
    t_start = time.monotonic()

    # Studies first: their drivers start Ray before any JAX runs, so they run in fresh processes, and
    # this process's own JAX work (below) must not compete with them for the two cores.
    if "fanout" not in args.skip:
        from bench import fanout

        f = fanout.measure(plan.fanout_samples_per_cell, plan.fanout_workers)
        out["fanout"] = f
        top = str(max(plan.fanout_workers))
        out["study_wall_s"] = f["warm_cache"][top]["wall_s"]
        out["parallel_efficiency"] = f["parallel_efficiency"][top]
    if "memory" not in args.skip:
        from bench import memory

        out["memory"] = memory.measure(plan.memory_totals, plan.bernoulli_totals)
        out["peak_rss_mb_1e7"] = out["memory"]["peak_rss_mb_1e7"]
    if plan.headline and "headline" not in args.skip:
        from bench import headline

        h = headline.measure(workers=max(plan.fanout_workers))
        out["headline"] = h
        out["atlas_vs_frigoris_s"] = h["warm_cache"]["command_s"]
        out["atlas_vs_frigoris_cold_s"] = h["cold_cache"]["command_s"]

    # The in-process parts run on one core, as each study worker does (riskengine.study.worker_setup):
    # left the whole machine, XLA's CPU runtime spreads one program's kernels over a thread per core and
    # runs it about half as fast (measured here: 647 vs 1322 traj/s). Pinned before JAX starts its pool.
    out["engine_cpus"] = _pin_to_one_cpu()
    import jax

    out["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    out["jax"] = f"{jax.__version__} on {jax.default_backend()}"
    if "engine" not in args.skip:
        from bench import engine

        figures = [engine.measure(n) for n in plan.sizes]
        out["compile_s"] = figures[0].compile_s
        best = max(figures, key=lambda x: x.trajectories_per_s)
        out["engine"] = [dataclasses.asdict(x) for x in figures]
        out["engine_traj_per_s"] = best.trajectories_per_s
        out["engine_traj_steps_per_s"] = best.trajectory_steps_per_s
        out["engine_best_size"] = best.trajectories
    if "agreement" not in args.skip:
        from bench import agreement

        a = agreement.compare(plan.agree_samples, plan.loop_samples)
        out["agreement"] = dataclasses.asdict(a)
        # Same inputs, same batch: the engine on this batch over each baseline.
        out["numpy_ratio"] = a.numpy_ratio
        out["per_trajectory_ratio"] = a.per_trajectory_ratio
        if "engine_traj_per_s" in out:  # the engine at its best batch size over each baseline
            out["numpy_ratio_best_engine"] = out["engine_traj_per_s"] / a.twin_traj_per_s
            out["per_trajectory_ratio_best_engine"] = out["engine_traj_per_s"] / a.per_trajectory_traj_per_s
    if "roofline" not in args.skip:
        from bench import roofline

        r = roofline.flops_per_lane_step(check_loop=plan.roofline_check_loop)
        peak = roofline.peak_flops()
        out["roofline"] = {**r, "peak_flops_per_s": peak}
        if "engine_traj_steps_per_s" in out:
            out["achieved_flops_per_s"] = r["flops_per_lane_step"] * out["engine_traj_steps_per_s"]
            out["roofline_fraction"] = out["achieved_flops_per_s"] / peak
    out["harness_wall_s"] = time.monotonic() - t_start
    out["reproduce"] = _commands(plan, mode)
    if args.json:  # first: a long run's figures must survive a failure in printing them
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2, default=float)
    _print_table(out, plan, mode)
    return 0


def _commands(plan: Plan, mode: str) -> dict[str, str]:
    sizes = " ".join(f"{n:g}" for n in plan.sizes)
    eng = f"python -m bench {mode} --sizes {sizes} --skip agreement roofline fanout memory headline".replace(
        "  ", " "
    )
    agree = f"python -m bench {mode} --skip engine roofline fanout memory headline".replace("  ", " ")
    return {
        "engine_traj_per_s": eng,
        "engine_traj_steps_per_s": eng,
        "numpy_ratio": agree,
        "per_trajectory_ratio": agree,
        "roofline_fraction": f"python -m bench {mode} --skip agreement fanout memory headline".replace(
            "  ", " "
        ),
        "study_wall_s": f"python -m bench {mode} --skip engine agreement roofline memory headline".replace(
            "  ", " "
        ),
        "parallel_efficiency": f"python -m bench {mode} --skip engine agreement roofline memory headline".replace(
            "  ", " "
        ),
        "peak_rss_mb_1e7": f"python -m bench {mode} --skip engine agreement roofline fanout headline".replace(
            "  ", " "
        ),
        "atlas_vs_frigoris_s": "python -m bench --skip engine agreement roofline fanout memory",
    }


def _print_table(out: dict[str, Any], plan: Plan, mode: str) -> None:
    cmd = out["reproduce"]
    print(f"# {out['command']}   ({out.get('machine')}, jax {out.get('jax')}, {out['harness_wall_s']:.0f} s)")
    print(f"# engine, agreement and roofline figures: one process on {out.get('engine_cpus')} CPU(s)")
    print(f"{'figure':<34} {'value':>12} {'unit':<14} command")
    for e in out.get("engine", []):
        _row(
            f"engine traj/s @ {e['trajectories']}",
            e["trajectories_per_s"],
            "traj/s",
            cmd["engine_traj_per_s"],
        )
        _row(
            f"engine traj-steps/s @ {e['trajectories']}",
            e["trajectory_steps_per_s"],
            "steps/s",
            cmd["engine_traj_per_s"],
        )
    for key, unit in (
        ("engine_traj_per_s", "traj/s"),
        ("engine_traj_steps_per_s", "steps/s"),
        ("compile_s", "s"),
    ):
        if key in out:
            _row(key, out[key], unit, cmd["engine_traj_per_s"])
    if "agreement" in out:
        a = out["agreement"]
        n, k = a["samples"], a["per_trajectory_samples"]
        _row(f"outcome agreement twin ({n})", a["outcome_agreement_twin"], "fraction", cmd["numpy_ratio"])
        _row(
            f"outcome agreement loop ({k})",
            a["outcome_agreement_per_trajectory"],
            "fraction",
            cmd["numpy_ratio"],
        )
        for m, v in a["metric_agreement_twin"].items():
            _row(f"  {m} within tol", v, "fraction", cmd["numpy_ratio"])
        _row(f"engine traj/s ({n}, same inputs)", a["engine_traj_per_s"], "traj/s", cmd["numpy_ratio"])
        _row(f"numpy twin traj/s ({n})", a["twin_traj_per_s"], "traj/s", cmd["numpy_ratio"])
        _row(f"one-at-a-time traj/s ({k})", a["per_trajectory_traj_per_s"], "traj/s", cmd["numpy_ratio"])
        for key in (
            "numpy_ratio",
            "per_trajectory_ratio",
            "numpy_ratio_best_engine",
            "per_trajectory_ratio_best_engine",
        ):
            if key in out:
                _row(key, out[key], "x", cmd["numpy_ratio"])
    if "roofline" in out:
        r = out["roofline"]
        _row("flops per trajectory-step (XLA)", r["flops_per_lane_step"], "flop", cmd["roofline_fraction"])
        _row("peak float32 (matmul)", r["peak_flops_per_s"], "flop/s", cmd["roofline_fraction"])
        if "roofline_fraction" in out:
            _row("achieved", out["achieved_flops_per_s"], "flop/s", cmd["roofline_fraction"])
            _row("roofline_fraction", out["roofline_fraction"], "fraction", cmd["roofline_fraction"])
    if "fanout" in out:
        f = out["fanout"]
        c = f["cold_cache_1_worker"]
        spc = f["samples_per_cell"]
        _row(f"study wall, 1 worker, cold ({c['samples']})", c["wall_s"], "s", cmd["study_wall_s"])
        _row("  submit -> first chunk, cold", c["first_chunk_s"], "s", cmd["study_wall_s"])
        for n, w in f["warm_cache"].items():
            _row(f"study wall, {n} worker(s), warm", w["wall_s"], "s", cmd["study_wall_s"])
            _row("  submit -> first chunk, warm", w["first_chunk_s"], "s", cmd["study_wall_s"])
            _row("  workers' peak RSS (sampled)", w["workers_peak_rss_mb"], "MB", cmd["study_wall_s"])
            _row(f"  parallel efficiency {n}", f["parallel_efficiency"][n], "fraction", cmd["study_wall_s"])
        _row("first chunk saved by jit cache", f["compile_saved_by_cache_s"], "s", cmd["study_wall_s"])
        _row(f"study_wall_s (smoke x {spc}/cell)", out["study_wall_s"], "s", cmd["study_wall_s"])
    if "memory" in out:
        m = out["memory"]
        for r in m["runs"].values():
            _row(f"peak RSS, study of {r['samples']}", r["peak_rss_mb"], "MB", r["command"])
        for r in m["bernoulli_runs"].values():
            _row(f"peak RSS, {r['samples']:.3g} (bernoulli kernel)", r["peak_rss_mb"], "MB", r["command"])
        _row("peak_rss_mb_1e7 (bernoulli kernel)", out["peak_rss_mb_1e7"], "MB", cmd["peak_rss_mb_1e7"])
    if "headline" in out:
        h = out["headline"]
        for label, run in (("cold", h["cold_cache"]), ("warm", h["warm_cache"])):
            _row(f"atlas_vs_frigoris {label}: command", run["command_s"], "s", h["command"])
            _row(f"  {label}: scheduler wall", run["wall_s"], "s", h["command"])
            _row(f"  {label}: first chunk", run["first_chunk_s"], "s", h["command"])
            _row(f"  {label}: trajectories/s", run["trajectories_per_s"], "traj/s", h["command"])


if __name__ == "__main__":
    raise SystemExit(main())
