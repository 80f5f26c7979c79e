"""The simulator's aiohttp app: OpenAI/vLLM-compatible endpoints over the engine model.

Endpoints: POST /v1/completions, /v1/chat/completions, /tokenize, /detokenize; GET /v1/models,
/health, /version, /metrics (vLLM + DCGM), /dcgm/metrics (DCGM only), /sim/energy (the sim's
exact energy bookkeeping). Every response carries ``x-tokenergy-simulated: 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import numpy as np
from aiohttp import web

from tokenergy._version import __version__
from tokenergy.sim import tokenizer
from tokenergy.sim.clock import SimClock
from tokenergy.sim.engine import Engine, Sequence, TokenEvent, TokenSink, TokenStream
from tokenergy.sim.eventloop import LoopKind, new_event_loop
from tokenergy.sim.faults import FaultSpec, RequestFaults, draw_faults, parse_faults
from tokenergy.sim.metrics import (
    GpuReading,
    counter_mj,
    render_dcgm,
    render_vllm,
    vllm_registry,
)
from tokenergy.sim.power import EnergyLedger, make_gpus
from tokenergy.sim.profiles import Profile, load_profile, with_max_num_seqs
from tokenergy.sim.protocol import (
    BadRequest,
    Generation,
    chat_prompt,
    completion_prompts,
    parse_generation,
)
from tokenergy.sim.responses import (
    Outcome,
    TokenChunks,
    chat_completion,
    chunk_builder,
    error_response,
    sse,
    stream_choice,
    text_completion,
)
from tokenergy.sim.sinks import DirectStream, FinishLine, token_frames, token_frames_with_usage
from tokenergy.sim.turnaround import HoldMode

SIMULATED_HEADER = "x-tokenergy-simulated"
OWNED_BY = "tokenergy-sim"
_EOS_STREAM = 0xE05
_ROLE_CHOICE = {  # chat's first event: the assistant role, empty content
    "index": 0,
    "delta": {"role": "assistant", "content": ""},
    "logprobs": None,
    "finish_reason": None,
}


class SimServer:
    """One simulated deployment: clock, engine, energy ledger and the HTTP app around them."""

    def __init__(
        self,
        profile: Profile,
        *,
        speed: float = 1.0,
        faults: FaultSpec | None = None,
        seed: int = 0,
        num_gpus: int | None = None,
        max_num_seqs: int | None = None,
        hostname: str | None = None,
        hold: HoldMode = HoldMode.AUTO,
    ) -> None:
        if max_num_seqs is not None:
            profile = with_max_num_seqs(profile, max_num_seqs)
        self.profile = profile
        self.faults = faults or FaultSpec()
        self.seed = seed
        self.hostname = hostname or socket.gethostname()
        gpus = num_gpus or profile.num_gpus
        self.clock = SimClock(speed)
        self.ledger = EnergyLedger(profile.power, gpus)
        self.gpus = make_gpus(gpus, profile.gpu_model_name, profile.power.idle_w, seed)
        self.engine = Engine(profile, self.clock, self.ledger, hold=hold)
        self._registry = vllm_registry(self.engine, profile.model, speed)
        self._requests = 0
        self._engine_task: asyncio.Task[None] | None = None
        self.app = self._build_app()

    # --- app wiring ---------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.on_response_prepare.append(self._label_simulated)
        app.on_startup.append(self._start_engine)
        app.on_cleanup.append(self._stop_engine)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/tokenize", self._tokenize)
        app.router.add_post("/detokenize", self._detokenize)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/version", self._version)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/dcgm/metrics", self._dcgm_metrics)
        app.router.add_get("/sim/energy", self._energy)
        return app

    @staticmethod
    async def _label_simulated(_: web.Request, response: web.StreamResponse) -> None:
        response.headers[SIMULATED_HEADER] = "1"

    async def _start_engine(self, _: web.Application) -> None:
        self._engine_task = asyncio.create_task(self.engine.run(self.faults.slow_start_s))

    @property
    def _engine_failed(self) -> bool:
        task = self._engine_task
        return task is not None and task.done()

    async def _stop_engine(self, _: web.Application) -> None:
        if self._engine_task is not None:
            self._engine_task.cancel()
            await asyncio.gather(self._engine_task, return_exceptions=True)

    # --- energy -------------------------------------------------------------------------------

    def energy_snapshot(self) -> dict[str, Any]:
        """The sim's exact bookkeeping: per-GPU energy since start and the counter it shows."""
        read_unix_s = time.time()  # the instant the ledger is read (wall clock, as meters use)
        now_s = self.clock.now_s()
        energy_j = self.ledger.energy_j(now_s)
        busy_s, idle_s = self.ledger.busy_idle_s(now_s)
        return {
            "simulated": True,
            "unix_s": read_unix_s,
            "speed": self.clock.speed,
            "sim_time_s": now_s,
            "wall_time_s": self.clock.wall_elapsed_s(),
            "busy_s": busy_s,
            "idle_s": idle_s,
            "generation_tokens": self.engine.stats.generation_tokens,
            "prompt_tokens": self.engine.stats.prompt_tokens,
            "power_w_per_gpu": self.ledger.power_w,
            "total_energy_j": energy_j * len(self.gpus),
            "gpus": [
                {
                    "gpu": gpu.index,
                    "uuid": gpu.uuid,
                    "energy_j": energy_j,
                    "counter_mj": counter_mj(gpu.boot_energy_j, energy_j),
                }
                for gpu in self.gpus
            ],
        }

    def _readings(self) -> list[GpuReading]:
        read_ms = round(time.time() * 1000)
        now_s = self.clock.now_s()
        energy_j = self.ledger.energy_j(now_s)
        return [
            GpuReading(
                gpu, counter_mj(gpu.boot_energy_j, energy_j), self.ledger.power_w, read_ms, now_s
            )
            for gpu in self.gpus
        ]

    # --- simple endpoints -----------------------------------------------------------------

    async def _health(self, _: web.Request) -> web.Response:
        if self._engine_failed:
            return web.Response(status=500, text="engine stopped")
        return web.Response(status=200 if self.engine.ready else 503)

    async def _version(self, _: web.Request) -> web.Response:
        return web.json_response({"version": f"tokenergy-sim {__version__}"})

    async def _models(self, _: web.Request) -> web.Response:
        model = {
            "id": self.profile.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": OWNED_BY,
            "root": self.profile.model,
            "parent": None,
            "max_model_len": self.profile.max_model_len,
        }
        return web.json_response({"object": "list", "data": [model]})

    async def _metrics(self, _: web.Request) -> web.Response:
        text = render_vllm(self._registry) + render_dcgm(
            self._readings(), self.hostname, self.clock.speed
        )
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def _dcgm_metrics(self, _: web.Request) -> web.Response:
        text = render_dcgm(self._readings(), self.hostname, self.clock.speed)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def _energy(self, _: web.Request) -> web.Response:
        return web.json_response(self.energy_snapshot())

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        model = body.get("model")
        if model is not None and model != self.profile.model:
            raise BadRequest(f"The model `{model}` does not exist.", status=404)
        return body

    async def _tokenize(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            if "messages" in body:
                tokens = chat_prompt(body)
            elif isinstance(body.get("prompt"), str):
                tokens = tokenizer.encode(body["prompt"])
            else:
                raise BadRequest("tokenize needs a string prompt or messages")
        except BadRequest as error:
            return error_response(error.status, error.message)
        response: dict[str, Any] = {
            "count": len(tokens),
            "max_model_len": self.profile.max_model_len,
            "tokens": tokens,
        }
        if body.get("return_token_strs"):
            response["token_strs"] = [tokenizer.decode([token]) for token in tokens]
        return web.json_response(response)

    async def _detokenize(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            tokens = body.get("tokens")
            if not isinstance(tokens, list):
                raise BadRequest("detokenize needs tokens: a list of token ids")
            ids = completion_prompts(tokens, self.profile.vocab_size)[0] if tokens else []
        except BadRequest as error:
            return error_response(error.status, error.message)
        return web.json_response({"prompt": tokenizer.decode(ids)})

    # --- generation -----------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=False)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=True)

    def _output_plan(
        self, gen: Generation, prompt_len: int, index: int, choice: int
    ) -> tuple[int, str]:
        """Final output length and finish reason: max_tokens, or an EOS drawn per seed."""
        limit = self.profile.max_model_len - prompt_len
        if gen.max_tokens is not None and gen.max_tokens > limit:
            raise BadRequest(
                f"This model's maximum context length is {self.profile.max_model_len} tokens. "
                f"However, you requested {prompt_len + gen.max_tokens} tokens ({prompt_len} in the "
                f"messages, {gen.max_tokens} in the completion). Please reduce the length of the "
                "messages or completion."
            )
        if limit < 1:
            raise BadRequest(f"prompt of {prompt_len} tokens leaves no room for output")
        max_tokens = limit if gen.max_tokens is None else gen.max_tokens
        if gen.ignore_eos:
            return max_tokens, "length"
        key = (
            [gen.seed, _EOS_STREAM, choice]
            if gen.seed is not None
            else [self.seed, _EOS_STREAM, index, choice]
        )
        natural = int(np.random.default_rng(key).geometric(1.0 / self.profile.eos_mean_tokens))
        stop_at = max(natural, gen.min_tokens, 1)
        if stop_at >= max_tokens:
            return max_tokens, "length"
        return stop_at, "stop"

    async def _generate(self, request: web.Request, chat: bool) -> web.StreamResponse:
        try:
            body = await self._body(request)
            gen = parse_generation(body, chat, self.profile.vocab_size)
            index = self._requests
            self._requests += 1
            plans = [
                self._output_plan(gen, len(prompt), index, choice)
                for choice, prompt in enumerate(gen.prompts)
            ]
        except BadRequest as error:
            return error_response(error.status, error.message)
        faults = draw_faults(self.faults, self.seed, index, sum(stop for stop, _ in plans))
        if faults.error_status is not None:
            return error_response(faults.error_status, "simulated fault")
        await self.engine.wait_ready()
        if self._engine_failed:
            return error_response(500, "simulated engine stopped")
        if not faults.mid_response:
            if not gen.stream:
                return await self._respond_once(chat, gen, plans, index)
            if len(plans) == 1:
                return await self._stream_direct(request, gen, chat, plans[0], index)
        events = TokenStream()
        seqs = self._submit(gen, plans, [events] * len(plans))
        try:
            if gen.stream:
                return await self._stream(request, gen, chat, seqs, events, faults, index)
            return await self._respond(request, chat, seqs, events, faults, index)
        finally:
            self._abort_unfinished(seqs)

    @staticmethod
    def _text_offset(index: int, choice: int) -> int:
        """Where in the generated text a request's prompt starts (varies between requests)."""
        return index * 7 + choice * 13

    def _token_text(self, event: TokenEvent, index: int) -> str:
        offset = self._text_offset(index, event.choice)
        return chr(tokenizer.generated_token(event.token_index, offset))

    def _submit(
        self, gen: Generation, plans: list[tuple[int, str]], sinks: list[TokenSink]
    ) -> list[Sequence]:
        return [
            self.engine.submit(len(prompt), stop_at, reason, sink, choice)
            for choice, (prompt, (stop_at, reason), sink) in enumerate(
                zip(gen.prompts, plans, sinks, strict=True)
            )
        ]

    def _abort_unfinished(self, seqs: list[Sequence]) -> None:
        for seq in seqs:
            if seq.generated < seq.stop_at:
                self.engine.abort(seq)

    async def _respond_once(
        self, chat: bool, gen: Generation, plans: list[tuple[int, str]], index: int
    ) -> web.StreamResponse:
        """A non-streamed request without faults: woken once, when its prompts are done."""
        finish_line = FinishLine(len(plans))
        seqs = self._submit(gen, plans, [finish_line] * len(plans))
        try:
            await finish_line.done
        finally:
            self._abort_unfinished(seqs)
        texts = [
            list(tokenizer.generated_text(seq.generated, self._text_offset(index, seq.choice)))
            for seq in seqs
        ]
        outcome = Outcome(texts, finish_line.finish)
        return self._completion(seqs, outcome, chat)

    def _completion(self, seqs: list[Sequence], outcome: Outcome, chat: bool) -> web.Response:
        """The non-streamed response body of a finished request, chat or text completion."""
        usage = self._usage(seqs, outcome.completion_tokens)
        build = chat_completion if chat else text_completion
        return web.json_response(build(self.profile.model, outcome, usage))

    async def _stream_direct(
        self,
        request: web.Request,
        gen: Generation,
        chat: bool,
        plan: tuple[int, str],
        index: int,
    ) -> web.StreamResponse:
        """A streamed one-prompt request without faults: the engine writes its token events
        (sinks.DirectStream); this handler sends the headers, then the last token, the usage
        and [DONE]."""
        response, base = await self._open_stream(request, chat)
        stop_at = plan[0]
        prompt_tokens = len(gen.prompts[0])
        templated = TokenChunks(base, chat, gen)
        if chat:  # the role event; prepare has sent the headers already, as vLLM does
            role = chunk_builder(base, chat, gen, lambda: self._prompt_usage(prompt_tokens, 0))
            try:
                await response.write(role(_ROLE_CHOICE))
            except ConnectionResetError:
                return response
        transport = request.transport
        if transport is None:
            return response
        offset = self._text_offset(index, 0)
        if gen.continuous_usage:
            before, middle = templated.usage_template(0, None, prompt_tokens)
            render = token_frames_with_usage(before, middle, prompt_tokens, offset)
        else:
            render = token_frames(*templated.template(0, None), offset)
        seqs: list[Sequence] = []
        sink = DirectStream(
            transport,
            render,
            chunked=response.headers.get("Transfer-Encoding") == "chunked",
            outbox=self.engine.outbox,
            on_close=lambda: self._abort_unfinished(seqs),
        )
        seqs += self._submit(gen, [plan], [sink])
        try:
            await sink.done
        finally:
            self._abort_unfinished(seqs)
        final = sink.final
        if final is None:  # the connection closed
            return response
        text = self._token_text(final, index)
        pieces = [
            sink.take(),  # the events of due steps still held (behind schedule)
            templated.with_usage(final, text, prompt_tokens, stop_at)
            if gen.continuous_usage
            else templated(final, text),
        ]
        if gen.include_usage:
            pieces.append(templated.usage(self._prompt_usage(prompt_tokens, stop_at)))
        pieces.append(b"data: [DONE]\n\n")
        with contextlib.suppress(ConnectionResetError):  # the client went away at the end
            await response.write_eof(b"".join(pieces))  # held, last, usage, [DONE]: one write
        return response

    async def _open_stream(
        self, request: web.Request, chat: bool
    ) -> tuple[web.StreamResponse, dict[str, Any]]:
        """A prepared SSE response and the fields every chunk of it repeats."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)
        base = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.profile.model,
        }
        return response, base

    async def _stall(self, faults: RequestFaults, delivered: int) -> None:
        if faults.stall_after == delivered:
            await asyncio.sleep(self.clock.wall_delay_s(self.faults.stall_s))

    @staticmethod
    def _cut(request: web.Request) -> None:
        """Drop the connection without finishing the response (a simulated disconnect)."""
        if request.transport is not None:
            request.transport.abort()

    def _usage(self, seqs: list[Sequence], completion_tokens: int) -> dict[str, int]:
        return self._prompt_usage(sum(seq.prompt_len for seq in seqs), completion_tokens)

    @staticmethod
    def _prompt_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    async def _respond(
        self,
        request: web.Request,
        chat: bool,
        seqs: list[Sequence],
        events: TokenStream,
        faults: RequestFaults,
        index: int,
    ) -> web.StreamResponse:
        outcome = Outcome.empty(len(seqs))
        delivered = 0
        while not outcome.done:
            for event in await events.take():
                await self._stall(faults, delivered)
                if faults.disconnect_after == delivered:
                    self._cut(request)
                    return web.Response(status=499)
                outcome.add(event, self._token_text(event, index))
                delivered += 1
        return self._completion(seqs, outcome, chat)

    async def _stream(
        self,
        request: web.Request,
        gen: Generation,
        chat: bool,
        seqs: list[Sequence],
        events: TokenStream,
        faults: RequestFaults,
        index: int,
    ) -> web.StreamResponse:
        response, base = await self._open_stream(request, chat)
        outcome = Outcome.empty(len(seqs))
        running_usage = chunk_builder(
            base, chat, gen, lambda: self._usage(seqs, outcome.completion_tokens)
        )
        templated = TokenChunks(base, chat, gen)

        def chunk(event: TokenEvent, text: str) -> bytes:
            return running_usage(stream_choice(chat, event, text))

        token_chunk = chunk if gen.continuous_usage else templated
        try:
            if chat:
                await response.write(running_usage(_ROLE_CHOICE))
            delivered = 0
            while True:
                pieces: list[bytes] = []
                for event in await events.take():
                    if faults.stall_after == delivered or faults.disconnect_after == delivered:
                        if pieces:
                            await response.write(b"".join(pieces))
                            pieces = []
                        await self._stall(faults, delivered)
                        if faults.disconnect_after == delivered:
                            self._cut(request)
                            return response
                    text = self._token_text(event, index)
                    outcome.add(event, text)
                    delivered += 1
                    pieces.append(token_chunk(event, text))
                if outcome.done:
                    break
                await response.write(b"".join(pieces))
            if gen.include_usage:
                final: dict[str, Any] = {
                    **base,
                    "choices": [],
                    "usage": self._usage(seqs, outcome.completion_tokens),
                }
                pieces.append(sse(final))
            pieces.append(b"data: [DONE]\n\n")
            await response.write_eof(b"".join(pieces))  # last tokens, usage, [DONE]: one write
        except ConnectionResetError:
            pass  # the client went away; _generate aborts the sequences
        return response


class SimHandle:
    """A simulator serving on a background thread (for tests and benchmarks of other parts)."""

    def __init__(
        self, server: SimServer, host: str, port: int, event_loop: LoopKind = LoopKind.ASYNCIO
    ) -> None:
        self.server = server
        self.host = host
        self.port = port
        self._loop = new_event_loop(event_loop)
        self._runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="tokenergy-sim", daemon=True)

    @property
    def url(self) -> str:
        """Base URL (no /v1), e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def dcgm_url(self) -> str:
        """The DCGM-exporter-format metrics endpoint."""
        return f"{self.url}/dcgm/metrics"

    def start(self) -> Self:
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port)
            self._loop.run_until_complete(site.start())
            self.port = self._runner.addresses[0][1]
        except BaseException as error:  # reported to the starting thread
            self._failure = error
            self._started.set()
            return
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

    def _call(self, function: Callable[[], Any]) -> Any:
        async def wrapped() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout=10)

    def energy(self) -> dict[str, Any]:
        """The sim's exact energy bookkeeping (as GET /sim/energy)."""
        return dict(self._call(self.server.energy_snapshot))

    def energy_j(self) -> float:
        """Total energy of all simulated GPUs since the sim started, joules."""
        return float(self.energy()["total_energy_j"])

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    profile: Profile | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float = 1.0,
    faults: FaultSpec | str | None = None,
    seed: int = 0,
    num_gpus: int | None = None,
    max_num_seqs: int | None = None,
    hold: HoldMode = HoldMode.AUTO,
    event_loop: LoopKind = LoopKind.ASYNCIO,
) -> SimHandle:
    """Start a simulator on a background thread; use as a context manager or call .stop().
    ``event_loop``: asyncio's (default), uvloop, or auto (uvloop when installed)."""
    spec = parse_faults(faults) if isinstance(faults, str) else faults
    resolved = load_profile(profile) if isinstance(profile, str) else profile
    server = SimServer(
        resolved,
        speed=speed,
        faults=spec,
        seed=seed,
        num_gpus=num_gpus,
        max_num_seqs=max_num_seqs,
        hold=hold,
    )
    return SimHandle(server, host, port, event_loop).start()


simulator = (
    run_in_thread  # the public name: ``with tokenergy.simulator("llama-3.1-8b-h100") as sim``
)
