"""Encryption of 身份证号 at rest (AES-GCM) and the blind index used to find and de-duplicate them.

Both keys are derived from CARETRACK_DATA_KEY with HKDF, each for its own purpose. A ciphertext starts with a
key-version byte (the format's version). During a key rotation (`flask caretrack rotate-key`) the old key is
CARETRACK_DATA_KEY_PREVIOUS: new ciphertexts use the new key, and a row not rotated yet is read with the old one
(AES-GCM's tag tells a wrong key from the right one); look-ups try the blind index under both keys.
"""

import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

KEY_VERSION = 1
NONCE_BYTES = 12


@lru_cache(maxsize=8)
def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caretrack", info=purpose).derive(secret.encode())


def _secret() -> str:
    return current_app.config["CARETRACK_DATA_KEY"]


def current_secret() -> str:
    return _secret()


def previous_secret() -> str | None:
    """The key being rotated away from, while a rotation runs; else None."""
    return current_app.config.get("CARETRACK_DATA_KEY_PREVIOUS") or None


def configured_secrets() -> list[str]:
    """The current key, then the previous one during a rotation."""
    return [_secret()] + ([previous_secret()] if previous_secret() else [])


def fingerprint(secret: str) -> str:
    """Tells two keys apart without revealing either (stored in the database by core.keyring)."""
    key = _derive(secret, b"caretrack/fingerprint/v1")
    return hmac.new(key, b"caretrack data key", hashlib.sha256).hexdigest()[:32]


def encrypt(plaintext: str, context: bytes = b"id_number", secret: str | None = None) -> bytes:
    """Version byte, random nonce, AES-GCM ciphertext with its tag; `context` binds it to its column."""
    key = _derive(secret or _secret(), b"caretrack/encryption/v1")
    nonce = os.urandom(NONCE_BYTES)
    return bytes([KEY_VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), context)


def decrypt(blob: bytes, context: bytes = b"id_number") -> str:
    """The plaintext, under the current key or (during a rotation) the previous one; "" for a purged value."""
    if blob == b"":  # erased after the retention period (ledger.retention)
        return ""
    return decrypt_with_secret(blob, context)[0]


def decrypt_with_secret(blob: bytes, context: bytes = b"id_number") -> tuple[str, str]:
    """The plaintext and the key that opened it; InvalidTag when no configured key does."""
    if not blob or blob[0] != KEY_VERSION:
        raise ValueError("unknown key version")
    nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    for secret in configured_secrets():
        try:
            key = _derive(secret, b"caretrack/encryption/v1")
            return AESGCM(key).decrypt(nonce, ciphertext, context).decode(), secret
        except InvalidTag:
            continue
    raise InvalidTag("no configured key opens this value")


def blind_index(value: str, context: bytes = b"id_number", secret: str | None = None) -> str:
    """A keyed hash: equal inputs give equal indexes, and nothing can be read back from it."""
    key = _derive(secret or _secret(), b"caretrack/blind-index/v1")
    return hmac.new(key, context + b":" + value.encode(), hashlib.sha256).hexdigest()


def blind_indexer(context: bytes = b"id_number") -> Callable[[str], str]:
    """`blind_index` under the current key, its key derived and its HMAC keyed once, for a caller indexing many
    values (an import); gives the same indexes.
    """
    keyed = hmac.new(_derive(_secret(), b"caretrack/blind-index/v1"), context + b":", hashlib.sha256)

    def index(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    return index


def encryptor(context: bytes = b"id_number") -> Callable[[str], bytes]:
    """`encrypt` under the current key with the cipher set up once, for a caller encrypting many values."""
    cipher = AESGCM(_derive(_secret(), b"caretrack/encryption/v1"))

    def encrypt_one(plaintext: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return bytes([KEY_VERSION]) + nonce + cipher.encrypt(nonce, plaintext.encode(), context)

    return encrypt_one


def blind_indexes(value: str, context: bytes = b"id_number") -> list[str]:
    """The value's index under every configured key: a row not rotated yet still has the previous key's."""
    return [blind_index(value, context, secret) for secret in configured_secrets()]
