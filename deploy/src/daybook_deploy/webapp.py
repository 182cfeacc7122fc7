"""The web app (``web/`` at the repository root) for ``daybook up``: built beside start-up when needed.

The build (``npm ci`` when ``node_modules`` is missing or older than the lock file, then ``npm run
bundle``) runs in its own process group at a lower CPU priority while the services start, so the
API is ready as fast as without it; the gateway serves ``web/dist`` at ``/`` and shows a
"building" page until ``index.html`` exists. Without ``node``/``npm`` the launcher says so in one
line and the gateway serves the API only (or a build that is already there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

Reporter = Callable[[str], None]

#: ``web/`` beside ``deploy/`` in a checkout of the repository (absent in an installed wheel).
SOURCE_DIR = Path(__file__).resolve().parents[3] / "web"
#: What a build reads: a newer file in here makes ``dist/`` stale.
INPUTS = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


def _files(paths: Iterator[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def is_stale(source: Path) -> bool:
    """``dist/index.html`` is missing or older than any input of the build."""
    built = source / "dist" / "index.html"
    if not built.is_file():
        return True
    built_at = built.stat().st_mtime
    return any(f.stat().st_mtime > built_at for f in _files(source / name for name in INPUTS))


def needs_install(source: Path) -> bool:
    marker = source / "node_modules" / ".package-lock.json"
    lock = source / "package-lock.json"
    return not marker.is_file() or marker.stat().st_mtime < lock.stat().st_mtime


def _lower_priority() -> None:
    os.nice(10)


@dataclass
class WebBuild:
    """One background build of the web app; :meth:`stop` ends it (the whole npm process group)."""

    source: Path
    log_path: Path
    report: Reporter
    seconds: float | None = field(default=None, init=False)
    ok: bool | None = field(default=None, init=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _stopped: bool = field(default=False, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="web-build", daemon=True)
        self._thread.start()

    def _step(self, args: list[str], log: IO[bytes]) -> int:
        with self._lock:
            if self._stopped:
                return -1
            self._proc = subprocess.Popen(
                args,
                cwd=self.source,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_lower_priority,
            )
        return self._proc.wait()

    def _run(self) -> None:
        began = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        steps = [["npm", "run", "bundle"]]
        if needs_install(self.source):
            steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund"])
        with open(self.log_path, "ab") as log:
            for args in steps:
                code = self._step(args, log)
                if code != 0:
                    self.ok = False
                    if not self._stopped:
                        self.report(
                            f"web app: `{' '.join(args)}` failed (exit {code}); see {self.log_path}. "
                            "The API works; / shows the building page"
                        )
                    return
        self.ok = True
        self.seconds = time.monotonic() - began
        self.report(f"web app built in {self.seconds:.1f}s; it is served at /")

    def wait(self, timeout: float | None = None) -> bool | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ok

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            from daybook_deploy.launcher import stop_group

            stop_group(proc, 5.0)
        if self._thread is not None:
            self._thread.join(timeout=5)


def prepare(source: Path, log_path: Path, report: Reporter) -> tuple[Path | None, WebBuild | None]:
    """Where the gateway serves the app from (``None``: the API only), and the build started for it."""
    if not (source / "package.json").is_file():
        return None, None
    dist = source / "dist"
    if not is_stale(source):
        return dist, None
    if shutil.which("node") is None or shutil.which("npm") is None:
        if (dist / "index.html").is_file():
            report("web app: node/npm not found; serving the existing (older) build of web/ at /")
            return dist, None
        report("web app: node/npm not found, so it is not built; serving the API only (install Node.js 20+)")
        return None, None
    report("web app: building web/ in the background (npm); / shows a building page until it is done")
    build = WebBuild(source, log_path, report)
    build.start()
    return dist, build


def build_now(source: Path, log_path: Path, report: Reporter) -> bool:
    """Build ``dist/`` now if it is missing or stale (``daybook images build``: the gateway image
    copies it); whether a current build is there afterwards (False without ``node``/``npm``)."""
    if not is_stale(source):
        return True
    if shutil.which("node") is None or shutil.which("npm") is None:
        return False
    report(f"web app: building web/ for the gateway image (npm, log {log_path})")
    build = WebBuild(source, log_path, report)
    build.start()
    return bool(build.wait())
