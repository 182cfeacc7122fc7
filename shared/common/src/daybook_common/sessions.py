"""One SQLAlchemy session per request, without advanced-alchemy's Litestar extension.

advanced-alchemy's ``SQLAlchemyPlugin`` lives in ``advanced_alchemy.extensions.litestar``, whose
package ``__init__`` also imports its Alembic commands and Litestar's CLI: Alembic, Mako, Pygments,
rich and rich-click, ~13 MiB and ~220 modules in every served process that never runs a
migration or a command (bench case 14).  :class:`SessionPlugin` does for a service what that
plugin did, on advanced-alchemy's framework-free config
(:class:`advanced_alchemy.config.asyncio.SQLAlchemyAsyncConfig`, which makes the same session
maker with the same listeners):

- ``app.state["db_engine"]`` and the session maker while the app runs; the engine disposed at
  shutdown;
- the dependencies ``db_engine`` (the engine) and ``plugin_db_session`` (one session per request,
  made on first use and kept in the ASGI scope);
- a ``before_send`` hook that commits when the response starts with a 2xx, rolls back otherwise
  and closes the session (advanced-alchemy's ``autocommit`` handler; a successful request is
  already committed by :func:`daybook_common.db.provide_db_session`);
- ``AsyncEngine``/``AsyncSession`` in the signature namespace, and advanced-alchemy's type
  encoders and decoders behind the app's own (as its plugins registered them).

Not carried over: its serialization plugin (no handler returns a model: they answer msgspec
structs), its ``RepositoryError`` handler (never installed: :mod:`daybook_common.problems`
handles ``NotFoundError`` and ``DuplicateKeyError``) and read-replica routing (not configured).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

from litestar.plugins import InitPluginProtocol
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

if TYPE_CHECKING:
    from advanced_alchemy.config.asyncio import SQLAlchemyAsyncConfig
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.datastructures import State
    from litestar.types import Message, Scope

logger = logging.getLogger("daybook.db")

#: The engine's key in ``app.state`` and its dependency name (advanced-alchemy's defaults).
ENGINE_KEY = "db_engine"
#: The session maker's key in ``app.state`` (advanced-alchemy's default).
SESSION_MAKER_KEY = "session_maker_class"
#: The request's session's key in its ASGI scope's ``state`` until the response starts.
_SCOPE_KEY = "_daybook_db_session"
#: ASGI messages after which the request's session is closed (advanced-alchemy's terminus events).
_TERMINUS = frozenset({"http.response.start", "http.disconnect", "websocket.disconnect", "websocket.close"})


class SessionPlugin(InitPluginProtocol):
    """The per-request session of ``config`` under the dependency name ``session_key``."""

    def __init__(self, config: SQLAlchemyAsyncConfig, session_key: str) -> None:
        self.engine: AsyncEngine = config.get_engine()
        self.session_maker: Callable[[], AsyncSession] = config.create_session_maker()
        self.session_key = session_key

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from litestar.di import Provide

        app_config.lifespan.append(self.lifespan)
        app_config.dependencies.update(
            {
                ENGINE_KEY: Provide(self.provide_engine, sync_to_thread=False),
                self.session_key: Provide(self.provide_session, sync_to_thread=False),
            }
        )
        app_config.before_send.append(self.before_send)
        app_config.signature_namespace.update({"AsyncEngine": AsyncEngine, "AsyncSession": AsyncSession})
        app_config.type_encoders = {**_type_encoders(), **(app_config.type_encoders or {})}
        decoders = list(app_config.type_decoders or [])
        decoders.extend(d for d in _type_decoders() if d not in decoders)
        app_config.type_decoders = decoders
        return app_config

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        app.state.update({ENGINE_KEY: self.engine, SESSION_MAKER_KEY: self.session_maker})
        try:
            yield
        finally:
            await self.engine.dispose()

    def provide_engine(self, state: State) -> AsyncEngine:
        return cast("AsyncEngine", state[ENGINE_KEY])

    def provide_session(self, scope: Scope) -> AsyncSession:
        held = _held(scope)
        session = held.get(_SCOPE_KEY)
        if session is None:
            session = held[_SCOPE_KEY] = self.session_maker()
        return cast("AsyncSession", session)

    async def before_send(self, message: Message, scope: Scope) -> None:
        """Commit on a 2xx, roll back otherwise, when the response starts; then close the session.

        A failed commit or rollback here is only logged (the response is on its way); requests
        that write are committed before it, in :func:`daybook_common.db.provide_db_session`.
        """
        held = _held(scope)
        session: AsyncSession | None = held.get(_SCOPE_KEY)
        if session is None:
            return
        try:
            if message["type"] == "http.response.start":
                if 200 <= message["status"] < 300:
                    await session.commit()
                else:
                    await session.rollback()
        except Exception:
            logger.debug("session commit/rollback failed during cleanup", exc_info=True)
        finally:
            if message["type"] in _TERMINUS:
                try:
                    await session.close()
                except Exception:
                    logger.debug("session close failed during cleanup", exc_info=True)
                del held[_SCOPE_KEY]


def _held(scope: Scope) -> dict[str, Any]:
    """Where the request's session is kept: the scope's ``state`` dict (Litestar sets it before any
    middleware runs), which a middleware's copy of the scope shares.  Kept in the scope itself,
    a session made under a copy (``QueryMiddleware`` copied it to drop ``?limit=``) was out of
    ``before_send``'s sight (it gets Litestar's own scope): never rolled back nor closed, its
    connection stayed checked out until the garbage collector found it, and 20 such requests
    (a 404 with an empty parameter) left the pool empty: every request 503 after 10 s."""
    return scope.setdefault("state", {})


def _type_encoders() -> dict[Any, Callable[[Any], Any]]:
    """advanced-alchemy's encoders (as its serialization plugin registers them): its defaults and
    ``str`` for asyncpg's and uuid-utils' UUID types."""
    from advanced_alchemy.utils.serialization import DEFAULT_TYPE_ENCODERS
    from asyncpg.pgproto import pgproto

    encoders: dict[Any, Callable[[Any], Any]] = {**DEFAULT_TYPE_ENCODERS, pgproto.UUID: str}
    with contextlib.suppress(ImportError):
        import uuid_utils

        encoders[uuid_utils.UUID] = str
    return encoders


def _is_uuid_utils_uuid(target: Any) -> bool:
    import uuid_utils

    return target is uuid_utils.UUID


def _decode_uuid_utils_uuid(target: type, value: Any) -> Any:
    return target(str(value))


def _type_decoders() -> list[tuple[Callable[[Any], bool], Callable[[type, Any], Any]]]:
    """advanced-alchemy's decoder of ``uuid_utils.UUID`` parameters (when uuid-utils is installed)."""
    try:
        import uuid_utils  # noqa: F401
    except ImportError:
        return []
    return [(_is_uuid_utils_uuid, _decode_uuid_utils_uuid)]
