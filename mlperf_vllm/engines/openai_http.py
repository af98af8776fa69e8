"""OpenAI-compatible servers (vllm serve, SGLang, trtllm-serve, a router) behind the Engine protocol.

Every request is a streaming POST /v1/completions with the prompt as token ids and MLPerf's greedy
settings; the first streamed chunk that carries tokens is the first token. Token ids come back in
the stream (`return_token_ids`, vLLM) or, from servers that only return text, are re-encoded with
the local tokenizer. Requests go to the endpoint with the fewest outstanding requests. A failed or
dropped request becomes an engine error for that sample (LoadGen logs it), never a hang.

Keep-alive: uvicorn (behind `vllm serve`) closes an idle connection after 5 s; a client that reuses
it just then gets "Server disconnected" before the server ever saw the request. Idle connections
are therefore dropped after KEEPALIVE_S, and a request that failed before any response header
arrived (never processed: a stale connection, or none could be opened) is sent again, at most
RETRIES times after a short pause; one that got an answer never is.
A server that sends nothing on any stream for `stall_timeout_s` while requests are outstanding is
stalled: every outstanding request fails with that reason, instead of waiting for socket timeouts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import UsageError
from .aio import LoopThread
from .base import Completion, CompletionSink, GenerationRequest

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 300.0  # between two chunks of one stream; the stall watchdog fails a dead server sooner
KEEPALIVE_S = 3.0  # below uvicorn's default --timeout-keep-alive (5 s)
RETRIES = 3  # for a request the server never began to answer (stale keep-alive connection, no connection)
RETRY_BACKOFF_S = (0.2, 0.5, 1.0)
STALL_TIMEOUT_S = 30.0


class _NotAnswered(Exception):
    """The connection failed before any response header: the server never processed the request."""


def api_key() -> str | None:
    """OPENAI_API_KEY from the environment (never written anywhere)."""
    return os.environ.get("OPENAI_API_KEY") or None


def _headers() -> dict[str, str]:
    key = api_key()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def check_endpoints(endpoints: Sequence[str], model: str, timeout_s: float = 10.0) -> None:
    """Before any run: every endpoint answers /v1/models, accepts the key, and serves `model`."""
    import urllib.error
    import urllib.request

    for url in endpoints:
        req = urllib.request.Request(f"{_base(url)}/v1/models", headers=_headers())
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                data = json.loads(resp.read().decode())
        except urllib.error.HTTPError as exc:
            hint = "; set OPENAI_API_KEY" if exc.code in (401, 403) else ""
            raise UsageError(f"--endpoint {url}: HTTP {exc.code} from /v1/models{hint}.") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UsageError(f"--endpoint {url} cannot be reached ({reason}); start the server or fix the URL.") from None
        names = [m.get("id") for m in data.get("data", [])]
        if model not in names:
            raise UsageError(f"--endpoint {url} does not serve model {model!r} (it serves: {', '.join(map(str, names))}); "
                             "pass --served-model-name with one of those.")


DOWN_S = 5.0  # an endpoint that could not take a request gets no new ones for this long


@dataclass
class _Endpoint:
    url: str
    outstanding: int = 0
    down_until: float = 0.0


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
        self.retried = 0  # requests sent again after a connection failed before any answer
        self._in_flight = 0
        self._last_progress = time.monotonic()
        self._stalled: str | None = None
        self._aio = LoopThread("openai-client")
        self._session = self._aio.run(self._open(max_connections))

    async def _open(self, max_connections: int) -> Any:
        aiohttp = self._aiohttp
        # limit=0: the pool grows with the load (Offline sends every sample at once).
        connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_S)
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=_headers())

    async def _watch(self) -> None:
        """Fail every outstanding request when no stream has sent anything for stall_timeout_s."""
        while True:
            await asyncio.sleep(min(1.0, self.stall_timeout_s / 4))
            quiet = time.monotonic() - self._last_progress
            if self._in_flight and quiet > self.stall_timeout_s:
                self._stalled = (f"server stalled: no data on any of {self._in_flight} open requests for "
                                 f"{quiet:.0f} s (--stall-timeout {self.stall_timeout_s:g})")
                log.error("%s; failing them", self._stalled)
                self._aio.cancel_running()
                self._last_progress = time.monotonic()

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
        ep.outstanding += 1
        return ep

    def _body(self, r: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "prompt": list(r.prompt_token_ids), "max_tokens": r.max_new_tokens,
            "min_tokens": r.min_new_tokens, "temperature": 0.0, "top_p": 1.0, "top_k": 1, "stream": True,
            "return_token_ids": True, "stream_options": {"include_usage": True},
        }
        if r.choice_token_ids:
            body["logprob_token_ids"] = list(r.choice_token_ids)
        return body

    async def _one(self, r: GenerationRequest, sink: CompletionSink) -> None:
        if self._in_flight == 0:
            self._last_progress = time.monotonic()  # the quiet time counts from the first open request
        self._in_flight += 1
        try:
            for attempt in range(RETRIES + 1):
                try:
                    sink.on_complete(await self._stream(r, sink))
                    return
                except _NotAnswered as exc:
                    if attempt == RETRIES:
                        raise exc.__cause__ or exc from None
                    self.retried += 1
                    log.info("request %s: %s before any answer; sending it again", r.tag, exc)
                    await asyncio.sleep(RETRY_BACKOFF_S[attempt])
        except asyncio.CancelledError:
            sink.on_error(r.tag, self._stalled or "cancelled: the HTTP client shut down")
        except Exception as exc:  # any transport or server failure is this sample's error
            sink.on_error(r.tag, f"{type(exc).__name__}: {exc}")
        finally:
            self._in_flight -= 1

    async def _stream(self, r: GenerationRequest, sink: CompletionSink) -> Completion:
        """One POST and its stream; _NotAnswered when the connection failed before the response began."""
        aiohttp = self._aiohttp
        ep = self._pick()
        ids: list[int] = []
        text: list[str] = []
        first_sent = False
        logprobs: list[dict[int, float]] | None = None
        try:
            try:
                resp = await self._session.post(f"{ep.url}/v1/completions", json=self._body(r))
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientConnectorError,
                    aiohttp.ConnectionTimeoutError) as exc:  # no response began: the server never processed it
                ep.down_until = time.monotonic() + DOWN_S  # the next attempt goes to another server, if any
                raise _NotAnswered(f"{type(exc).__name__}: {exc}") from exc
            async with resp:
                self._last_progress = time.monotonic()
                if resp.status != 200:
                    detail = (await resp.text())[:200]
                    raise RuntimeError(f"HTTP {resp.status} from {ep.url}: {detail}")
                async for raw in resp.content:
                    self._last_progress = time.monotonic()
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    chunk = json.loads(payload)
                    for choice in chunk.get("choices") or []:
                        delta_ids = choice.get("token_ids")
                        if delta_ids is None and choice.get("text") and self._encode is not None:
                            text.append(choice["text"])
                        elif delta_ids:
                            ids.extend(delta_ids)
                        lp = choice.get("logprobs")
                        if lp and lp.get("top_logprobs"):
                            logprobs = [{int(k.split(":")[-1]) if k.split(":")[-1].isdigit() else k: v
                                         for k, v in pos.items()} for pos in lp["top_logprobs"]]
                        if r.stream and not first_sent and (ids or text):
                            first_sent = True
                            first = ids[:1] if ids else self._encode("".join(text))[:1]
                            sink.on_first_token(r.tag, first)
            if text and not ids:
                ids = self._encode("".join(text)) if self._encode else []
            if not ids:
                raise RuntimeError(f"{ep.url} returned no tokens")
            return Completion(r.tag, ids, logprobs)
        finally:
            ep.outstanding -= 1

    def shutdown(self) -> None:
        """Close the connections and stop the client loop."""
        if self._aio.stopped:
            return
        log.info("HTTP client: %d requests sent again after the connection failed before any answer", self.retried)
        try:
            self._watchdog.cancel()
            self._aio.run(self._session.close(), timeout=5)
        except Exception:  # closing a session whose server died may fail; the loop stops anyway
            log.debug("closing the HTTP session failed", exc_info=True)
        self._aio.stop(timeout=5)
