"""Helpers for the API tests: an in-process app on the closed-form kernel, and a real server process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import create_key
from api.main import create_app
from api.ports import free_port
from api.settings import Settings
from riskengine.study import InProcessExecutor
from riskengine.study.synthetic import BernoulliKernel

TERMINAL = ("succeeded", "failed", "cancelled")
ROOT = Path(__file__).resolve().parents[2]

#: A small spec for the closed-form kernel (4 cells x 64 samples).
SMALL: dict[str, Any] = {
    "name": "small",
    "sites": ["atlas_crater", "mare_frigoris"],
    "grid": {"sensor_latency_s": [0.0, 30.0], "fuel_margin_pct": [10.0]},
    "samples_per_cell": 64,
    "seed": 7,
}


@dataclass
class Keys:
    """API keys by name: ``acme_planner``, ``acme_engineer``, ``globex_planner``, ``mutual_insurer``,
    ``admin``."""

    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> dict[str, str]:
        return {"X-API-Key": self.values[name]}


KEY_SPECS = {
    "acme_planner": ("acme", "planner"),
    "acme_engineer": ("acme", "engineer"),
    "acme_insurer": ("acme", "insurer"),
    "globex_planner": ("globex", "planner"),
    "mutual_insurer": ("lunar-mutual", "insurer"),
    "admin": ("ops", "admin"),
}


def make_test_app(tmp: Path, kernel: BernoulliKernel | None = None, **settings: Any) -> FastAPI:
    base: dict[str, Any] = {
        "data_dir": tmp,
        "database_url": None,
        "store_url": None,
        "executor": "local",
        "kernel": "bernoulli",
        "chunk_size": 32,
        "max_cells": 50,
        "max_samples_per_cell": 5_000,
        "max_total_trajectories": 20_000,
    }
    base.update(settings)
    return create_app(
        Settings(**base), kernel=kernel or BernoulliKernel(), executor_factory=InProcessExecutor
    )


def make_keys(app: FastAPI) -> Keys:
    keys = Keys()
    with app.state.service.sessions() as session:
        for name, (org, role) in KEY_SPECS.items():
            keys.values[name] = create_key(session, org, role)[1]
    return keys


@contextlib.contextmanager
def running_app(
    tmp: Path, kernel: BernoulliKernel | None = None, **settings: Any
) -> Iterator[tuple[TestClient, Keys]]:
    app = make_test_app(tmp, kernel, **settings)
    with TestClient(app) as client:
        yield client, make_keys(app)


def wait_for(
    client: httpx.Client | TestClient,
    study_id: str,
    headers: Mapping[str, str],
    until: tuple[str, ...] = TERMINAL,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Poll a study until its status is in ``until`` (the timeout only bounds a hang)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(f"/v1/studies/{study_id}", headers=dict(headers)).json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


class _PortTaken(RuntimeError):
    """The server could not bind its port: something took it after :func:`free_port` checked."""


class Server:
    """``riskengine serve`` in a subprocess on a free loopback port."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 180.0, bind_tries: int = 3) -> Server:
        """Start and wait for ``/readyz``; a port lost to a race before the bind is replaced."""
        for _ in range(bind_tries - 1):
            try:
                return self._start_once(timeout_s)
            except _PortTaken:
                self.port = free_port()
        return self._start_once(timeout_s)

    def _start_once(self, timeout_s: float) -> Server:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            sys.executable,
            "-m",
            "riskengine.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "address already in use" in self.log(since=offset).lower():
                    raise _PortTaken(self.port)
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout_s} s: {self.log()}")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def stop(self, timeout_s: float = 90.0) -> int | None:
        """SIGTERM (graceful: the running study is interrupted, to be resumed); SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            raise

    def log(self, since: int = 0) -> str:
        """The log's last 4000 characters (from byte ``since`` on)."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")[-4000:]
