"""Encryption of 身份证号 at rest (AES-GCM) and the blind index used to find and de-duplicate them.

Both keys are derived from CARETRACK_DATA_KEY with HKDF, each for its own purpose. A ciphertext starts with a
key-version byte so that the key can be rotated later without guessing which key wrote a row.
"""

import hashlib
import hmac
import os
from functools import lru_cache

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


def encrypt(plaintext: str, context: bytes = b"id_number") -> bytes:
    """Version byte, random nonce, AES-GCM ciphertext with its tag; `context` binds it to its column."""
    key = _derive(_secret(), b"caretrack/encryption/v1")
    nonce = os.urandom(NONCE_BYTES)
    return bytes([KEY_VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), context)


def decrypt(blob: bytes, context: bytes = b"id_number") -> str:
    if not blob or blob[0] != KEY_VERSION:
        raise ValueError("unknown key version")
    key = _derive(_secret(), b"caretrack/encryption/v1")
    nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, ciphertext, context).decode()


def blind_index(value: str, context: bytes = b"id_number") -> str:
    """A keyed hash: equal inputs give equal indexes, and nothing can be read back from it."""
    key = _derive(_secret(), b"caretrack/blind-index/v1")
    return hmac.new(key, context + b":" + value.encode(), hashlib.sha256).hexdigest()
