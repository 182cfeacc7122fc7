"""Passwords stay out of reprs: tracebacks and pytest failure reports print them."""

from __future__ import annotations


def test_role_and_test_database_reprs_hide_passwords() -> None:
    from daybook_devtools.provision import ServiceRole
    from daybook_devtools.testing.databases import TestDatabase

    role = ServiceRole(schema="journal", role="journal", password="s3cret-role")
    db = TestDatabase(admin_url="postgresql://postgres:s3cret-admin@h/db", name="t", roles={"journal": role})
    assert "s3cret" not in repr(role)
    assert "s3cret" not in repr(db)
