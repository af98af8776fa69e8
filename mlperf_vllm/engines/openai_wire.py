"""What an OpenAI-compatible server may send, checked before the tool uses it (pure; no I/O).

Every value a server sends is untrusted: a token id that is not a 32-bit integer would crash the
SUT's int32 copy and leave LoadGen waiting for a sample forever, a `/v1/models` page from a proxy
would be read as a model list, a Retry-After of a year would park a request for a year. Each check
here turns such a value into a `BadReply` whose one-line message says what the server sent; the
HTTP client makes it that request's error (or a UsageError before a run). Endpoint URLs and the API
key are checked here too, when the flags are parsed, so a bad one stops the run before it starts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from ..errors import UsageError

INT32_MAX = 2**31 - 1
RETRY_AFTER_MAX_S = 30.0  # a longer Retry-After is capped: LoadGen's clock keeps running meanwhile
MODELS_MAX_BYTES = 4 << 20  # a /v1/models answer larger than this is not a model list
_URL_FORM = "expected http(s)://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8000 or http://[::1]:8000"
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?")
_TOKEN_KEY = re.compile(r"(?:.*:)?([0-9]+)")  # vLLM's top_logprobs keys: "token_id:123" (or a bare id)
_FINISH_FAILED = ("abort", "error", "cancelled")
# MLPerf's sampling for Llama3.1-8B, greedy search (inference_rules.adoc FAQ), sent whole: a server fills each
# field a request leaves out from the model's generation_config.json (vllm serve does by default).
GREEDY_FIELDS = {"temperature": 0.0, "top_p": 1.0, "top_k": 1, "min_p": 0.0, "repetition_penalty": 1.0,
                 "presence_penalty": 0.0, "frequency_penalty": 0.0}


def cache_salts() -> Iterator[str]:
    """One prefix-cache salt per request, unique across runs: a vLLM server salts the request's prefix-cache
    keys with it, so no KV block is shared across queries even with prefix caching on (MLPerf forbids
    caching across queries)."""
    run = uuid.uuid4().hex
    return (f"mlperf-{run}-{n}" for n in itertools.count())


class BadReply(Exception):
    """A server's answer that breaks the OpenAI API; the message says what it sent."""


def json_type(value: Any) -> str:
    """A value's JSON type name, as the API documentation would say it."""
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def show(value: Any, limit: int = 60) -> str:
    """A short, one-line rendering of a value a server sent (for error messages)."""
    text = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Flags ---------------------------------------------------------------------------------------------
def check_url(url: str) -> str:
    """An --endpoint value as the client uses it (surrounding spaces dropped); UsageError naming it."""
    text = url.strip()
    shown = re.sub(r"//[^/@]*@", "//***@", text)  # never echo a password given in the URL

    def bad(why: str) -> UsageError:
        return UsageError(f"--endpoint {shown!r} is not a server URL ({why}); {_URL_FORM}.")

    if not text:
        raise bad("empty")
    if "://" not in text:
        raise bad("no scheme")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise bad("a space or control character inside")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a non-numeric port
        raise bad(str(exc).replace("'", "")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad(f"scheme {parts.scheme!r}: it must be an http(s) URL")
    if "@" in parts.netloc:
        raise bad("user or password in the URL: it would be written to the results; use OPENAI_API_KEY")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise bad("a query or fragment")
    host = parts.hostname or ""
    if not host:
        raise bad("no host")
    if parts.netloc.startswith("["):
        import ipaddress

        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise bad(f"invalid IPv6 address {host!r}") from None
    elif not _HOST.fullmatch(host):
        raise bad(f"invalid host name {host!r}")
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise bad("port must be 1-65535")
    return text


def check_key(raw: str | None) -> str | None:
    """OPENAI_API_KEY without surrounding whitespace (a key file with CRLF); UsageError if unusable."""
    key = (raw or "").strip()
    if not key:
        return None
    if not all(0x21 <= ord(c) <= 0x7E for c in key):  # what an HTTP header value (RFC 9110) can carry as is
        raise UsageError("OPENAI_API_KEY contains a space, control or non-ASCII character, which an HTTP header "
                         "cannot carry; fix the key (or the file it comes from).")
    return key


# /v1/models ----------------------------------------------------------------------------------------
def served_models(body: bytes, content_type: str = "") -> list[str]:
    """The model ids of a /v1/models answer; BadReply saying what was wrong with it."""
    if not body.strip():
        raise BadReply("answered with an empty body")
    if len(body) > MODELS_MAX_BYTES:
        raise BadReply(f"answered with more than {MODELS_MAX_BYTES >> 20} MiB, not a model list")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        start = body.lstrip()[:200].decode("utf-8", "replace").lower()
        if start.startswith("<") or "html" in content_type.lower():
            raise BadReply("answered with an HTML page, not JSON (a proxy or web server, not the API server?)") from None
        raise BadReply(f"answered with something that is not JSON ({show(start, 40)})") from None
    if not isinstance(data, dict):
        raise BadReply(f"answered with a JSON {json_type(data)}, not an object with a 'data' list")
    models = data.get("data")
    if not isinstance(models, list):
        raise BadReply(f"answered with 'data' {show(models, 30)}, not a list of models")
    names = []
    for entry in models:
        if not isinstance(entry, dict):
            raise BadReply(f"lists a model entry that is not an object: {show(entry, 30)}")
        name = entry.get("id")
        if not isinstance(name, str) or not name:
            raise BadReply(f"lists a model entry without a string 'id': {show(entry, 40)}")
        names.append(name)
    if not names:
        raise BadReply("lists no models")
    return names


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta seconds or an HTTP date), capped; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=dt.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


