"""Secrets never reach a results folder: every value of a secret-looking variable is redacted.

A value is redacted in every form it can take in a message: as set, without the whitespace around it
(a key file with Windows line endings gives "key\\r"; the stripped key is what gets used), as Python's
repr or an escaped byte string writes it (http.client's "Invalid header value b'Bearer key\\r'"), and
each piece of it between control characters.
"""

from __future__ import annotations

import logging
import os
import re

_NAMED = ("HF_TOKEN", "HUGGINGFACE_HUB_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
_SUFFIX = re.compile(r"(_TOKEN|_KEY|_SECRET|_PASSWORD)$")
MASK = "***REDACTED***"
_MIN_LEN = 6  # shorter values ("1", "true") would redact ordinary text
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _forms(value: str) -> set[str]:
    """The ways a value can appear in text: as is, stripped, escaped, and its pieces between control chars."""
    forms = {value, value.strip(), value.encode("unicode_escape").decode("ascii"), repr(value)[1:-1],
             repr(value.encode("utf-8", "replace"))[2:-1]}
    forms.update(_CONTROL.split(value))
    return {f.strip() for f in forms}


def secret_values() -> list[str]:
    """Current values of HF_TOKEN, HUGGINGFACE_HUB_TOKEN, OPENAI_API_KEY and *_TOKEN/_KEY/_SECRET, in every form."""
    values: set[str] = set()
    for k, v in os.environ.items():
        if k in _NAMED or _SUFFIX.search(k):
            values.update(f for f in _forms(v) if len(f) >= _MIN_LEN)
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """Replace every secret value in text."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never contains a secret value."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
