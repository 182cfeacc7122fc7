"""The ``DAYBOOK`` JetStream stream, created or updated idempotently."""

from __future__ import annotations

import logging

import nats
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from daybook_common.events import STREAM, SUBJECTS

# At-least-once with replay: keep messages a week (consumers that were down catch up),
# de-duplicate re-publishes by message id for 10 minutes.
MAX_AGE_SECONDS = 7 * 24 * 3600
DUPLICATE_WINDOW_SECONDS = 600

_client_log = logging.getLogger("daybook.events.nats")


async def quiet_client_error(exc: Exception) -> None:
    """Every NATS client's ``error_cb``. Without one, nats.py logs each failed connect or
    reconnect attempt at ERROR with a traceback — with NATS down that was ~25 lines a second
    from one stack, burying everything else. The loops around each client (relay, consumers, live
    subscriptions) already log one warning per pause with the reason, so this is DEBUG only."""
    _client_log.debug("NATS client error: %s", exc.__class__.__name__)


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        subjects=list(SUBJECTS),
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


async def ensure_stream(nats_url: str) -> None:
    nc = await nats.connect(
        nats_url, connect_timeout=5, max_reconnect_attempts=2, error_cb=quiet_client_error
    )
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(STREAM)
            await js.update_stream(stream_config())
        except NotFoundError:
            await js.add_stream(stream_config())
    finally:
        await nc.close()
