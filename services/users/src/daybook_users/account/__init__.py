"""Account recovery and verification: password reset and email verification by mailed tokens."""
