"""Keyed tokens: HMAC-SHA256 of an identifier under a key, as a 64-character hex string.

Two variants give the same tokens (tested against Python's ``hmac``):

- ``native``: RFC 2104 from Spark's own functions, no Python worker:
  ``sha2(unhex(opad) || unhex(sha2(unhex(ipad) || msg, 256)), 256)``, with ipad/opad the
  64-byte zero-padded key XOR 0x36 / 0x5c. Spark 4.3's ``hmac`` is not available while
  delta-spark caps pyspark at 4.2.
- ``udf``: a vectorised (Arrow) pandas UDF that calls ``cryptography``'s HMAC.

The key differs per domain (persons, households: HKDF sub-keys of the project secret, see
:mod:`pseudolink.keys.keystore`), so a person's and a household's tokens never collide
even for the same text. The native variant puts ipad/opad into the query plan as literals:
the session redacts every hex run of 64+ characters from shown plans
(``spark.sql.redaction.string.regex``, :mod:`pseudolink.session`), and the tests check
that no key material shows in ``explain`` or in the SQL UI's plan descriptions.
"""

from __future__ import annotations

import pandas as pd
from cryptography.hazmat.primitives import hashes
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

BLOCK = 64  # SHA-256 block size in bytes
METHODS = ("native", "udf")


def _pads(key: bytes) -> tuple[str, str]:
    """The inner and outer pads of RFC 2104, as hex (a key longer than a block is hashed)."""
    if len(key) > BLOCK:
        digest = hashes.Hash(hashes.SHA256())
        digest.update(key)
        key = digest.finalize()
    padded = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex()


def hmac_native(value: Column, key: bytes) -> Column:
    """HMAC-SHA256 of ``value`` (a string, UTF-8) as lowercase hex, in Spark expressions."""
    ipad, opad = _pads(key)
    message = value.cast("binary")
    inner = F.unhex(F.sha2(F.concat(F.unhex(F.lit(ipad)), message), 256))
    return F.sha2(F.concat(F.unhex(F.lit(opad)), inner), 256)


def hmac_udf(key: bytes):  # noqa: ANN201 - a pandas UDF
    """A pandas UDF computing HMAC-SHA256 hex of a string column with ``cryptography``."""

    @pandas_udf("string")
    def pseudonym_token(values: pd.Series) -> pd.Series:
        # Imported in the worker: cryptography's HMAC type cannot be pickled by reference.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.hmac import HMAC

        keyed = HMAC(key, hashes.SHA256())  # copied per value: the key is set up once

        def one(v: str | None) -> str | None:
            if v is None:
                return None
            h = keyed.copy()
            h.update(v.encode("utf-8"))
            return h.finalize().hex()

        return values.map(one, na_action="ignore")

    return pseudonym_token


def token(value: Column, key: bytes, method: str = "native") -> Column:
    """The token column of ``value`` under ``key`` with the chosen method."""
    if method == "native":
        return hmac_native(value, key)
    if method == "udf":
        return hmac_udf(key)(value)
    raise ValueError(f"unknown pseudonymisation method {method!r} (expected one of {METHODS})")
