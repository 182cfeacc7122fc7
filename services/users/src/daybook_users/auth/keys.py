"""The ES256 signing key, the extra public keys kept for rotation, and the JWKS they make.

The private key is a PEM file (``USERS_SIGNING_KEY_FILE``) or PEM text (``USERS_SIGNING_KEY``).
When the file is missing and ``USERS_GENERATE_SIGNING_KEY`` is true, a new P-256 key is written
there (mode 0600) on first start; several workers racing to create it agree on one file. The key
id (``kid``) is the key's RFC 7638 thumbprint, so it is stable without being stored anywhere.

Key material never reaches a log line or a response; only public keys leave this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeyParameters

from daybook_common.settings import SettingsError
from daybook_users.settings import KeySettings

ALGORITHM = "ES256"
CURVE = "P-256"
logger = logging.getLogger("daybook.users.keys")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


class SigningKeyError(SettingsError):
    """A key file is missing, unreadable or holds the wrong kind of key (message names no secret)."""


@dataclass(frozen=True)
class SigningKeys:
    signing: ECKey
    published: tuple[ECKey, ...]

    @property
    def kid(self) -> str:
        return str(self.signing.kid)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}, claims, self.signing)

    def jwks(self) -> dict[str, Any]:
        """Public keys only: the signing key first, then the ones kept for rotation."""
        return {"keys": [dict(key.as_dict(private=False)) for key in self.published]}

    def __repr__(self) -> str:  # never print key material
        return f"SigningKeys(kid={self.kid!r}, published={[str(k.kid) for k in self.published]!r})"


def _with_kid(key: ECKey, private: bool, kid: str | None = None) -> ECKey:
    if key.as_dict(private=False).get("crv") != CURVE:
        raise SigningKeyError(f"{ALGORITHM} needs an EC {CURVE} key")
    if private and not key.is_private:
        raise SigningKeyError("the signing key must be a private key")
    params: KeyParameters = {"kid": kid or key.thumbprint(), "use": "sig", "alg": ALGORITHM}
    return ECKey.import_key(key.as_dict(private=private), parameters=params)


def _import_private(pem: bytes, source: str) -> ECKey:
    try:
        key = ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source} does not hold a PEM EC private key") from exc
    return _with_kid(key, private=True)


def _generate(path: Path) -> bytes:
    """Write a new key to ``path`` unless another process got there first; return the file's PEM."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = ECKey.generate_key(CURVE, private=True).as_pem(private=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic and fails if the file exists: exactly one writer wins
            logger.info("generated a new signing key", extra={"path": str(path)})
        except FileExistsError:
            pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path.read_bytes()


def _read_signing_pem(settings: KeySettings) -> tuple[bytes, str]:
    if settings.signing_key_pem:
        return settings.signing_key_pem.encode(), "USERS_SIGNING_KEY"
    path = settings.signing_key_file
    source = f"USERS_SIGNING_KEY_FILE ({path})"
    if not path.exists():
        if not settings.generate:
            raise SigningKeyError(
                f"{source} does not exist; provide a key or set USERS_GENERATE_SIGNING_KEY=true"
            )
        return _generate(path), source
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("the signing key file is readable by other users", extra={"path": str(path)})
        return path.read_bytes(), source
    except OSError as exc:
        raise SigningKeyError(f"cannot read {source}: {exc.strerror}") from exc


def _additional_public_keys(path: Path) -> list[ECKey]:
    """A JWKS document, or one or more PEM keys (public or private: only public halves are used)."""
    source = f"USERS_ADDITIONAL_PUBLIC_KEYS_FILE ({path})"
    try:
        text = path.read_text()
    except OSError as exc:
        raise SigningKeyError(f"cannot read {source}: {exc.strerror}") from exc
    keys: list[ECKey] = []
    try:
        if text.lstrip().startswith("{"):
            document = json.loads(text)
            for item in document.get("keys", []):
                kid = item.get("kid")
                public = {k: v for k, v in item.items() if k != "d"}
                keys.append(_with_kid(ECKey.import_key(public), private=False, kid=kid))
        else:
            for match in _PEM_BLOCK.finditer(text):
                keys.append(_with_kid(ECKey.import_key(match.group(0).encode()), private=False))
    except SigningKeyError:
        raise
    except (JoseError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source} holds a key that is not an EC {CURVE} key") from exc
    if not keys:
        raise SigningKeyError(f"{source} holds no keys")
    return keys


def load_signing_keys(settings: KeySettings) -> SigningKeys:
    pem, source = _read_signing_pem(settings)
    signing = _import_private(pem, source)
    published = [_with_kid(signing, private=False)]
    if settings.additional_public_keys_file is not None:
        for key in _additional_public_keys(settings.additional_public_keys_file):
            if str(key.kid) not in {str(k.kid) for k in published}:
                published.append(key)
    logger.info("signing keys loaded", extra={"kid": str(signing.kid), "published": len(published)})
    return SigningKeys(signing=signing, published=tuple(published))
