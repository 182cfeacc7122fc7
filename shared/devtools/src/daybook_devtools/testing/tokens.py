"""Access tokens signed like the users service signs them, for services' tests."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from daybook_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER


@dataclass
class TestSigner:
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", parameters={"kid": "test-key-1"}))

    __test__ = False  # not a test class

    @property
    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    @property
    def jwks_json(self) -> str:
        return json.dumps(self.jwks)

    def token(self, user_id: uuid.UUID | str, ttl: int = 900, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode({"alg": "ES256", "kid": str(self.key.kid)}, claims, self.key)

    def headers(self, user_id: uuid.UUID | str, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, **overrides)}"}
