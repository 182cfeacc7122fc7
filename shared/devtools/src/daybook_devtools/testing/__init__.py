"""Test harness: real PostgreSQL and NATS (embedded unless given), fresh databases built by migrations."""
