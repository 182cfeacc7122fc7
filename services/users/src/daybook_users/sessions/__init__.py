"""Sessions: each refresh-token family (one login) is a session its owner can list and revoke."""
