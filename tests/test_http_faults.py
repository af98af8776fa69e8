"""The HTTP backend under server faults, against a real HTTP server on loopback (aiohttp, streaming SSE
like `vllm serve`): connections dropped before an answer, streams cut mid-way, a stalled server."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from mlperf_vllm.engines.base import GenerationRequest, generate

pytestmark = pytest.mark.integration


class FaultyServer:
    """/v1/models lists 'm'; /v1/completions streams 4 token ids, unless told to misbehave."""

    def __init__(self) -> None:
        self.drop_before_answer = 0  # close the connection of this many requests before any answer
        self.cut_mid_stream = 0  # send one chunk, then close the connection, for this many requests
        self.stall = False  # accept, then never answer
        self.received = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self.ready.wait(10)

    def _serve(self) -> None:
        from aiohttp import web

        async def models(_request):
            return web.json_response({"data": [{"id": "m"}]})

        async def completions(request):
            self.received += 1
            body = await request.json()
            if self.drop_before_answer > 0:
                self.drop_before_answer -= 1
                request.transport.close()
                await asyncio.sleep(1)
                return web.Response()
            if self.stall:
                await self.release.wait()
                return web.Response(status=503)
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            ids = [int(body["prompt"][0]) + k for k in range(4)]
            for k, tid in enumerate(ids):
                chunk = {"choices": [{"index": 0, "text": "", "token_ids": [tid]}]}
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
                if k == 0 and self.cut_mid_stream > 0:
                    self.cut_mid_stream -= 1
                    request.transport.close()
                    return resp
            await resp.write(b"data: [DONE]\n\n")
            return resp

        async def start():
            self.release = asyncio.Event()
            app = web.Application()
            app.router.add_get("/v1/models", models)
            app.router.add_post("/v1/completions", completions)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            self.ready.set()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.release.set)
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def server():
    s = FaultyServer()
    yield s
    s.close()


def _requests(n: int, stream: bool = True) -> list[GenerationRequest]:
    return [GenerationRequest(i, [1000 + 10 * i, 5, 6], max_new_tokens=4, stream=stream) for i in range(n)]


def test_a_request_dropped_before_any_answer_is_sent_again_and_completes(server):
    from mlperf_vllm.engines.openai_http import OpenAIEngine

    server.drop_before_answer = 3
    engine = OpenAIEngine([server.url], "m")
    try:
        done = generate(engine, _requests(10))
    finally:
        engine.shutdown()
    assert sorted(c.tag for c in done) == list(range(10))
    assert all(c.token_ids == [1000 + 10 * c.tag + k for k in range(4)] for c in done)
    assert engine.retried == 3 and server.received == 13


def test_a_stream_cut_after_the_answer_began_is_not_sent_again(server):
    from mlperf_vllm.engines.base import EngineRequestError
    from mlperf_vllm.engines.openai_http import OpenAIEngine

    server.cut_mid_stream = 1
    engine = OpenAIEngine([server.url], "m")
    try:
        with pytest.raises(EngineRequestError) as err:
            generate(engine, _requests(1))
    finally:
        engine.shutdown()
    assert engine.retried == 0 and server.received == 1  # the server processed it: no second copy
    assert "Error" in str(err.value)


def test_a_stalled_server_fails_every_open_request_within_the_bound(server):
    from mlperf_vllm.engines.base import CollectingSink
    from mlperf_vllm.engines.openai_http import OpenAIEngine

    server.stall = True
    engine = OpenAIEngine([server.url], "m", stall_timeout_s=2.0)
    sink = CollectingSink(5)
    try:
        engine.submit(_requests(5), sink)
        assert sink.wait(60)  # a hang guard: the server never answers, so only the 2 s stall bound ends them
    finally:
        engine.shutdown()
    assert len(sink.errors) == 5
    assert all(msg == f"server stalled: no data on any of its open requests for 2 s (--stall-timeout) from {server.url}"
               for msg in sink.errors.values())


def test_run_py_against_a_stalled_server_explains_the_failure_everywhere(server, tmp_path):
    import os

    from .conftest import only_run_dir, run_tool

    server.stall = True
    r = run_tool("run.py", "--model", "demo", "--backend", "openai", "--endpoint", server.url,
                 "--served-model-name", "m", "--scenario", "offline", "--mode", "performance",
                 "--total-sample-count", "8", "--min-duration", "0", "--max-new-tokens", "4",
                 "--stall-timeout", "2", "--results-dir", str(tmp_path), timeout=300)
    assert r.returncode == 5, r.stderr[-2000:]
    assert "8 samples failed in the engine: 8 x server stalled" in r.stdout
    run_dir = only_run_dir(tmp_path)
    assert "8 samples failed: server stalled" in (run_dir / "run.log").read_text()
    report = (run_dir / "report.md").read_text()
    assert "8 samples failed in the engine: 8 x server stalled" in report
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["tests"][0]["error_causes"] == {
        "server stalled: no data on any of its open requests for # s (--stall-timeout) from http://#.#:#": 8}
    assert os.path.getsize(run_dir / "summary.json") > 0


def test_requests_move_to_another_server_when_one_refuses_connections(server):
    import socket

    from mlperf_vllm.engines.openai_http import OpenAIEngine

    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    engine = OpenAIEngine([dead, server.url], "m")
    try:
        done = generate(engine, _requests(6))
    finally:
        engine.shutdown()
    assert sorted(c.tag for c in done) == list(range(6)) and server.received == 6
    assert 1 <= engine.retried <= 6  # the first refusal takes the dead server out of rotation
