"""Load generation with ``wrk`` (compiled: a Python load generator would be the bottleneck here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

LUA_DIR = Path(__file__).parent / "lua"
_REPORT = re.compile(r"^DAYBOOK_JSON (.*)$", re.MULTILINE)


class WrkMissingError(RuntimeError):
    pass


def ensure_wrk() -> str:
    """Find wrk, installing the distribution's package when we are allowed to."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, check=False, capture_output=True, env=env).returncode != 0:
            # A fresh container has no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, env=env)
            subprocess.run(install, check=False, capture_output=True, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise WrkMissingError(
        "wrk is not installed and could not be installed automatically; "
        "install it with your package manager (Debian/Ubuntu: apt-get install wrk, macOS: brew install wrk)"
    )


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int


class WrkOptions(TypedDict, total=False):
    """``run_wrk``'s optional settings, passed through by ``rounds``."""

    connections: int
    threads: int
    script: str
    env: dict[str, str] | None
    timeout_s: int


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int = 32,
    threads: int = 1,
    script: str = "report.lua",
    env: dict[str, str] | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """One wrk run; latency percentiles come from wrk's own histogram via the Lua ``done`` hook."""
    cmd = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=duration + 60,
    )
    match = _REPORT.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}")
    data = json.loads(match.group(1))
    return WrkResult(
        requests_per_s=data["requests"] / data["duration_s"],
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=data["errors"],
        non_2xx=data["non_2xx"],
    )


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(statistics.median(values), min(values), max(values))

    def fmt(self, digits: int = 0) -> str:
        return f"{self.median:,.{digits}f} ({self.low:,.{digits}f}\u2013{self.high:,.{digits}f})"

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high}


def rounds(
    url: str, *, warmup: float, duration: float, count: int, **options: Unpack[WrkOptions]
) -> list[WrkResult]:
    """A warm-up run (discarded), then ``count`` timed rounds."""
    run_wrk(url, duration=warmup, **options)
    return [run_wrk(url, duration=duration, **options) for _ in range(count)]
