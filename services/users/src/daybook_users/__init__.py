"""Daybook users service."""

SCHEMA = "users"
SCRIPT_LOCATION = "daybook_users.db:migrations"
DEFAULT_PORT = 8001
