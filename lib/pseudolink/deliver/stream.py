"""The payload's encryption: a tar stream cut into chunks, each sealed with AES-256-GCM.

Chunk ``i`` (from 0) of ``chunk_bytes`` plaintext bytes (the last one may be shorter) is
``AESGCM(data_key).encrypt(nonce_i, chunk, aad)`` with ``nonce_i`` = ``i`` as 11 big-endian
bytes followed by 1 for the last chunk and 0 otherwise, and ``aad`` naming the package.
The data key is fresh for every package, so no nonce is ever used twice under one key;
a chunk moved, dropped or added, or a stream cut at a chunk boundary, fails its tag. One
call never sees more than ``chunk_bytes`` (AES-GCM's limit is 2^32 bytes per call).
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TAG = 16


class PayloadError(Exception):
    """The payload does not decrypt: it was changed, cut or is not this package's."""


def nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object for ``tarfile`` (mode ``w|``): encrypts as it goes and
    counts and hashes what it writes to ``out``."""

    def __init__(self, out: BinaryIO, key: bytes, aad: bytes, chunk_bytes: int) -> None:
        self.out, self.aead, self.aad, self.size = out, AESGCM(key), aad, chunk_bytes
        self.buffer = bytearray()
        self.index = 0
        self.plain_bytes = 0
        self.cipher_bytes = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.plain_bytes += len(data)
        while len(self.buffer) > self.size:  # keep at least one byte for the last chunk
            self._seal(bytes(self.buffer[: self.size]), last=False)
            del self.buffer[: self.size]
        return len(data)

    def close(self) -> None:
        """Seal what is left as the last chunk (possibly empty)."""
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()

    def _seal(self, chunk: bytes, last: bool) -> None:
        sealed = self.aead.encrypt(nonce(self.index, last), chunk, self.aad)
        self.out.write(sealed)
        self.sha256.update(sealed)
        self.cipher_bytes += len(sealed)
        self.index += 1


class DecryptingReader:
    """A read-only file object for ``tarfile`` (mode ``r|``) over the sealed chunks; it
    hashes the ciphertext and refuses a stream that ends before its last chunk."""

    def __init__(self, src: BinaryIO, key: bytes, aad: bytes, chunk_bytes: int) -> None:
        self.src, self.aead, self.aad = src, AESGCM(key), aad
        self.block = chunk_bytes + TAG
        self.sha256 = hashlib.sha256()
        self.index = 0
        self.done = False
        self.buffer = bytearray()
        self.ahead = self._next_block()

    def _next_block(self) -> bytes:
        data = self.src.read(self.block)
        self.sha256.update(data)
        return data

    def _open_next(self) -> None:
        current, self.ahead = self.ahead, self._next_block()
        last = not self.ahead
        if len(current) < TAG:
            raise PayloadError(f"chunk {self.index}: cut short (the payload was truncated)")
        try:
            self.buffer += self.aead.decrypt(nonce(self.index, last), current, self.aad)
        except InvalidTag:
            raise PayloadError(
                f"chunk {self.index} fails authentication: the payload was changed or cut, "
                "or is not this package's"
            ) from None
        self.index += 1
        self.done = last

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            self._open_next()
        if size < 0:
            size = len(self.buffer)
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def finish(self) -> None:
        """Read to the end (past the tar's padding) so every chunk is authenticated."""
        while not self.done:
            self._open_next()
        self.buffer.clear()
