"""`daybook-users serve|migrate|downgrade|create-superuser`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from daybook_common.cli import common_database, service_main
from daybook_users.settings import Settings


class CommandError(Exception):
    """Something the operator must fix; printed without a traceback."""


def _read_password(env_var: str | None) -> str:
    from daybook_users.constraints import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

    if env_var:
        password = os.environ.get(env_var)
        if not password:
            raise CommandError(f"environment variable {env_var} is not set or empty")
    else:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to prompt on: pass --password-env VAR")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise CommandError("the passwords differ")
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise CommandError(f"the password must have {PASSWORD_MIN_LENGTH}..{PASSWORD_MAX_LENGTH} characters")
    return password


async def create_superuser(
    settings: Settings, email: str, password_env: str | None, full_name: str | None = None
) -> str:
    """Create a superuser, or promote the live account with that email. Returns what happened."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from daybook_common.db import create_engine
    from daybook_common.errors import Invalid
    from daybook_users.auth.passwords import Passwords
    from daybook_users.users.services import EmailTaken, UserService, normalize_email

    try:
        normalized = normalize_email(email)
    except Invalid:
        raise CommandError(f"not a valid email address: {email!r}") from None
    engine = create_engine(settings.common.database, "daybook-users-cli")
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            existing = await UserService(session=session).get_live_by_email(normalized)
            if existing is not None:
                existing.is_superuser = True
                existing.is_active = True
                return f"promoted {normalized} ({existing.id}) to superuser"
        # No transaction stays open while the operator types the password.
        password = _read_password(password_env)
        hashed = await Passwords(settings.passwords, 1).hash(password)
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            try:
                user = await UserService(session=session).create_account(
                    normalized, hashed, full_name, is_superuser=True
                )
            except EmailTaken:
                raise CommandError(f"{normalized} was registered meanwhile; run the command again") from None
            return f"created superuser {normalized} ({user.id})"
    finally:
        await engine.dispose()


def _create_superuser_command(args: argparse.Namespace) -> None:
    try:
        message = asyncio.run(
            create_superuser(Settings.from_env(), args.email, args.password_env, args.full_name)
        )
    except CommandError as exc:
        print(f"daybook-users create-superuser: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(message)


def _extra_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "create-superuser",
        help="create a superuser, or promote an existing account",
        description="Create a superuser account (or make the live account with this email one). "
        "The password is read from --password-env VAR, else prompted for; it is never an argument.",
    )
    p.add_argument("--email", required=True)
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    p.add_argument("--full-name", default=None)
    p.set_defaults(handler=_create_superuser_command)


def main(argv: Sequence[str] | None = None) -> None:
    service_main("users", Settings.from_env, argv, database=common_database, extra=_extra_commands)


if __name__ == "__main__":
    main()
