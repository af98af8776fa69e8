"""Faults from outside, against a real fault-injecting OpenAI-compatible server on loopback (aiohttp,
streaming SSE like `vllm serve`): odd values in every field the client reads, bad /v1/models
answers, bad --endpoint URLs and API keys, rate limits, a stalled server in a fleet. Each must end in
a one-line message, the right exit code or a per-request error, no hang, and never the key."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from mlperf_vllm.engines.base import CollectingSink, GenerationRequest, generate

pytestmark = pytest.mark.integration

KEY = "sk-test-5ecret-Value-0123456789"
BOUND_S = 60  # generous bound for "it ends": the faults below resolve in a few seconds


class FaultServer:
    """/v1/models and a streaming /v1/completions whose answer each test sets (`completions`)."""

    def __init__(self) -> None:
        self.models: Callable[[Any], Awaitable[Any]] = self.models_ok
        self.completions: Callable[[Any, dict[str, Any], int], Awaitable[Any]] = self.stream_ok
        self.received = 0
        self.auth: list[str | None] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self.ready.wait(10)

    # answers ---------------------------------------------------------------------------------------
    async def models_ok(self, _request: Any) -> Any:
        from aiohttp import web
        return web.json_response({"object": "list", "data": [{"id": "m", "object": "model"}]})

    async def stream_ok(self, request: Any, body: dict[str, Any], n: int) -> Any:
        ids = [int(body["prompt"][0]) % 1000 + k for k in range(4)]
        lines = [{"choices": [{"index": 0, "text": "", "token_ids": [t], "finish_reason": None}]} for t in ids]
        return await self.sse(request, lines)

    async def sse(self, request: Any, lines: list[Any], done: bool = True, pause_s: float = 0.0) -> Any:
        """Stream `lines` (objects are JSON-encoded, str/bytes sent as the payload) as SSE data lines."""
        from aiohttp import web

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for line in lines:
            payload = line if isinstance(line, bytes) else (line if isinstance(line, str) else json.dumps(line)).encode()
            await resp.write(b"data: " + payload + b"\n\n")
            if pause_s:
                await asyncio.sleep(pause_s)
        if done:
            await resp.write(b"data: [DONE]\n\n")
        return resp

    async def hang(self) -> Any:
        await asyncio.sleep(3600)

    # server ----------------------------------------------------------------------------------------
    def _serve(self) -> None:
        from aiohttp import web

        async def models(request):
            self.auth.append(request.headers.get("Authorization"))
            return await self.models(request)

        async def completions(request):
            self.received += 1
            self.auth.append(request.headers.get("Authorization"))
            return await self.completions(request, await request.json(), self.received)

        async def start():
            app = web.Application(client_max_size=64 << 20)
            app.router.add_get("/v1/models", models)
            app.router.add_post("/v1/completions", completions)
            self.runner = web.AppRunner(app, shutdown_timeout=0.5)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.close()


@pytest.fixture
def server_b():
    s = FaultServer()
    yield s
    s.close()


def _requests(n: int, stream: bool = True, max_new_tokens: int = 4) -> list[GenerationRequest]:
    return [GenerationRequest(i, [1000 + 10 * i, 5, 6], max_new_tokens=max_new_tokens, stream=stream)
            for i in range(n)]


def _run(engine: Any, requests: list[GenerationRequest]) -> CollectingSink:
    """Submit and wait (bounded): every request must end, completed or failed."""
    sink = CollectingSink(len(requests))
    try:
        engine.submit(requests, sink)
        assert sink.wait(BOUND_S), f"only {sink.count} of {len(requests)} requests ended"
    finally:
        engine.shutdown()
    return sink


def _engine(urls: list[str], **kw: Any) -> Any:
    from mlperf_vllm.engines.openai_http import OpenAIEngine
    return OpenAIEngine(urls, "m", **kw)


def _choice(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, **fields}]}


# 1. every field the client reads from a chunk ----------------------------------------------------------
BAD_CHUNKS = {
    "token id null": ([_choice(text="", token_ids=[None])], "token id that is not a 32-bit integer: None"),
    "token id string": ([_choice(text="", token_ids=["5"])], "token id that is not a 32-bit integer: '5'"),
    "token id float": ([_choice(text="", token_ids=[5.0])], "token id that is not a 32-bit integer: 5.0"),
    "token id bool": ([_choice(text="", token_ids=[True])], "token id that is not a 32-bit integer: True"),
    "token id 2**40": ([_choice(text="", token_ids=[2**40])], "not a 32-bit integer: 1099511627776"),
    "token id 2**31": ([_choice(text="", token_ids=[2**31])], "not a 32-bit integer: 2147483648"),
    "token id negative": ([_choice(text="", token_ids=[-1])], "not a 32-bit integer: -1"),
    "token ids nested": ([_choice(text="", token_ids=[[1, 2]])], "not a 32-bit integer: [1, 2]"),
    "token ids a number": ([_choice(text="", token_ids=7)], "token_ids that are not a list: 7"),
    "token ids a string": ([_choice(text="", token_ids="7 8")], "token_ids that are not a list: '7 8'"),
    "token ids an object": ([_choice(text="", token_ids={"a": 1})], "token_ids that are not a list"),
    "choices missing": ([{"id": "x"}, {"usage": {"completion_tokens": 3}}], "server returned no tokens"),
    "choices empty": ([{"choices": []}], "server returned no tokens"),
    "choices not a list": ([{"choices": "abc"}], "choices that are not a list: 'abc'"),
    "choices an object": ([{"choices": {"text": "a"}}], "choices that are not a list"),
    "choice not an object": ([{"choices": [5]}], "a choice that is not an object: 5"),
    "text a number": ([_choice(text=5)], "text that is not a string: 5"),
    "text a list": ([_choice(text=["a"], token_ids=[1])], "text that is not a string: ['a']"),
    "finish_reason a number": ([_choice(text="", token_ids=[1], finish_reason=3)],
                               "finish_reason that is not a string: 3"),
    "finish_reason abort": ([_choice(text="", token_ids=[1], finish_reason="abort")],
                            "ended the request early (finish_reason 'abort')"),
    "not JSON": (["{oops"], "a data line that is not JSON: '{oops'"),
    "not UTF-8": ([b"\xff\xfe{"], "a data line that is not JSON"),
    "a JSON list": (["[1, 2, 3]"], "server sent a JSON list as a chunk, not an object"),
    "JSON null": (["null"], "server sent a JSON null as a chunk"),
    "a JSON string": (['"hello"'], "server sent a JSON string as a chunk"),
    "an error object": ([{"error": {"message": "engine died"}}], "error in the stream: 'engine died'"),
    "an error chunk (vLLM)": ([{"object": "error", "message": "bad"}], "error in the stream: 'bad'"),
    "logprobs a number": ([_choice(text="", token_ids=[1], logprobs=5)], "logprobs that are not an object: 5"),
    "top_logprobs a string": ([_choice(text="", token_ids=[1], logprobs={"top_logprobs": "x"})],
                              "top_logprobs that are not a list"),
    "logprob a string": ([_choice(text="", token_ids=[1], logprobs={"top_logprobs": [{"token_id:3": "x"}]})],
                         "log-probability that is not a number: 'x'"),
    "more tokens than max_tokens": ([_choice(text="", token_ids=list(range(9)))],
                                    "sent 9 tokens, more than max_tokens 4"),
    "ids then text only": ([_choice(text="a", token_ids=[1]), _choice(text="b")],
                           "text without token ids after chunks with token ids"),
}


@pytest.mark.parametrize("lines,expected", BAD_CHUNKS.values(), ids=list(BAD_CHUNKS))
def test_every_odd_chunk_is_a_per_request_error_naming_what_the_server_sent(server, lines, expected):
    async def answer(request, body, n):
        return await server.sse(request, lines)

    server.completions = answer
    sink = _run(_engine([server.url], encode=lambda text: [ord(c) for c in text]), _requests(2))
    assert not sink.results and set(sink.errors) == {0, 1}
    for message in sink.errors.values():
        assert expected in message and f"(from {server.url})" in message, message
        assert "\n" not in message and "Traceback" not in message
    assert server.received == 2  # a reply the server sent is never sent again


def test_odd_usage_and_unknown_fields_are_ignored_when_the_tokens_are_good(server):
    async def answer(request, body, n):
        return await server.sse(request, [
            _choice(text="", token_ids=[7], extra={"x": [1, None]}),
            {"usage": "lots", "choices": []},
            {"usage": {"completion_tokens": "two", "prompt_tokens": None}},
            _choice(text="", token_ids=[8], finish_reason="length", usage=[]),
        ])

    server.completions = answer
    sink = _run(_engine([server.url]), _requests(2))
    assert not sink.errors and [sink.results[i].token_ids for i in (0, 1)] == [[7, 8], [7, 8]]


@pytest.mark.parametrize("kind", ["no [DONE] nor finish_reason", "plain JSON, not a stream", "endless empty chunks",
                                  "only keep-alive comments"])
def test_streams_that_never_finish_properly_end_as_errors(server, kind):
    from aiohttp import web

    async def answer(request, body, n):
        if kind == "no [DONE] nor finish_reason":
            return await server.sse(request, [_choice(text="", token_ids=[3])], done=False)
        if kind == "plain JSON, not a stream":
            return web.json_response(_choice(text="abc", token_ids=[3, 4]))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for _ in range(10_000):  # forever, as far as the client is concerned
            await resp.write(b'data: {"choices": []}\n\n' if kind == "endless empty chunks" else b": ping\n\n")
            await asyncio.sleep(0.001)
        return resp

    server.completions = answer
    expected = {"no [DONE] nor finish_reason": "ended the stream before [DONE] or a finish_reason",
                "plain JSON, not a stream": "without any 'data:' lines",
                "endless empty chunks": "more than 32 chunks for max_tokens 4 without finishing",
                "only keep-alive comments": "server stalled: no data on any of its open requests for 1 s"}[kind]
    sink = _run(_engine([server.url], stall_timeout_s=1.0), _requests(1))
    assert expected in sink.errors[0], sink.errors


def test_a_bad_first_token_never_reaches_the_sut():
    """The first-token callback gets only checked ids (the SUT copies them into int32 for LoadGen)."""
    from mlperf_vllm.engines.openai_wire import BadReply, StreamParser

    p = StreamParser(4)
    with pytest.raises(BadReply, match="not a 32-bit integer"):
        p.feed(b'data: {"choices": [{"token_ids": [1, 1099511627776]}]}')
    assert p.first_token() == []  # nothing was taken from the bad chunk


# 5. text-only servers -------------------------------------------------------------------------------
def test_text_only_replies_are_re_encoded_capped_at_max_new_tokens_and_counted(server, caplog):
    async def answer(request, body, n):
        text = "word " * (13 if n == 1 else 1)  # 65 characters: 65 "tokens" with the encoder below
        return await server.sse(request, [_choice(text=text), _choice(text="", finish_reason="stop")])

    server.completions = answer
    engine = _engine([server.url], encode=lambda text: [ord(c) for c in text])
    with caplog.at_level("INFO", logger="mlperf_vllm.engines.openai_http"):
        sink = _run(engine, [GenerationRequest(0, [1], max_new_tokens=16, stream=True)])
    assert not sink.errors and len(sink.results[0].token_ids) == 16
    assert engine.stats.reencoded == 1 and engine.stats.capped == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("re-encoding the text with the local tokenizer" in w for w in warnings)
    assert any("1 replies had text only" in w and "1 of them re-encoded to more than --max-new-tokens" in w
               for w in warnings), warnings


def test_text_only_replies_without_a_local_tokenizer_fail_with_the_reason(server):
    async def answer(request, body, n):
        return await server.sse(request, [_choice(text="hello"), _choice(text="", finish_reason="stop")])

    server.completions = answer
    sink = _run(_engine([server.url]), _requests(1))
    assert "text without token ids, and no local tokenizer is loaded" in sink.errors[0]


# 7. rate limits -------------------------------------------------------------------------------------
def test_429_with_retry_after_is_honoured_then_resent(server):
    from aiohttp import web

    async def answer(request, body, n):
        if n == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        return await server.stream_ok(request, body, n)

    server.completions = answer
    engine = _engine([server.url])
    t0 = time.monotonic()
    sink = _run(engine, _requests(1))
    assert not sink.errors and server.received == 2 and engine.stats.rate_limited == 1
    # it waited for Retry-After before resending (a lower bound: no machine makes that wait shorter)
    assert time.monotonic() - t0 >= 0.9


@pytest.mark.parametrize("header", ["Thu, 01 Jan 1970 00:00:00 GMT", "soon", "0"])
def test_429_with_a_past_date_garbage_or_zero_retry_after_is_resent(server, header):
    from aiohttp import web

    async def answer(request, body, n):
        if n == 1:
            return web.Response(status=429, headers={"Retry-After": header})
        return await server.stream_ok(request, body, n)

    server.completions = answer
    sink = _run(_engine([server.url]), _requests(1))
    assert not sink.errors and server.received == 2


def test_429_forever_fails_after_the_retry_budget_and_keeps_its_status_in_the_cause(server):
    from aiohttp import web

    from mlperf_vllm.engines.openai_http import RETRIES
    from mlperf_vllm.results.summary import error_causes

    async def answer(request, body, n):
        return web.Response(status=429, text="too many", headers={"Retry-After": "0"})

    server.completions = answer
    sink = _run(_engine([server.url]), _requests(1))
    assert server.received == RETRIES + 1
    assert sink.errors[0].startswith(f"HTTP 429 from {server.url}: too many (gave up after {RETRIES} resends)")
    causes = error_causes([sink.errors[0], f"HTTP 500 from {server.url}: too many"])
    assert len(causes) == 2 and all(c.startswith(("HTTP 429 from", "HTTP 500 from")) for c in causes)


def test_503_without_retry_after_and_500_are_not_resent(server):
    from aiohttp import web

    async def answer(request, body, n):
        return web.Response(status=503 if n == 1 else 500, text="<html>" + "x" * 10_000)

    server.completions = answer
    sink = _run(_engine([server.url]), _requests(2))
    assert server.received == 2 and sorted(m[:8] for m in sink.errors.values()) == ["HTTP 500", "HTTP 503"]
    assert all(len(m) < 400 for m in sink.errors.values())


def test_retry_after_values():
    from mlperf_vllm.engines.openai_wire import RETRY_AFTER_MAX_S, retry_after_s

    now = 1_700_000_000.0
    assert retry_after_s("5", now) == 5.0 and retry_after_s(" 2.5 ", now) == 2.5
    assert retry_after_s("99999999", now) == RETRY_AFTER_MAX_S and retry_after_s("inf", now) == RETRY_AFTER_MAX_S
    assert retry_after_s("-3", now) == 0.0
    assert retry_after_s("Tue, 14 Nov 2023 22:13:30 GMT", now) == 10.0  # an HTTP date 10 s after now
    assert retry_after_s("Wed, 01 Jan 3000 00:00:00 GMT", now) == RETRY_AFTER_MAX_S
    assert retry_after_s("nan", now) is None and retry_after_s("later", now) is None and retry_after_s(None) is None
    assert retry_after_s("", now) is None


def test_error_causes_keep_status_codes_and_mask_what_varies():
    from mlperf_vllm.results.summary import error_causes

    causes = error_causes([
        "HTTP 429 from http://10.0.0.5:8000: rate limited",
        "HTTP 429 from http://10.0.0.6:8001: rate limited",
        "HTTP 500 from http://10.0.0.5:8000: rate limited",
        "HTTP 404 from http://h:1: request cmpl-3f9a2b7c8d9e0f1a2b3c4d5e not found",
        "HTTP 404 from http://h:1: request cmpl-0000aaaa1111bbbb2222cccc not found",
        "ClientOSError: [Errno 104] Connection reset by peer",
        "ClientOSError: [Errno 32] Broken pipe",
        "server stalled: no data on this request for 30 s (--stall-timeout) from http://h:8000",
    ])
    assert causes == {
        "HTTP 429 from http://#.#:#: rate limited": 2,
        "HTTP 404 from http://h:#: request # not found": 2,
        "HTTP 500 from http://#.#:#: rate limited": 1,
        "ClientOSError: [Errno 104] Connection reset by peer": 1,
        "ClientOSError: [Errno 32] Broken pipe": 1,
        "server stalled: no data on this request for # s (--stall-timeout) from http://h:#": 1,
    }


# 6. stalls, per request, in a fleet -------------------------------------------------------------------
def test_a_server_that_never_answers_in_a_fleet_has_its_requests_resent_within_the_bound(server, server_b):
    async def silent(request, body, n):
        await server.hang()

    server.completions = silent  # accepts, never sends a response header
    engine = _engine([server.url, server_b.url], stall_timeout_s=1.0)
    sink = _run(engine, _requests(8))  # every request ends within BOUND_S
    assert not sink.errors and sorted(sink.results) == list(range(8))
    assert server.received >= 1 and server_b.received == 8  # every request the silent one took went to B
    assert engine.stats.stalled == server.received and engine.retried == server.received


def test_a_server_that_sends_a_header_then_nothing_fails_its_requests_while_the_other_streams(server, server_b):
    from aiohttp import web

    async def header_only(request, body, n):
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await server.hang()

    async def slow(request, body, n):  # keeps streaming for longer than the stall timeout, never 1 s quiet
        return await server_b.sse(request, [_choice(text="", token_ids=[k]) for k in range(4)], pause_s=0.4)

    server.completions, server_b.completions = header_only, slow
    engine = _engine([server.url, server_b.url], stall_timeout_s=1.0)
    sink = _run(engine, _requests(4))
    # the header means the server began to answer: its requests fail (never resent), B's complete
    assert len(sink.errors) == server.received >= 1 and len(sink.results) == server_b.received
    assert all(m == f"server stalled: no data on any of its open requests for 1 s (--stall-timeout) from {server.url}"
               for m in sink.errors.values())


def test_a_request_that_stops_mid_stream_fails_although_the_server_streams_others(server):
    async def answer(request, body, n):
        if body["prompt"][0] != 7:  # request 0: one token, then nothing on this request
            resp = await server.sse(request, [_choice(text="", token_ids=[1])], done=False)
            await server.hang()
            return resp
        return await server.sse(request, [_choice(text="", token_ids=[k]) for k in range(4)], pause_s=0.3)

    server.completions = answer
    engine = _engine([server.url], stall_timeout_s=1.0)
    sink = CollectingSink(2)
    try:
        engine.submit([*_requests(1), GenerationRequest(1, [7], max_new_tokens=4, stream=True)], sink)
        assert sink.wait(BOUND_S)
    finally:
        engine.shutdown()
    assert sink.errors[0].startswith("server stalled: no data on this request for 1 s") and 1 in sink.results


def test_a_request_queued_behind_others_is_not_stalled_while_the_server_streams(server):
    from aiohttp import web

    async def answer(request, body, n):
        if body["prompt"][0] == 7:  # the running request: a token every 0.2 s for 3 s
            return await server.sse(request, [_choice(text="", token_ids=[k]) for k in range(15)], pause_s=0.2)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})  # the queued one: a header at
        await resp.prepare(request)  # once, its first token after 2.5 s (2.5 x the stall timeout)
        await asyncio.sleep(2.5)
        await resp.write(b'data: {"choices": [{"token_ids": [2], "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n')
        return resp

    server.completions = answer
    engine = _engine([server.url], stall_timeout_s=1.0)
    sink = CollectingSink(2)
    try:
        engine.submit([GenerationRequest(0, [7], max_new_tokens=32, stream=True),
                       GenerationRequest(1, [8], max_new_tokens=4, stream=True)], sink)
        assert sink.wait(BOUND_S)
    finally:
        engine.shutdown()
    assert not sink.errors, sink.errors
    assert sink.results[0].token_ids == list(range(15)) and sink.results[1].token_ids == [2]
    assert engine.stats.stalled == 0


# 2. the API key ---------------------------------------------------------------------------------------
def test_key_surrounding_whitespace_is_stripped_and_bad_characters_refused_without_showing_it(monkeypatch):
    from mlperf_vllm.engines.openai_http import api_key
    from mlperf_vllm.errors import UsageError

    for raw in (f"{KEY}\r\n", f"  {KEY}\n", f"\t{KEY}\r"):
        monkeypatch.setenv("OPENAI_API_KEY", raw)
        assert api_key() == KEY
    for raw in ("  \r\n", ""):
        monkeypatch.setenv("OPENAI_API_KEY", raw)
        assert api_key() is None
    for raw in (f"{KEY}\r{KEY}", f"{KEY} x", f"{KEY}\x01", f"{KEY}é", f"{KEY}\x7f"):
        monkeypatch.setenv("OPENAI_API_KEY", raw)
        with pytest.raises(UsageError) as err:
            api_key()
        assert KEY not in str(err.value) and "OPENAI_API_KEY" in str(err.value) and err.value.exit_code == 2


def test_the_key_is_redacted_in_every_form_it_can_take(monkeypatch):
    from mlperf_vllm.secrets import MASK, redact

    monkeypatch.setenv("OPENAI_API_KEY", f" {KEY}\r\n")
    for text in (f"Invalid header value b'Bearer {KEY}\\r'", f"Bearer {KEY}", f"{KEY}\r\n", repr(f" {KEY}\r\n")):
        assert KEY not in redact(text) and MASK in redact(text), text
    monkeypatch.setenv("OPENAI_API_KEY", f"{KEY[:10]}\x01{KEY[10:]}é")
    for text in (repr(f"{KEY[:10]}\x01{KEY[10:]}é"), repr(f"{KEY[:10]}\x01{KEY[10:]}é".encode())):
        out = redact(text)
        assert KEY[:10] not in out and KEY[10:] not in out, out


def _main(argv: list[str], capsys) -> tuple[int, str]:
    from mlperf_vllm.cli import run_main

    code = run_main.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _args(url: str, results: Path, *extra: str) -> list[str]:
    return ["--model", "demo", "--backend", "openai", "--endpoint", url, "--served-model-name", "m",
            "--scenario", "offline", "--mode", "performance", "--total-sample-count", "8", "--min-duration", "0",
            "--max-new-tokens", "4", "--results-dir", str(results), *extra]


@pytest.mark.parametrize("raw", [f"{KEY}\x01", f"{KEY}\rX", f"{KEY}é", f"a {KEY}"])
def test_run_py_refuses_a_key_an_http_header_cannot_carry_in_one_line_without_showing_it(
        server, tmp_path, capsys, monkeypatch, raw):
    monkeypatch.setenv("OPENAI_API_KEY", raw)
    code, out = _main(_args(server.url, tmp_path / "r"), capsys)
    assert code == 2 and "OPENAI_API_KEY contains" in out and len(out.strip().splitlines()) == 1, out
    assert KEY not in out and "Bearer" not in out
    assert not (tmp_path / "r").exists() and server.auth == []  # nothing written, nothing sent


def test_run_py_with_a_crlf_key_sends_the_stripped_key_and_never_writes_it_anywhere(server, tmp_path):
    """A server that echoes the Authorization header in its 429 bodies: the key is in no output, no file."""
    from aiohttp import web

    from .conftest import only_run_dir, run_tool

    async def echo(request, body, n):
        return web.Response(status=429, text=f"denied for {request.headers.get('Authorization')}",
                            headers={"Retry-After": "0"})

    server.completions = echo
    r = run_tool("run.py", *_args(server.url, tmp_path), env={"OPENAI_API_KEY": f"{KEY}\r\n"}, timeout=300)
    assert r.returncode == 5, r.stderr[-2000:]
    assert set(server.auth) == {f"Bearer {KEY}"}
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["tests"][0]["error_causes"] == {
        "HTTP 429 from http://#.#:#: denied for Bearer ***REDACTED*** (gave up after # resends)": 8}
    assert "8 samples failed in the engine: 8 x HTTP 429 from" in r.stdout
    assert KEY not in r.stdout + r.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_run_py_against_a_server_sending_huge_token_ids_ends_with_the_cause(server, tmp_path):
    from .conftest import only_run_dir, run_tool

    async def huge(request, body, n):
        return await server.sse(request, [_choice(text="", token_ids=[2**40], finish_reason="length")])

    server.completions = huge
    r = run_tool("run.py", *_args(server.url, tmp_path), timeout=300)
    assert r.returncode == 5, r.stderr[-2000:]
    assert "8 samples failed in the engine: 8 x server sent a token id that is not a #-bit integer: #" in r.stdout
    assert "Traceback" not in r.stderr
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert summary["tests"][0]["engine_errors"] == 8 and summary["status"] == "completed"


def test_run_py_accuracy_against_a_text_only_server_caps_and_reports_re_encoded_counts(server, tmp_path):
    from mlperf_vllm.mlperf import logs

    from .conftest import only_run_dir, run_tool

    async def text_only(request, body, n):
        return await server.sse(request, [_choice(text="the cat sat on the mat " * 12),
                                          _choice(text="", finish_reason="length")])

    server.completions = text_only
    args = _args(server.url, tmp_path, "--max-new-tokens", "16")
    args[args.index("performance")] = "accuracy"
    r = run_tool("run.py", *args, timeout=300)
    assert r.returncode in (0, 5), r.stderr[-2000:]
    assert "8 replies had text only and were counted by re-encoding it; 8 of them re-encoded to more than " \
           "--max-new-tokens and were cut to it" in r.stderr
    entries = json.loads((only_run_dir(tmp_path) / "Accuracy" / logs.ACCURACY_FILE).read_text())
    assert len(entries) == 8 and all(e["token_count"] == 16 for e in entries)


def test_run_py_performance_against_a_text_only_server_loads_the_tokenizer_and_notes_the_client_counts(
        server, tmp_path):
    """Performance mode loads no tokenizer for scoring, but a text-only server needs one to count tokens; the
    client's resends, rate limits and re-encoded replies end up in the run's notes, report.md and the console."""
    from aiohttp import web

    from .conftest import only_run_dir, run_tool

    async def answer(request, body, n):
        if n == 1:  # one rate-limited answer, resent at once
            return web.Response(status=429, text="slow down", headers={"Retry-After": "0"})
        return await server.sse(request, [_choice(text="the cat sat on the mat " * 4),
                                          _choice(text="", finish_reason="length")])

    server.completions = answer
    r = run_tool("run.py", *_args(server.url, tmp_path), timeout=300)
    assert r.returncode in (0, 5), r.stderr[-2000:]
    assert "samples failed" not in r.stdout and "no local tokenizer" not in r.stdout + r.stderr
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["tests"][0]["engine_errors"] == 0 and server.received == 9
    note = ("HTTP client: 1 requests sent again after the server never began to answer them; 1 rate-limited answers "
            "(HTTP 429, or 503 with Retry-After); 8 text-only replies counted by re-encoding them with the local "
            "tokenizer (8 of them cut to --max-new-tokens)")
    assert note in summary["notes"]
    assert f"- {note}" in (run_dir / "report.md").read_text()
    assert f"Note: {note}" in r.stdout


def test_client_stats_note_lists_only_what_is_not_zero():
    from mlperf_vllm.engines.openai_http import ClientStats

    assert ClientStats().note() is None
    assert ClientStats(stalled=2).note() == "HTTP client: 2 stalled attempts given up after --stall-timeout"


def test_a_run_with_a_good_server_has_no_client_note(server, tmp_path):
    from .conftest import only_run_dir, run_tool

    r = run_tool("run.py", *_args(server.url, tmp_path), timeout=300)
    assert r.returncode in (0, 5), r.stderr[-2000:]
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert not any(n.startswith("HTTP client:") for n in summary["notes"]) and "HTTP client:" not in r.stdout


@pytest.mark.parametrize("files,expected", [
    ({"tokenizer.json": "not a tokenizer"}, "cannot load the tokenizer of"),
    ({}, "has no tokenizer files"),
], ids=["broken", "none"])
def test_run_py_performance_against_openai_without_a_usable_tokenizer_is_refused_before_the_run(
        server, tmp_path, capsys, files, expected):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    for name, text in files.items():
        (model / name).write_text(text)
    args = _args(server.url, tmp_path / "r", "--dataset", "synthetic")
    args[args.index("demo")] = str(model)
    code, out = _main(args, capsys)
    assert code == 2 and expected in out and "--backend openai needs" in out and "--tokenizer" in out, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert not (tmp_path / "r").exists() and server.received == 0  # refused before anything ran


# 3. --endpoint forms ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url,why", [
    ("http://[::1", "Invalid IPv6 URL"), ("http://[zz::1]:8000", "does not appear to be an IPv4 or IPv6 address"),
    ("http://localhost:abc", "Port could not be cast to integer"), ("http://localhost:99999", "Port out of range"),
    ("http://localhost:0", "port must be 1-65535"), ("localhost:8000", "no scheme"), ("127.0.0.1", "no scheme"),
    ("ftp://host:21", "scheme 'ftp': it must be an http(s) URL"), ("http://", "no host"), ("http://:8000", "no host"),
    ("http://a host:80", "a space"), ("http://h:80/v1?x=1", "a query"), ("", "empty"),
    ("http://-bad-:80", "invalid host name"),
])
def test_bad_endpoint_urls_are_one_line_usage_errors_at_parse_time(tmp_path, capsys, url, why):
    code, out = _main(_args(url, tmp_path / "r"), capsys)
    assert code == 2 and why in out and f"--endpoint {url.strip()!r}" in out, out
    assert "expected http(s)://HOST[:PORT]" in out and len(out.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_password_in_the_endpoint_url_is_refused_without_echoing_it(tmp_path, capsys):
    code, out = _main(_args("http://user:hunter2pw@127.0.0.1:8000", tmp_path / "r"), capsys)
    assert code == 2 and "user or password in the URL" in out and "hunter2pw" not in out


def test_good_endpoint_forms_are_accepted():
    from mlperf_vllm.engines.openai_wire import check_url

    for url in ("http://127.0.0.1:8000", "https://node1.example.com", "http://[::1]:8000/v1", "http://h:1/prefix",
                " http://10.0.0.5:8000 "):
        assert check_url(url) == url.strip()


# 4. /v1/models answers --------------------------------------------------------------------------------
MODELS = {
    "a JSON list": (b'[{"id": "m"}]', "application/json", "answered with a JSON list, not an object"),
    "data null": (b'{"data": null}', "application/json", "answered with 'data' None, not a list of models"),
    "data a string": (b'{"data": "x"}', "application/json", "answered with 'data' 'x', not a list"),
    "no data": (b'{"object": "list"}', "application/json", "answered with 'data' None"),
    "strings": (b'{"data": ["m"]}', "application/json", "lists a model entry that is not an object: 'm'"),
    "entries without id": (b'{"data": [{"name": "m"}]}', "application/json", "without a string 'id'"),
    "id a number": (b'{"data": [{"id": 5}]}', "application/json", "without a string 'id'"),
    "empty list": (b'{"data": []}', "application/json", "lists no models"),
    "not JSON": (b"model: m", "text/plain", "answered with something that is not JSON ('model: m')"),
    "an HTML page": (b"<!DOCTYPE html><html><body>Login</body></html>", "text/html", "answered with an HTML page"),
    "an empty body": (b"", "application/json", "answered with an empty body"),
    "not UTF-8": (b"\xff\xfe\x00", "application/json", "not JSON"),
    "a huge body": (b'{"data": [' + b'{"id": "x"},' * 500_000 + b'{"id": "m"}]}', "application/json",
                    "answered with more than 4 MiB, not a model list"),
}


@pytest.mark.parametrize("body,ctype,expected", MODELS.values(), ids=list(MODELS))
def test_bad_models_answers_are_one_line_usage_errors_naming_the_endpoint(server, tmp_path, capsys, body, ctype,
                                                                          expected):
    from aiohttp import web

    async def models(request):
        return web.Response(body=body, content_type=ctype.split(";")[0])

    server.models = models
    code, out = _main(_args(server.url, tmp_path / "r"), capsys)
    assert code == 2 and f"--endpoint {server.url}" in out and expected in out, out
    assert len(out.strip().splitlines()) == 1 and len(out) < 400 and "Traceback" not in out
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("status,expected", [(404, "HTTP 404 from /v1/models; is this the base URL"),
                                             (302, "HTTP 302 from /v1/models (a redirect to 'http://elsewhere/')"),
                                             (500, "HTTP 500 from /v1/models; check the server"),
                                             (403, "HTTP 403 from /v1/models; set OPENAI_API_KEY")])
def test_models_status_codes_are_explained_and_redirects_not_followed(server, tmp_path, capsys, monkeypatch,
                                                                       status, expected):
    from aiohttp import web

    async def models(request):
        return web.Response(status=status, headers={"Location": "http://elsewhere/"}, text=f"echo {KEY}")

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.models = models
    code, out = _main(_args(server.url, tmp_path / "r"), capsys)
    assert code == 2 and expected in out and KEY not in out and len(out.strip().splitlines()) == 1, out
    assert server.auth == [f"Bearer {KEY}"]  # asked once, never followed to another host


def test_a_models_endpoint_that_never_answers_or_is_not_http_is_a_usage_error():
    from mlperf_vllm.engines.openai_http import check_endpoints
    from mlperf_vllm.errors import UsageError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    conns = []

    def accept(reply: bytes | None) -> None:
        conn, _ = listener.accept()
        conns.append(conn)
        conn.recv(65536)
        if reply is not None:
            conn.sendall(reply)
            conn.close()

    try:
        t = threading.Thread(target=accept, args=(None,), daemon=True)  # accepts, never answers
        t.start()
        with pytest.raises(UsageError, match=rf"--endpoint http://127.0.0.1:{port}: no complete answer from "
                                             r"/v1/models within 1 s"):
            check_endpoints([f"http://127.0.0.1:{port}"], "m", timeout_s=1.0)
        t = threading.Thread(target=accept, args=(b"SSH-2.0-OpenSSH_9.6\r\n",), daemon=True)  # not HTTP
        t.start()
        with pytest.raises(UsageError, match=rf"--endpoint http://127.0.0.1:{port} cannot be reached"):
            check_endpoints([f"http://127.0.0.1:{port}"], "m", timeout_s=5.0)
    finally:
        for c in conns:
            c.close()
        listener.close()


def test_a_models_answer_listing_many_models_names_a_few(server, tmp_path, capsys):
    from aiohttp import web

    async def models(request):
        return web.json_response({"data": [{"id": f"model-{i}"} for i in range(50)]})

    server.models = models
    code, out = _main(_args(server.url, tmp_path / "r"), capsys)
    assert code == 2 and "does not serve model 'm'" in out and "and 40 more" in out


def test_generate_against_a_good_server_still_works(server):
    engine = _engine([server.url])
    try:
        done = generate(engine, _requests(3))
    finally:
        engine.shutdown()
    assert [c.token_ids for c in done] == [[(1000 + 10 * i) % 1000 + k for k in range(4)] for i in range(3)]