# A streamed completion -----------------------------------------------------------------------------
def _token_ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise BadReply(f"server sent token_ids that are not a list: {show(value)}")
    for tid in value:
        if type(tid) is not int or not 0 <= tid <= INT32_MAX:  # bool is an int; 5.0 and "5" are not
            raise BadReply(f"server sent a token id that is not a 32-bit integer: {show(tid)}")
    return value


def _logprobs(value: Any) -> list[dict[int | str, float]]:
    if not isinstance(value, dict):
        raise BadReply(f"server sent logprobs that are not an object: {show(value)}")
    top = value.get("top_logprobs")
    if top is None:
        return []
    if not isinstance(top, list):
        raise BadReply(f"server sent top_logprobs that are not a list: {show(top)}")
    out = []
    for pos in top:
        if not isinstance(pos, dict):
            raise BadReply(f"server sent a top_logprobs entry that is not an object: {show(pos)}")
        row: dict[int | str, float] = {}
        for k, v in pos.items():
            if type(v) not in (int, float) or math.isnan(v):
                raise BadReply(f"server sent a log-probability that is not a number: {show(v)}")
            m = _TOKEN_KEY.fullmatch(k)
            row[int(m.group(1)) if m and m.group(1).isascii() else k] = float(v)
        out.append(row)
    return out


@dataclass
class StreamParser:
    """Accumulates one streamed /v1/completions answer, line by line, checking every field it reads."""

    max_new_tokens: int
    encode: Callable[[str], list[int]] | None = None  # for servers that send text only
    ids: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    logprobs: list[dict[int | str, float]] | None = None
    finish_reason: str | None = None
    done: bool = False  # [DONE] seen
    data_lines: int = 0
    capped: bool = False  # re-encoded text gave more tokens than max_new_tokens

    @property
    def max_chunks(self) -> int:
        """More data lines than this and the server is not finishing (one per token, plus a few)."""
        return 4 * self.max_new_tokens + 16

    def feed(self, raw: bytes) -> bool:
        """One line of the body; True when it was a data line (progress). BadReply on a bad chunk."""
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            return False  # blank lines, SSE comments (keep-alive pings), event:/id: fields
        self.data_lines += 1
        if self.data_lines > self.max_chunks:
            raise BadReply(f"server sent more than {self.max_chunks} chunks for max_tokens {self.max_new_tokens} "
                           "without finishing")
        payload = line[5:].strip()
        if payload == "[DONE]":
            self.done = True
            return True
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise BadReply(f"server sent a data line that is not JSON: {show(payload, 40)}") from None
        self._chunk(chunk)
        return True

    def _chunk(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            raise BadReply(f"server sent a JSON {json_type(chunk)} as a chunk, not an object")
        if "error" in chunk or chunk.get("object") == "error":
            err = chunk.get("error", chunk)
            message = err.get("message") if isinstance(err, dict) else err
            raise BadReply(f"server reported an error in the stream: {show(message, 120)}")
        choices = chunk.get("choices")
        if choices is None:
            return  # e.g. a usage-only chunk
        if not isinstance(choices, list):
            raise BadReply(f"server sent choices that are not a list: {show(choices)}")
        for choice in choices:
            if not isinstance(choice, dict):
                raise BadReply(f"server sent a choice that is not an object: {show(choice)}")
            self._choice(choice)

    def _choice(self, choice: dict[str, Any]) -> None:
        text = choice.get("text")
        if text is not None and not isinstance(text, str):
            raise BadReply(f"server sent text that is not a string: {show(text)}")
        delta_ids = choice.get("token_ids")
        if delta_ids is not None:
            if self.text:
                raise BadReply("server sent token ids after text-only chunks")
            self.ids.extend(_token_ids(delta_ids))
            if len(self.ids) > self.max_new_tokens:
                raise BadReply(f"server sent {len(self.ids)} tokens, more than max_tokens {self.max_new_tokens} "
                               "(does it honour max_tokens?)")
        elif text:
            if self.ids:
                raise BadReply("server sent text without token ids after chunks with token ids")
            self.text.append(text)
            if sum(map(len, self.text)) > 1024 * self.max_new_tokens:
                raise BadReply(f"server sent more text than {self.max_new_tokens} tokens can hold")
        if choice.get("logprobs") is not None:
            self.logprobs = (self.logprobs or []) + _logprobs(choice["logprobs"])
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                raise BadReply(f"server sent a finish_reason that is not a string: {show(reason)}")
            if reason.lower() in _FINISH_FAILED:
                raise BadReply(f"server ended the request early (finish_reason {show(reason)})")
            self.finish_reason = reason

    def first_token(self) -> list[int]:
        """The first generated token once one is known (re-encoding the text so far), else []."""
        if self.ids:
            return self.ids[:1]
        if self.text and self.encode is not None:
            return list(self.encode("".join(self.text))[:1])
        return []

    def token_ids(self) -> list[int]:
        """The generated ids when the stream ended; BadReply if it ended early or carried no tokens."""
        if not self.data_lines:
            raise BadReply("server answered without any 'data:' lines (not a streamed completion)")
        if not (self.done or self.finish_reason):
            raise BadReply("server ended the stream before [DONE] or a finish_reason")
        if self.ids:
            return self.ids
        if self.text:
            if self.encode is None:
                raise BadReply("server sent text without token ids, and no local tokenizer is loaded to count "
                               "them (return_token_ids unsupported?)")
            ids = list(self.encode("".join(self.text)))
            if len(ids) > self.max_new_tokens:
                self.capped = True
                ids = ids[: self.max_new_tokens]
            if ids:
                return ids
        raise BadReply("server returned no tokens")
