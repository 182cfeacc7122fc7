"""Daybook gateway: the one public entry in front of the users, journal and reminders services."""

DEFAULT_PORT = 8000
