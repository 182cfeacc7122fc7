"""The users service's composition root."""

from __future__ import annotations

from litestar import Litestar

from daybook_common.auth import TokenVerifier, static_jwks_loader
from daybook_common.events import USER_DELETED
from daybook_common.export_http import export_router
from daybook_common.service import ServiceApp
from daybook_users import SCRIPT_LOCATION, maintenance
from daybook_users.account.controllers import RecoveryController, VerificationController
from daybook_users.activity.controllers import ActivityController
from daybook_users.auth.controllers import AuthController
from daybook_users.auth.keys import load_signing_keys
from daybook_users.db.models import Base, outbox
from daybook_users.dependencies import dependencies
from daybook_users.events import on_user_deleted
from daybook_users.export import KINDS as EXPORT_KINDS
from daybook_users.mail.worker import mail_worker_hooks
from daybook_users.runtime import STATE_KEY, UsersRuntime
from daybook_users.sessions.controllers import SessionController
from daybook_users.settings import Settings
from daybook_users.users.controllers import AdminUserController, ExportController, MeController


def create_served_app() -> Litestar:
    """What ``daybook-users serve`` runs in each Granian worker: ``create_app`` plus the
    worker's garbage-collector settings (:mod:`daybook_common.heap`)."""
    return create_app(tune_heap=True)


def create_app(settings: Settings | None = None, *, tune_heap: bool = False) -> Litestar:
    settings = settings or Settings.from_env()
    keys = load_signing_keys(settings.keys)
    runtime = UsersRuntime.build(settings, keys)
    auth = settings.common.auth
    # The users service trusts exactly the keys it publishes: no HTTP round trip to itself.
    verifier = TokenVerifier(auth.issuer, auth.audience, static_jwks_loader(keys.jwks()))
    mail_hooks = mail_worker_hooks(settings)
    return ServiceApp(
        settings=settings.common,
        metadata=Base.metadata,
        script_location=SCRIPT_LOCATION,
        route_handlers=[
            AuthController,
            RecoveryController,
            MeController,
            VerificationController,
            SessionController,
            ActivityController,
            AdminUserController,
            ExportController,
            export_router(EXPORT_KINDS),
        ],
        title="Daybook users",
        description="Accounts, credentials, refresh-token sessions and the JWKS that verifies access tokens.",
        verifier=verifier,
        dependencies=dependencies,
        dependency_statuses={"superuser": {403: "Only superusers may do this"}},
        state={STATE_KEY: runtime},
        on_startup=[runtime.passwords.warm_up, maintenance.start_hook(settings), *mail_hooks[:1]],
        on_shutdown=[*mail_hooks[1:], maintenance.stop],
        # The relay publishes users.user.deleted from this outbox. Users itself needs no deleted-users
        # feed: every authenticated request here checks the account row.
        outbox=outbox,
        # Its own consumer hard-deletes the account once the event is safely in JetStream.
        event_handlers={USER_DELETED: on_user_deleted},
        follow_deleted_users=False,
        tune_heap=tune_heap,
    ).build()
