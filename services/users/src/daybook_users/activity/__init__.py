"""Security activity: what happened to an account's credentials and sessions, listed to its owner."""
