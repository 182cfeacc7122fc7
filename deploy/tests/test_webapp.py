"""``daybook up``'s web app build: when it runs, what it says without Node.js, and that it ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from daybook_deploy import webapp


def make_source(root: Path) -> Path:
    source = root / "web"
    (source / "src").mkdir(parents=True)
    (source / "src" / "main.tsx").write_text("export {};\n")
    (source / "package.json").write_text("{}\n")
    (source / "package-lock.json").write_text("{}\n")
    return source


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_until_built_and_again_after_a_source_change(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    assert webapp.is_stale(source)
    (source / "dist").mkdir()
    (source / "dist" / "index.html").write_text("<!DOCTYPE html>")
    for path in (source / "src" / "main.tsx", source / "package.json", source / "package-lock.json"):
        age(path, 60)
    assert not webapp.is_stale(source)
    (source / "src" / "main.tsx").write_text("export const changed = true;\n")
    assert webapp.is_stale(source)


def test_without_node_it_says_so_and_serves_the_api_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    said: list[str] = []
    assert webapp.prepare(source, tmp_path / "web-build.log", said.append) == (None, None)
    assert said == [
        "web app: node/npm not found, so it is not built; serving the API only (install Node.js 20+)"
    ]

    (source / "dist").mkdir()
    (source / "dist" / "index.html").write_text("<!DOCTYPE html>")  # an older build is still served
    age(source / "dist" / "index.html", 60)
    said.clear()
    assert webapp.prepare(source, tmp_path / "web-build.log", said.append) == (source / "dist", None)
    assert "serving the existing (older) build" in said[0]


def test_no_web_source_no_app(tmp_path: Path) -> None:
    assert webapp.prepare(tmp_path / "nothing", tmp_path / "log", print) == (None, None)


def fake_npm(bin_dir: Path, body: str) -> None:
    bin_dir.mkdir()
    for name in ("node", "npm"):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)


def test_the_build_runs_in_the_background_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path)
    fake_npm(tmp_path / "bin", 'echo "npm $*"; mkdir -p dist && echo built > dist/index.html')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    said: list[str] = []
    dist, build = webapp.prepare(source, tmp_path / "logs" / "web-build.log", said.append)
    assert dist == source / "dist" and build is not None
    assert build.wait(30) is True
    assert (source / "dist" / "index.html").read_text() == "built\n"
    log = (tmp_path / "logs" / "web-build.log").read_text()
    assert log.splitlines() == ["npm ci --no-audit --no-fund", "npm run bundle"]  # no node_modules yet
    assert said[0].startswith("web app: building web/ in the background")
    assert said[-1].startswith("web app built in ")


def test_a_failed_build_is_reported_and_stop_ends_a_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path)
    (source / "node_modules").mkdir()
    (source / "node_modules" / ".package-lock.json").write_text("{}")
    fake_npm(tmp_path / "bin", 'if [ "$2" = bundle ] && [ -e slow ]; then exec sleep 60; fi; exit 3')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    said: list[str] = []
    _, build = webapp.prepare(source, tmp_path / "web-build.log", said.append)
    assert build is not None and build.wait(30) is False
    assert "`npm run bundle` failed (exit 3)" in said[-1]

    (source / "slow").write_text("")
    _, build = webapp.prepare(source, tmp_path / "web-build.log", said.append)
    assert build is not None
    time.sleep(0.5)
    began = time.monotonic()
    build.stop()
    assert time.monotonic() - began < 10
    assert build.ok is False


def test_build_now_for_the_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``daybook images build`` builds a missing or stale ``dist/`` first, and says when it cannot."""
    source = make_source(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert webapp.build_now(source, tmp_path / "web-build.log", print) is False
    fake_npm(tmp_path / "bin", 'echo "npm $*" >> calls; mkdir -p dist && echo built > dist/index.html')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    said: list[str] = []
    assert webapp.build_now(source, tmp_path / "web-build.log", said.append) is True
    assert (source / "calls").read_text().splitlines() == ["npm ci --no-audit --no-fund", "npm run bundle"]
    assert said[0].startswith("web app: building web/ for the gateway image")
    # Current now: nothing runs again.
    age(source / "src" / "main.tsx", 60)
    assert webapp.build_now(source, tmp_path / "web-build.log", said.append) is True
    assert len((source / "calls").read_text().splitlines()) == 2
