"""compose's nats-init (deploy/nats) makes the same DAYBOOK stream as ``daybook up`` and the services."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import nats
from nats.js.api import StreamConfig

from daybook_common.events import STREAM, SUBJECTS
from daybook_common.events.stream import stream_config

NATS_DIR = Path(__file__).resolve().parents[1] / "nats"


def test_stream_json_is_the_shared_config() -> None:
    described = StreamConfig.from_response(json.loads((NATS_DIR / "stream.json").read_text()))
    assert described.as_dict() == stream_config().as_dict()
    assert described.name == STREAM and tuple(described.subjects or ()) == SUBJECTS


def test_nats_init_creates_then_keeps_the_stream(nats_url: str) -> None:
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(NATS_DIR / "ensure_stream.py"), nats_url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"nats-init: stream {STREAM} ")

    async def subjects() -> list[str]:
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().stream_info(STREAM)
            return list(info.config.subjects or [])
        finally:
            await nc.close()

    assert sorted(asyncio.run(subjects())) == sorted(SUBJECTS)
