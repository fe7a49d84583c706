"""``riskengine study run|show``: run a dispersion study into a cube; print a cube's table."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

import numpy as np

from riskengine.study.progress import StudyProgress


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("study", help="dispersion studies: run one, show a cube")
    sub = parser.add_subparsers(dest="study_command", required=True)

    run = sub.add_parser("run", help="run (or resume) a study into a Zarr cube")
    run.add_argument("spec", help="study spec YAML file, or a preset name from configs/studies (e.g. smoke)")
    run.add_argument("--out", required=True, help="cube location: a local path or an fsspec URL (s3://...)")
    run.add_argument(
        "--samples-per-cell", type=int, default=None, help="override the spec's samples_per_cell"
    )
    run.add_argument("--seed", type=int, default=None, help="override the spec's seed")
    run.add_argument("--chunk-size", type=int, default=None, help="samples per task (default 1000)")
    run.add_argument(
        "--workers", type=int, default=None, help="CPUs of the local Ray instance (default: all)"
    )
    run.add_argument(
        "--overwrite", action="store_true", help="replace an existing cube instead of resuming it"
    )
    run.add_argument(
        "--executor",
        choices=("ray", "local"),
        default="ray",
        help="ray (default; joins RAY_ADDRESS if set) or local (in this process, no Ray)",
    )
    run.add_argument(
        "--kernel",
        choices=("descent", "bernoulli"),
        default="descent",
        help="descent: the lander engine (default); bernoulli: closed-form model for exercising the machinery",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run, flies_engine=True)

    show = sub.add_parser("show", help="print p_success with its interval per cell, and the dominant failure")
    show.add_argument("cube", help="cube location (path or fsspec URL)")
    show.add_argument("--json", action="store_true", help="one JSON object per cell instead of a table")
    show.set_defaults(func=_show)


class ProgressBar:
    """Progress on a stream: a redrawn bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 30, every_s: float = 5.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width, self.every_s = width, every_s
        self.tty = self.stream.isatty()
        self._last = -1e9

    def __call__(self, p: StudyProgress) -> None:
        now = time.monotonic()
        final = p.chunks_done == p.chunks_total
        if not self.tty and not final and now - self._last < self.every_s:
            return
        self._last = now
        filled = round(self.width * p.fraction)
        eta = "--:--" if p.eta_s is None else _clock(p.eta_s)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {p.chunks_done}/{p.chunks_total} chunks "
            f"{p.samples_done:,}/{p.samples_total:,} samples  {_clock(p.elapsed_s)} elapsed  ETA {eta}"
        )
        if p.chunks_resumed:
            line += f"  ({p.chunks_resumed} resumed)"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _run(args: argparse.Namespace) -> int:
    from riskengine.study import InProcessExecutor, RayExecutor, load_study_spec, run_study
    from riskengine.study.kernel import Kernel

    spec = load_study_spec(args.spec).with_overrides(samples_per_cell=args.samples_per_cell, seed=args.seed)
    kernel: Kernel
    if args.kernel == "bernoulli":
        from riskengine.study.synthetic import BernoulliKernel

        kernel = BernoulliKernel()
    else:
        from riskengine.study.runner import default_kernel

        kernel = default_kernel()
    executor = InProcessExecutor() if args.executor == "local" else RayExecutor(workers=args.workers)
    result = run_study(
        spec,
        args.out,
        kernel=kernel,
        executor=executor,
        chunk_size=args.chunk_size,
        progress=None if args.quiet else ProgressBar(),
        overwrite=args.overwrite,
    )
    print(
        f"study {spec.name!r}: {result.chunks_run} chunks run, {result.chunks_resumed} resumed, "
        f"{result.samples_run:,} trajectories in {result.wall_s:.1f} s "
        f"({result.trajectories_per_s:,.0f}/s) -> {result.location}",
        file=sys.stderr,
    )
    return 0


def cube_rows(ds: Any) -> list[dict[str, Any]]:
    """One dict per cell: coordinates, p_success and interval, n, dominant failure mode."""
    grid_dims = [str(d) for d in ds["p_success"].dims]
    outcomes = [str(o) for o in ds["outcome"].values]
    success = str(ds["outcome"].attrs.get("success_outcome", "landed"))
    counts = ds["count"].transpose(*grid_dims, "outcome").values
    p, lo, hi, n = (ds[v].values for v in ("p_success", "p_success_lo", "p_success_hi", "n"))
    rows = []
    for idx in np.ndindex(*p.shape):
        row: dict[str, Any] = {}
        for d, i in zip(grid_dims, idx, strict=True):
            value = ds[d].values[i]
            row[d] = str(value) if d == "site" else float(value)
        c = counts[idx]
        failures = {o: int(k) for o, k in zip(outcomes, c, strict=True) if o != success and k > 0}
        dominant = max(failures, key=lambda o: failures[o]) if failures else None
        row |= {
            "p_success": float(p[idx]),
            "p_success_lo": float(lo[idx]),
            "p_success_hi": float(hi[idx]),
            "n": int(n[idx]),
            "dominant_failure": dominant,
            "dominant_failure_count": failures.get(dominant, 0) if dominant else 0,
        }
        rows.append(row)
    return rows


def _show(args: argparse.Namespace) -> int:
    from riskengine.store import open_cube

    ds = open_cube(args.cube)
    rows = cube_rows(ds)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    grid_dims = [str(d) for d in ds["p_success"].dims]
    method = ds.attrs.get("interval_method", "?")
    print(f"{ds.attrs.get('title', 'cube')}  (95 % {method} interval; status {ds.attrs.get('status', '?')})")
    header = [*grid_dims, "p_success", "95% interval", "n", "dominant failure"]
    table = [header]
    for r in rows:
        cells = [r["site"], *(f"{r[d]:g}" for d in grid_dims[1:])]
        if r["n"] == 0:
            table.append([*cells, "-", "-", "0", "(not run yet)"])
            continue
        failure = f"{r['dominant_failure']} ({r['dominant_failure_count']})" if r["dominant_failure"] else "-"
        interval = f"[{r['p_success_lo']:.4f}, {r['p_success_hi']:.4f}]"
        table.append([*cells, f"{r['p_success']:.4f}", interval, str(r["n"]), failure])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0
