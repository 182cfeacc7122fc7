"""``daybook bench --data-dir DIR`` run again on the same DIR reuses what the first run seeded.

The first run's cases needed no journal data, so before it left the ``bench-<i>`` accounts
without its dataset record and the second run seeded them again: a duplicate e-mail
(``UniqueViolationError``).  A DIR seeded at another size is refused before anything starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="the bench needs wrk")


def _bench(data: Path, cases: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL"}}
    command = [sys.executable, "-m", "daybook_deploy.cli", "bench", "--quick", "--cases", cases]
    return subprocess.run(
        [*command, "--data-dir", str(data), "--json", str(out)],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_data_dir_is_reused_and_one_of_another_size_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _bench(data, "3", tmp_path / "first.json")  # writes: accounts only, no journal data
    assert first.returncode == 0, first.stdout + first.stderr
    marker = json.loads((data / "bench-dataset.json").read_text())
    assert marker["journal"] is False and marker["users"] == 200

    second = _bench(data, "7", tmp_path / "second.json")  # the floor: needs the journal's entries
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reusing the 200 seeded accounts" in second.stderr, second.stderr
    assert "seeding 200 accounts" not in second.stderr
    assert "seeding 4,000 journal entries" in second.stderr
    assert json.loads((data / "bench-dataset.json").read_text())["journal"] is True
    results = json.loads((tmp_path / "second.json").read_text())
    assert results["data"]["reused"] is True
    assert [(case["case"], case.get("error")) for case in results["cases"]] == [(7, None)]

    marker = json.loads((data / "bench-dataset.json").read_text())
    (data / "bench-dataset.json").write_text(json.dumps({**marker, "users": 10_000, "entries_per_user": 100}))
    refused = _bench(data, "7", tmp_path / "third.json")
    assert refused.returncode == 1
    assert "holds a bench dataset of another size (10000 users" in refused.stderr, refused.stderr
    assert "starting the stack" not in refused.stderr
