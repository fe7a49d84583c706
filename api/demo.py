"""``make run``: start the service, create a demo key, submit the smoke study over HTTP, wait, print its
table and the address of the interactive API docs, then stop the service.

    python -m api.demo [--port 8000] [--keep-running]

Settings come from the environment as for ``riskengine serve`` (data under ``./data`` by default).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from api.ports import free_port

TERMINAL = ("succeeded", "failed", "cancelled")


def _riskengine(*args: str) -> list[str]:
    return [sys.executable, "-m", "riskengine.cli", *args]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the service exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"demo: the service was not ready within {timeout_s:.0f} s")


def _poll(client: httpx.Client, study_id: str) -> dict[str, Any]:
    """Poll until the study is finished; a progress line whenever a chunk completes (or every 10 s)."""
    last_key: tuple[str, int] | None = None
    last_print = 0.0
    while True:
        body: dict[str, Any] = client.get(f"/v1/studies/{study_id}").raise_for_status().json()
        p = body["progress"]
        key = (body["status"], p["completed_chunks"])
        if key != last_key or time.monotonic() - last_print >= 10:
            eta = "--" if p["eta_s"] is None else f"{p['eta_s']:.0f} s"
            print(
                f"  {body['status']:<9} {p['completed_chunks']}/{p['total_chunks']} chunks, "
                f"{p['samples_done']:,}/{p['samples_total']:,} trajectories, ETA {eta}",
                flush=True,
            )
            last_key, last_print = key, time.monotonic()
        if body["status"] in TERMINAL:
            return body
        time.sleep(1.0)


def _print_table(client: httpx.Client, study_id: str) -> None:
    """Download the cube over HTTP (zipped Zarr) and print it with ``riskengine study show``."""
    from riskengine.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "cube.zarr.zip"
        archive.write_bytes(client.get(f"/v1/studies/{study_id}/cube", params={"format": "zarr"}).content)
        cube = Path(tmp) / "cube.zarr"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(cube)
        cli(["study", "show", str(cube)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("RISKENGINE_PORT", "8000")))
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--keep-running", action="store_true", help="leave the service running at the end")
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    port = free_port(preferred=args.port)
    url = f"http://127.0.0.1:{port}"

    out = subprocess.run(
        _riskengine("keys", "create", "--org", "demo", "--role", "planner", "--label", "make run"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = out.split()[-1]
    print(f"demo: created a planner key for organisation 'demo': {key}")

    print(f"demo: starting the service on {url} (embedded Ray, SQLite, local store) ...", flush=True)
    proc = subprocess.Popen(_riskengine("serve", "--port", str(port), "--log-level", "warning"))
    try:
        _wait_ready(url, proc, args.ready_timeout)
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            r = client.post("/v1/studies", json={"preset": args.preset})
            if r.status_code != 202:
                print(f"demo: submission refused ({r.status_code}): {r.text}", file=sys.stderr)
                return 1
            study_id = r.json()["id"]
            print(f"demo: POST /v1/studies -> 202, Location: {r.headers['location']}")
            body = _poll(client, study_id)
            if body["status"] != "succeeded":
                print(f"demo: study {study_id} {body['status']}: {body['error']}", file=sys.stderr)
                return 1
            print()
            _print_table(client, study_id)
        print()
        print(f"demo: interactive API docs: {url}/docs")
        print(f'demo: try: curl -s {url}/v1/studies/{study_id} -H "X-API-Key: {key}"')
        if args.keep_running:
            print("demo: the service keeps running; stop it with Ctrl-C")
            proc.wait()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())
