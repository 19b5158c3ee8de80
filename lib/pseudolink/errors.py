"""The errors a user can act on. Jobs turn them into one clear line and a non-zero exit."""

from __future__ import annotations


class PseudolinkError(Exception):
    """A failure the user can fix: the message says what, where, and what was expected."""

    exit_code = 2


class ConfigError(PseudolinkError):
    """The config (a YAML file, a schema, a code list) is wrong or incomplete."""


class InputError(PseudolinkError):
    """An input file or delivery is missing, malformed or inconsistent."""
