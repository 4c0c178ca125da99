"""Secrets handed to people (session cookies, API tokens, attestation links) and how they are kept.

Only a keyed hash of each secret is stored (HMAC-SHA-256 with ``PA_SECRET_KEY``): whoever copies the database
can neither use what is in it nor test guesses against it without the key. Every process serving the same
database must therefore have the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_key: bytes | None = None


def configure(secret_key: str) -> None:
    """Called once per process, by ``create_app`` and by the command line, before any token is made or checked."""
    global _key
    _key = secret_key.encode()


def new_secret(prefix: str = "pa_") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    if _key is None:
        raise RuntimeError("security.tokens.configure() has not been called")
    return hmac.new(_key, secret.encode(), hashlib.sha256).hexdigest()
