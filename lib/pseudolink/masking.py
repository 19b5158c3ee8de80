"""Keeps national numbers out of every log line and error message.

An INSZ is shown as eleven asterisks (``***********``), whatever form it was written in:
bare (``85073003328``) or printed with dots, dashes or spaces (``85.07.30-033.28``,
``83 09 30 002 31``, ``830930-002-31``). No digit is kept: the first two give the birth
year, the last three the sex and the check digits, which with a known birth date leave a
handful of candidates. A message names the file and line instead, to find the row.
"""

from __future__ import annotations

import logging
import re
import sys

MASK = "*" * 11
# Eleven digits grouped 2-2-2-3-2, not part of a longer number: bare, or with a dot, a
# dash or a space between the groups (the printed forms).
_SEP = r"[ .-]?"
_INSZ = re.compile(rf"(?<!\d)\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{3}}{_SEP}\d{{2}}(?![\d])")


def mask_insz(value: str | None) -> str | None:
    """Return ``value`` with every INSZ-like number replaced by ``***********``."""
    if value is None:
        return None
    return _INSZ.sub(MASK, value)


class MaskingFilter(logging.Filter):
    """A logging filter that masks INSZ-like numbers in the rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_insz(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the call (pytest swaps it)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """Set up the ``pseudolink`` logger on stderr, with masking on every handler."""
    logger = logging.getLogger("pseudolink")
    if not any(getattr(h, "_pseudolink", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler._pseudolink = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        handler.addFilter(MaskingFilter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger
