"""The embedded PostgreSQL's ``shared_buffers``: sized from memory within bounds, or set by env."""

from __future__ import annotations

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
