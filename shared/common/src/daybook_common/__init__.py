"""Daybook common: what every service builds on and nothing domain-specific."""
