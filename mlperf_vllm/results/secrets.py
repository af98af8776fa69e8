"""Secrets never reach a results folder: every value of a secret-looking variable is redacted."""

from __future__ import annotations

import logging
import os
import re

_NAMED = ("HF_TOKEN", "HUGGINGFACE_HUB_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
_SUFFIX = re.compile(r"(_TOKEN|_KEY|_SECRET|_PASSWORD)$")
MASK = "***REDACTED***"
_MIN_LEN = 6  # shorter values ("1", "true") would redact ordinary text


def secret_values() -> list[str]:
    """Current values of HF_TOKEN, HUGGINGFACE_HUB_TOKEN, OPENAI_API_KEY and *_TOKEN/_KEY/_SECRET."""
    values = {v for k, v in os.environ.items() if (k in _NAMED or _SUFFIX.search(k)) and len(v) >= _MIN_LEN}
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
