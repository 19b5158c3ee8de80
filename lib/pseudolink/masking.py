"""Keeps national numbers out of every log line and error message.

An INSZ is shown as its first two and last three digits (``85******328``): enough for a
data engineer to find the row in the source, not enough to identify anyone.
"""

from __future__ import annotations

import logging
import re
import sys

# Eleven digits not part of a longer number, bare or in the printed form 85.07.30-033.28.
_BARE = re.compile(r"(?<!\d)(\d{2})\d{6}(\d{3})(?!\d)")
_PRINTED = re.compile(r"(?<!\d)(\d{2})\.\d{2}\.\d{2}-\d{2}(\d)\.(\d{2})(?!\d)")


def mask_insz(value: str | None) -> str | None:
    """Return ``value`` with every INSZ-like number masked, e.g. ``85******328``."""
    if value is None:
        return None
    value = _PRINTED.sub(r"\1******\2\3", value)
    return _BARE.sub(r"\1******\2", value)


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
