"""OpenAI-compatible servers (vllm serve, SGLang, trtllm-serve, a router) behind the Engine protocol.

Every request is a streaming POST /v1/completions with the prompt as token ids, MLPerf's greedy settings
and a prefix-cache salt of its own; the first streamed chunk that carries tokens is the first token. Ids
come back in the stream (`return_token_ids`, vLLM) or, from servers that only return text, are
re-encoded with the local tokenizer and capped at max_new_tokens (a warning says so, and how many were
capped). Every field read from a chunk is checked (openai_wire): a reply that breaks the API is that
request's error, never a crash or a hang. Requests go to the endpoint with the fewest outstanding ones.

Resending: a request is sent again, at most RETRIES times, only when the server never began to
answer it: the connection failed before any response header (uvicorn, behind `vllm serve`, closes
an idle connection after 5 s, so idle ones are dropped after KEEPALIVE_S), the server answered 429
(after its Retry-After, capped, or a back-off) or 503 with a Retry-After, or a stall watchdog gave
up on it before any header. One that got an answer never is.

Stalls are judged per request: a request that has begun streaming tokens and gets no data for
`stall_timeout_s` fails; one still waiting for its first token (queued behind others) counts as
stalled only when its server has sent nothing on any request for that long. A stalled request that
got no response header goes to another live server; the stalled endpoint rests. The API key never
appears in a message: it is checked before use and every message is redacted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import UsageError
from ..secrets import redact
from .aio import LoopThread
from .base import Completion, CompletionSink, GenerationRequest
from .openai_wire import (GREEDY_FIELDS, MODELS_MAX_BYTES, BadReply, StreamParser, cache_salts, check_key,
                          retry_after_s, served_models, show)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 300.0  # between two chunks of one stream; the stall watchdog fails a dead server sooner
KEEPALIVE_S = 3.0  # below uvicorn's default --timeout-keep-alive (5 s)
RETRIES = 3  # for a request the server never began to answer (no connection, 429, stalled before a header)
RETRY_BACKOFF_S = (0.2, 0.5, 1.0)
RATE_LIMIT_BACKOFF_S = (1.0, 2.0, 4.0)  # after a 429 without a usable Retry-After
STALL_TIMEOUT_S = 30.0
DOWN_S = 5.0  # an endpoint that could not take a request gets no new ones for this long
ERROR_DETAIL_BYTES = 2048  # of an error answer's body, for the message


class _NotAnswered(Exception):
    """The server never processed the request: it may be sent again, after `delay_s` (None: back-off)."""

    def __init__(self, message: str, delay_s: float | None = None, backoff: tuple[float, ...] = RETRY_BACKOFF_S):
        super().__init__(message)
        self.delay_s, self.backoff = delay_s, backoff


def api_key() -> str | None:
    """OPENAI_API_KEY from the environment, without surrounding whitespace; UsageError if unusable."""
    return check_key(os.environ.get("OPENAI_API_KEY"))


def _headers() -> dict[str, str]:
    key = api_key()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _base(url: str) -> str:
    url = url.strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class _TooSlow(TimeoutError):
    """A /v1/models answer still coming after its deadline (a server trickling bytes)."""


def _opener() -> Any:
    """A urllib opener that reports a redirect instead of following it (it would carry the key along)."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
            return None  # urllib then raises HTTPError with the 3xx code

    return urllib.request.build_opener(NoRedirect)


