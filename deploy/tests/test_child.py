"""``python -m daybook_deploy.child``: the preload runs with the collector off, the target with it on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRELOADED = """
import gc
COLLECTOR_DURING_IMPORT = gc.isenabled()
"""

TARGET = """
import gc, sys
import preloaded


def main():
    print(f"preload={preloaded.COLLECTOR_DURING_IMPORT} target={gc.isenabled()} argv={sys.argv[1:]}")
"""


def run_child(tmp_path: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "preloaded.py").write_text(PRELOADED)
    (tmp_path / "target.py").write_text(TARGET)
    return subprocess.run(
        [sys.executable, "-m", "daybook_deploy.child", "preloaded", "target:main", "serve"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_preload_runs_without_the_collector_and_the_target_with_it(tmp_path: Path) -> None:
    out = run_child(tmp_path, "go\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "preload=False target=True argv=['serve']"


def test_no_go_exits_quietly(tmp_path: Path) -> None:
    out = run_child(tmp_path, "")
    assert (out.returncode, out.stdout) == (0, "")
