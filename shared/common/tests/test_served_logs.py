"""A served process writes JSON lines only: Granian's own lines (start, listen, workers, shutdown)
go through the services' formatter too (``daybook_common.logs.log_dictconfig``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daybook_devtools.embedded import free_port, wait_for_port


def test_a_served_gateway_writes_only_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_JWKS_URL"] = f"http://127.0.0.1:{free_port()}/jwks"  # nobody there: a logged warning
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "daybook-gateway"), "serve", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            wait_for_port(port, 60, proc)
            deadline = time.monotonic() + 30
            while True:  # the port opens before the worker has started the app
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        assert r.status == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the gateway never answered /health"
                    time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0

    lines = out.read_text().splitlines() + err.read_text().splitlines()
    assert lines
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    assert {r["service"] for r in records} == {"gateway"}
    granian = [r["msg"] for r in records if r["logger"].startswith("_granian")]
    assert any(m.startswith("Listening at: http://127.0.0.1:") for m in granian), granian
    assert any("Started worker-1" in m for m in granian), granian
    assert any("Shutting down granian" in m for m in granian), granian
    assert not any("experimental" in m for m in granian), granian  # dropped: the mode is chosen
    assert any(r["logger"] == "daybook.auth" and r["level"] == "warning" for r in records)
