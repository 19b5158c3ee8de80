"""The INSZ (national register number or BIS number): structure and check digits.

``YYMMDD SSS CC``: birth date, a serial (odd for men, even for women) and
``CC = 97 - (N mod 97)``, N being the first nine digits as a number, or ``2`` followed by
them for persons born in 2000 or later. BIS numbers add 20 to the month when the sex was
unknown at issue, 40 when it was known. Month or day ``00`` stands for an unknown part of
the birth date. (shared/domain.md, "Facts about the INSZ".)
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F

_DIGITS = re.compile(r"[0-9]{11}")


def check_digits(first9: str, born_2000_or_later: bool) -> int:
    """The two check digits for the first nine digits of an INSZ."""
    n = int(("2" if born_2000_or_later else "") + first9)
    return 97 - (n % 97)


def compose(year: int, month: int, day: int, serial: int, bis_offset: int = 0) -> str:
    """Build a valid INSZ; ``month`` or ``day`` 0 for unknown, ``bis_offset`` 0, 20 or 40."""
    if not 1 <= serial <= 997:
        raise ValueError(f"serial must be 1..997, got {serial}")
    first9 = f"{year % 100:02d}{month + bis_offset:02d}{day:02d}{serial:03d}"
    return f"{first9}{check_digits(first9, year >= 2000):02d}"


def is_valid(value: str) -> bool:
    """Eleven digits whose check digits hold under the pre- or post-2000 rule, with a
    plausible month (0-12, +20 or +40 for BIS) and day (0-31)."""
    if not _DIGITS.fullmatch(value or ""):
        return False
    month, day = int(value[2:4]), int(value[4:6])
    if month % 20 > 12 or month > 52 or day > 31:
        return False
    first9, cc = value[:9], int(value[9:])
    return cc in (check_digits(first9, False), check_digits(first9, True))


def insz_is_valid(value: Column | str) -> Column:
    """The native Spark form of :func:`is_valid`: true or false, never null, never throws.

    Stricter than :func:`is_valid` on two inputs that function lets through: only the ASCII
    digits 0-9 count (Python's ``\\d`` also matches other scripts' digits) and the value
    must be exactly eleven characters (Python's ``$`` also matches before a final newline).
    """
    col = F.col(value) if isinstance(value, str) else value
    month = F.substring(col, 3, 2).try_cast("int")
    day = F.substring(col, 5, 2).try_cast("int")
    first9 = F.substring(col, 1, 9).try_cast("long")
    cc = F.substring(col, 10, 2).try_cast("int")
    plausible = (month % 20 <= 12) & (month <= 52) & (day <= 31)
    check = (cc == F.lit(97) - F.pmod(first9, F.lit(97))) | (
        cc == F.lit(97) - F.pmod(first9 + F.lit(2_000_000_000), F.lit(97))
    )
    shape = (F.length(col) == 11) & col.rlike(r"^[0-9]{11}\z")  # \z: Java's $ allows a final \n
    return F.coalesce(F.when(shape, plausible & check), F.lit(False))
