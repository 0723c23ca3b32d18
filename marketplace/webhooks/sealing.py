"""Webhook signing secrets at rest: AES-256-GCM under a key derived from
CPU_WEBHOOK_SEALING_KEY, the endpoint's id bound in as associated data (a sealed secret copied
onto another endpoint's row does not open). Not a digest, as API keys are: the relay must
read the secret back to sign each delivery. A database dump without the key signs nothing."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"


def _cipher(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"cpu-webhook-sealing:" + key.encode()).digest())


def seal(key: str, endpoint_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(key).encrypt(nonce, secret.encode(), endpoint_id.encode())
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(key: str, endpoint_id: str, sealed: str) -> str:
    """The secret; cryptography's InvalidTag if the key or the row is not the one it was sealed with."""
    version, _, text = sealed.partition(".")
    if version != VERSION:
        raise ValueError(f"unknown sealing version {version!r}")
    raw = base64.urlsafe_b64decode(text)
    return _cipher(key).decrypt(raw[:12], raw[12:], endpoint_id.encode()).decode()
