"""``python -m bench [--quick] [--json FILE] [--sizes N ...]``: engine throughput on this machine."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys

import jax

from bench import engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="sizes 1e3 and 1e4 only")
    parser.add_argument("--sizes", type=float, nargs="*", help="batch sizes (default 1e4 1e5)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ([1e3, 1e4] if args.quick else [1e4, 1e5]))]

    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# {command}")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__} on {jax.default_backend()}")
    compile_s = engine.compile_seconds()
    print(f"# first call (trace + compile + 64 lanes): {compile_s:.1f} s")
    print(f"{'trajectories':>12} {'wall s':>9} {'traj/s':>9} {'traj-steps/s':>13} {'landed':>7}")
    figures = []
    for n in sizes:
        f = engine.measure(n)
        figures.append(f)
        print(f"{f.trajectories:>12} {f.wall_s:>9.2f} {f.trajectories_per_s:>9.0f} {f.trajectory_steps_per_s:>13.3g} {f.landed_fraction:>7.3f}")
    if args.json:
        best = max(figures, key=lambda f: f.trajectories_per_s)
        out = {
            "command": command,
            "backend": jax.default_backend(),
            "cpus": os.cpu_count(),
            "compile_s": compile_s,
            "engine_traj_per_s": best.trajectories_per_s,
            "engine_traj_steps_per_s": best.trajectory_steps_per_s,
            "engine": [dataclasses.asdict(f) for f in figures],
        }
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
