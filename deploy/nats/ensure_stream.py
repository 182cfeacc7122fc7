"""Create (or update) the DAYBOOK JetStream stream from stream.json beside this file.

Compose's one-shot ``nats-init`` runs it with any service image (they all have nats-py):

    python /etc/daybook/nats/ensure_stream.py nats://nats:4222

``daybook up`` and every consumer do the same through ``daybook_common.events.stream``;
a test keeps stream.json equal to its ``stream_config()``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import nats
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

CONFIG = Path(__file__).with_name("stream.json")


async def ensure(url: str, attempts: int = 30) -> str:
    wanted = StreamConfig.from_response(json.loads(CONFIG.read_text()))
    for attempt in range(1, attempts + 1):
        try:
            nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0, allow_reconnect=False)
            break
        except Exception as exc:
            if attempt == attempts:
                raise SystemExit(f"nats-init: cannot reach {url}: {exc.__class__.__name__}") from exc
            await asyncio.sleep(1)
    try:
        js = nc.jetstream(timeout=10)
        try:
            await js.stream_info(wanted.name or "")
        except NotFoundError:
            await js.add_stream(wanted)
            return "created"
        await js.update_stream(wanted)
        return "up to date"
    finally:
        await nc.close()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"
    print(f"nats-init: stream {json.loads(CONFIG.read_text())['name']} {asyncio.run(ensure(target))}")
