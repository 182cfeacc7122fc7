"""The embedded PostgreSQL's ``shared_buffers`` (sized from memory, or set by env); its restart after a kill."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from daybook_devtools.embedded import EmbeddedPostgres, free_port, shared_buffers

GIB = 2**30


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        (24 * GIB, "1024MB"),  # capped
        (2 * GIB, "512MB"),  # a quarter
        (1 * GIB, "256MB"),
        (256 * 2**20, "128MB"),  # never below PostgreSQL's own default
    ],
)
def test_a_quarter_of_memory_within_bounds(memory: int, expected: str) -> None:
    assert shared_buffers({}, memory) == expected


def test_the_variable_wins_and_is_checked() -> None:
    assert shared_buffers({"DAYBOOK_PG_SHARED_BUFFERS": "256MB"}, 24 * GIB) == "256MB"
    assert shared_buffers({"DAYBOOK_PG_SHARED_BUFFERS": " 2GB "}, 1 * GIB) == "2GB"
    assert shared_buffers({"DAYBOOK_PG_SHARED_BUFFERS": ""}, 2 * GIB) == "512MB"
    for bad in ("lots", "-1GB", "1 GB", "1gb", "0"):
        with pytest.raises(ValueError, match="DAYBOOK_PG_SHARED_BUFFERS"):
            shared_buffers({"DAYBOOK_PG_SHARED_BUFFERS": bad})


async def test_the_server_runs_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAYBOOK_PG_SHARED_BUFFERS", "200MB")
    monkeypatch.setenv("DAYBOOK_PG_FSYNC_OFF", "1")
    server = EmbeddedPostgres(tmp_path / "pg" / "data", free_port())
    server.start()
    try:
        conn = await asyncpg.connect(server.admin_url())
        try:
            assert await conn.fetchval("SHOW shared_buffers") == "200MB"
        finally:
            await conn.close()
    finally:
        server.stop()


async def test_a_killed_server_starts_again_on_its_data_dir(tmp_path: Path) -> None:
    """SIGKILL of the postmaster leaves ``postmaster.pid`` naming a zombie (nobody waited for it):
    PostgreSQL itself refuses such a lock file, so the next start on the data dir must clear it."""
    data, port = tmp_path / "pg" / "data", free_port()
    first = EmbeddedPostgres(data, port)
    first.start()
    assert first.proc is not None
    killed = first.proc.pid
    try:
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{killed}/stat").read_text().rsplit(") ", 1)[-1][:1] != "Z":
            assert time.monotonic() < deadline, "the postmaster did not die"
            time.sleep(0.05)
        assert (data / "postmaster.pid").read_text().split()[0] == str(killed)

        second = EmbeddedPostgres(data, port)  # as the next `daybook up` in the same process
        second.start()
        try:
            conn = await asyncpg.connect(second.admin_url())
            try:
                assert await conn.fetchval("SELECT 1") == 1
            finally:
                await conn.close()
        finally:
            second.stop()
        assert not Path(f"/proc/{killed}").exists()  # the zombie was reaped
    finally:
        first.proc = None if first.proc.poll() is not None else first.proc
        first.stop()