def _models_of(url: str, headers: dict[str, str], timeout_s: float) -> list[str]:
    """The model ids `url` serves; UsageError with one line naming the endpoint and what was wrong."""
    import http.client
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{_base(url)}/v1/models", headers=headers)
    deadline = time.monotonic() + 3 * timeout_s  # a server trickling bytes must not hold the run either
    try:
        with _opener().open(req, timeout=timeout_s) as resp:
            body = bytearray()
            while len(body) <= MODELS_MAX_BYTES:
                if time.monotonic() > deadline:
                    raise _TooSlow
                chunk = resp.read(65536)
                if not chunk:
                    break
                body += chunk
            return served_models(bytes(body), resp.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            hint = "; set OPENAI_API_KEY to a key the server accepts"
        elif 300 <= exc.code < 400:
            hint = f" (a redirect to {show(redact(exc.headers.get('Location', '?')), 80)}); pass that URL as --endpoint"
        elif exc.code == 404:
            hint = "; is this the base URL of an OpenAI-compatible server (e.g. vllm serve)?"
        else:
            hint = "; check the server"
        raise UsageError(f"--endpoint {url}: HTTP {exc.code} from /v1/models{hint}.") from None
    except BadReply as exc:
        raise UsageError(redact(f"--endpoint {url}: /v1/models {exc}; is this an OpenAI-compatible server?")) from None
    except TimeoutError as exc:
        waited = 3 * timeout_s if isinstance(exc, _TooSlow) else timeout_s
        raise UsageError(f"--endpoint {url}: no complete answer from /v1/models within {waited:g} s; "
                         "start the server or fix the URL.") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        what = " ".join(str(reason).split()) or type(reason).__name__
        raise UsageError(redact(f"--endpoint {url} cannot be reached ({what}); start the server or fix the URL.")) \
            from None


def check_endpoints(endpoints: Sequence[str], model: str, timeout_s: float = 10.0) -> None:
    """Before any run: the key is usable, and every endpoint answers /v1/models and serves `model`."""
    headers = _headers()
    for url in endpoints:
        names = _models_of(url, headers, timeout_s)
        if model not in names:
            shown = [" ".join(n.split())[:60] for n in names[:10]]  # a server's strings: short, one line
            listed = ", ".join(shown) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            raise UsageError(redact(f"--endpoint {url} does not serve model {model!r} (it serves: {listed}); "
                                    "pass --served-model-name with one of those."))


@dataclass(eq=False)
class _Endpoint:
    url: str
    outstanding: int = 0
    down_until: float = 0.0
    last_data: float = 0.0  # any byte from it, or when it got its first open request after being idle


@dataclass(eq=False)
class _Attempt:
    """One POST of one request, as the stall watchdog sees it."""

    ep: _Endpoint
    task: "asyncio.Task[Any] | None"
    last_data: float
    phase: str = "sent"  # sent -> answered (response header) -> streaming (tokens began)
    stalled: str | None = None
    resend: bool = False


@dataclass
class ClientStats:
    """What the HTTP client did besides plain requests (for run.log and the run's notes)."""

    retried: int = 0  # requests sent again (never answered: connection failed, 429, stalled before a header)
    rate_limited: int = 0  # 429 answers (and 503 with Retry-After)
    stalled: int = 0  # attempts the stall watchdog gave up on
    reencoded: int = 0  # replies counted by re-encoding their text with the local tokenizer
    capped: int = 0  # of those, replies whose re-encoding was longer than max_new_tokens (cut to it)

    def note(self) -> str | None:
        """One line for the run's notes (report.md, console) of what is not zero; None when all are."""
        parts = []
        if self.retried:
            parts.append(f"{self.retried} requests sent again after the server never began to answer them")
        if self.rate_limited:
            parts.append(f"{self.rate_limited} rate-limited answers (HTTP 429, or 503 with Retry-After)")
        if self.stalled:
            parts.append(f"{self.stalled} stalled attempts given up after --stall-timeout")
        if self.reencoded:
            parts.append(f"{self.reencoded} text-only replies counted by re-encoding them with the local tokenizer "
                         f"({self.capped} of them cut to --max-new-tokens)")
        return "HTTP client: " + "; ".join(parts) if parts else None


class OpenAIEngine:
    """Streams completions from one or more OpenAI-compatible endpoints on a background event loop."""

    name = "openai"

    def __init__(self, endpoints: Sequence[str], model: str, encode: Callable[[str], list[int]] | None = None,
                 max_connections: int = 0, stall_timeout_s: float = STALL_TIMEOUT_S) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self.model = model
        self._encode = encode  # for servers that return text only
        self._endpoints = [_Endpoint(_base(u)) for u in endpoints]
        self.stall_timeout_s = stall_timeout_s
        self.stats, self._salts = ClientStats(), cache_salts()
        self._attempts: set[_Attempt] = set()
        self._headers = _headers()  # UsageError before any connection when the key is unusable
        self._aio = LoopThread("openai-client")
        self._session = self._aio.run(self._open(max_connections))

    @property
    def retried(self) -> int:
        """Requests sent again because the server never began to answer them."""
        return self.stats.retried

    async def _open(self, max_connections: int) -> Any:
        aiohttp = self._aiohttp
        # limit=0: the pool grows with the load (Offline sends every sample at once).
        connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_S)
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers)

    # Stall watchdog --------------------------------------------------------------------------------
    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.stall_timeout_s / 4))
            self._check_stalls(time.monotonic())

    def _check_stalls(self, now: float) -> None:
        """Give up on every attempt that is stalled (see the module docstring)."""
        limit = self.stall_timeout_s
        for att in list(self._attempts):
            if att.stalled is not None or now - att.last_data <= limit:
                continue
            if att.phase != "streaming" and now - att.ep.last_data <= limit:
                continue  # waiting its turn on a server that is streaming others: queued, not stalled
            where = "this request" if att.phase == "streaming" else "any of its open requests"
            att.stalled = f"server stalled: no data on {where} for {limit:g} s (--stall-timeout) from {att.ep.url}"
            att.resend = att.phase == "sent" and any(e.down_until <= now for e in self._endpoints if e is not att.ep)
            if att.ep.down_until <= now:
                log.warning("%s; it gets no new requests for %g s", att.stalled, max(DOWN_S, limit))
            att.ep.down_until = max(att.ep.down_until, now + max(DOWN_S, limit))
            self.stats.stalled += 1
            if att.task is not None:
                att.task.cancel()

    # Requests ---------------------------------------------------------------------------------------
    def submit(self, requests: Sequence[GenerationRequest], sink: CompletionSink) -> None:
        """Schedule every request on the client loop and return at once."""
        reqs = list(requests)
        if not self._aio.spawn(lambda r: self._one(r, sink), reqs):
            for r in reqs:
                sink.on_error(r.tag, "the HTTP client is shut down")

    def _pick(self) -> _Endpoint:
        now = time.monotonic()
        up = [e for e in self._endpoints if e.down_until <= now] or self._endpoints
        ep = min(up, key=lambda e: e.outstanding)  # least outstanding requests, among those taking requests
        if ep.outstanding == 0:
            ep.last_data = now  # its quiet time counts from its first open request
        ep.outstanding += 1
        return ep

    def _body(self, r: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "prompt": list(r.prompt_token_ids), "max_tokens": r.max_new_tokens,
            "min_tokens": r.min_new_tokens, **GREEDY_FIELDS, "cache_salt": next(self._salts), "stream": True,
            "return_token_ids": True, "stream_options": {"include_usage": True},
        }
        if r.choice_token_ids:
            body["logprob_token_ids"] = list(r.choice_token_ids)
        return body

    async def _one(self, r: GenerationRequest, sink: CompletionSink) -> None:
        try:
            sink.on_complete(await self._with_retries(r, sink))
        except asyncio.CancelledError:
            sink.on_error(r.tag, "cancelled")
        except Exception as exc:  # any transport or server failure is this sample's error
            text = str(exc) if isinstance(exc, (BadReply, RuntimeError)) and str(exc) else \
                f"{type(exc).__name__}: {exc or 'no detail'}"
            sink.on_error(r.tag, redact(" ".join(text.split()))[:500])

    async def _with_retries(self, r: GenerationRequest, sink: CompletionSink) -> Completion:
        for attempt in range(RETRIES + 1):
            try:
                return await self._stream(r, sink)
            except _NotAnswered as exc:
                if attempt == RETRIES:
                    raise RuntimeError(f"{exc} (gave up after {RETRIES} resends)") from None
                self.stats.retried += 1
                delay = exc.backoff[attempt] if exc.delay_s is None else exc.delay_s
                log.info("request %s: %s; sending it again in %.1f s", r.tag, redact(str(exc)), delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _stream(self, r: GenerationRequest, sink: CompletionSink) -> Completion:
        """One POST and its stream; _NotAnswered when the server never began to answer it."""
        ep = self._pick()
        att = _Attempt(ep, asyncio.current_task(), time.monotonic())
        self._attempts.add(att)
        try:
            return await self._post(r, sink, att)
        except asyncio.CancelledError:
            if att.stalled is None:
                raise  # the client is shutting down
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            if att.resend:
                raise _NotAnswered(att.stalled, delay_s=0.0) from None
            raise RuntimeError(att.stalled) from None
        finally:
            self._attempts.discard(att)
            ep.outstanding -= 1

    async def _post(self, r: GenerationRequest, sink: CompletionSink, att: _Attempt) -> Completion:
        aiohttp, ep = self._aiohttp, att.ep
        try:
            resp = await self._session.post(f"{ep.url}/v1/completions", json=self._body(r), allow_redirects=False)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientConnectorError,
                aiohttp.ConnectionTimeoutError) as exc:  # no response began: the server never processed it
            ep.down_until = time.monotonic() + DOWN_S  # the next attempt goes to another server, if any
            raise _NotAnswered(f"{type(exc).__name__}: {exc}") from exc
        async with resp:
            att.phase, att.last_data = "answered", time.monotonic()
            ep.last_data = att.last_data
            if resp.status != 200:
                await self._refused(resp, ep)
            parser = StreamParser(r.max_new_tokens, self._encode)
            first_sent = not r.stream
            try:
                async for raw in resp.content:
                    if not parser.feed(raw):
                        continue
                    att.last_data = ep.last_data = time.monotonic()
                    if parser.ids or parser.text:
                        att.phase = "streaming"
                    if not first_sent:
                        first = parser.first_token()
                        if first:
                            first_sent = True
                            sink.on_first_token(r.tag, first)
                    if parser.done:
                        break
                self._attempts.discard(att)  # the body is read: nothing left to stall
                ids = parser.token_ids()
            except BadReply as exc:
                raise BadReply(f"{exc} (from {ep.url})") from None
            except ValueError as exc:  # aiohttp: a line longer than its buffer
                raise BadReply(f"server sent an unreadable line ({exc}) (from {ep.url})") from None
        if parser.text:
            self._count_reencoded(parser)
        return Completion(r.tag, ids, parser.logprobs)  # type: ignore[arg-type]

    async def _refused(self, resp: Any, ep: _Endpoint) -> None:
        """A non-200 answer: _NotAnswered for 429 (and 503 with Retry-After), else this request's error."""
        detail = (await resp.content.read(ERROR_DETAIL_BYTES)).decode("utf-8", "replace")
        detail = redact(" ".join(detail.split()))[:200]
        wait = retry_after_s(resp.headers.get("Retry-After"))
        if resp.status == 429 or (resp.status == 503 and wait is not None):
            self.stats.rate_limited += 1
            ep.down_until = max(ep.down_until, time.monotonic() + (wait if wait is not None else DOWN_S))
            raise _NotAnswered(f"HTTP {resp.status} from {ep.url}: {detail}", wait, RATE_LIMIT_BACKOFF_S)
        if 300 <= resp.status < 400:
            detail = f"a redirect to {show(redact(resp.headers.get('Location', '?')), 80)}; pass that URL as --endpoint"
        raise RuntimeError(f"HTTP {resp.status} from {ep.url}: {detail}")

    def _count_reencoded(self, parser: StreamParser) -> None:
        if self.stats.reencoded == 0:
            log.warning("the server sends text without token ids: output token counts come from re-encoding "
                        "the text with the local tokenizer (not the server's own tokens)")
        self.stats.reencoded += 1
        if parser.capped:
            self.stats.capped += 1

    def cancel_all(self) -> None:
        """Cancel every request in flight (its stream is closed, so the server drops it); returns at once."""
        if not self._aio.stopped:
            self._aio.loop.call_soon_threadsafe(self._aio.cancel_running)

    def outstanding(self) -> int:
        return self._aio.running  # requests in flight

    def shutdown(self) -> None:
        """Close the connections and stop the client loop."""
        if self._aio.stopped:
            return
        s = self.stats
        log.info("HTTP client: %d requests sent again after the server never began to answer them "
                 "(%d rate-limited answers, %d stalled attempts)", s.retried, s.rate_limited, s.stalled)
        if s.reencoded:
            log.warning("HTTP client: %d replies had text only and were counted by re-encoding it; %d of them "
                        "re-encoded to more than --max-new-tokens and were cut to it", s.reencoded, s.capped)
        try:
            self._watchdog.cancel()
            self._aio.run(self._session.close(), timeout=5)
        except Exception:  # closing a session whose server died may fail; the loop stops anyway
            log.debug("closing the HTTP session failed", exc_info=True)
        self._aio.stop(timeout=5)

