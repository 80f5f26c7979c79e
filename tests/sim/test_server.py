"""Protocol tests against a real simulator on 127.0.0.1 (OpenAI/vLLM formats, exact usage)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tokenergy.sim.server import SimHandle

from .helpers import post_json, sample_value, sse_events

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _stream_body(**fields: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,
        **fields,
    }


async def test_completions_stream_format_and_exact_usage(sim: SimHandle) -> None:
    status, headers, raw = await post_json(
        f"{sim.url}/v1/completions", _stream_body(prompt=list(range(1000, 1100)), max_tokens=12)
    )
    assert status == 200
    assert headers["x-tokenergy-simulated"] == "1"
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    usage_chunk, token_chunks = events[-2], events[:-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 12,
        "total_tokens": 112,
    }
    assert len(token_chunks) == 12
    for chunk in token_chunks:
        assert chunk["object"] == "text_completion"
        assert chunk["model"] == MODEL
        assert chunk["usage"] is None
        (choice,) = chunk["choices"]
        assert choice["index"] == 0 and len(choice["text"]) == 1
    assert [c["choices"][0]["finish_reason"] for c in token_chunks] == [None] * 11 + ["length"]
    assert len({c["id"] for c in events[:-1]}) == 1


async def test_chat_stream_starts_with_role_and_counts_template(sim: SimHandle) -> None:
    messages = [{"role": "user", "content": "hello"}]
    status, _, raw = await post_json(
        f"{sim.url}/v1/chat/completions", _stream_body(messages=messages, max_completion_tokens=5)
    )
    assert status == 200
    events = sse_events(raw)
    assert events[0]["object"] == "chat.completion.chunk"
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    contents = [e["choices"][0]["delta"]["content"] for e in events[1:-2]]
    assert len(contents) == 5
    template = "<|user|>\nhello\n<|assistant|>\n"
    assert events[-2]["usage"]["prompt_tokens"] == len(template)
    assert events[-2]["usage"]["completion_tokens"] == 5
    # the server's own tokenizer agrees with the usage count
    status, _, body = await post_json(f"{sim.url}/tokenize", {"model": MODEL, "messages": messages})
    assert json.loads(body)["count"] == len(template)


async def test_stream_without_usage_request_has_no_usage_fields(sim: SimHandle) -> None:
    body = {"model": MODEL, "prompt": "abc", "max_tokens": 3, "ignore_eos": True, "stream": True}
    _, _, raw = await post_json(f"{sim.url}/v1/completions", body)
    events = sse_events(raw)
    assert events[-1] == "[DONE]" and len(events) == 4
    assert all("usage" not in e for e in events[:-1])


async def test_continuous_usage_stats_count_up(sim: SimHandle) -> None:
    body = _stream_body(prompt="abcd", max_tokens=4)
    body["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
    _, _, raw = await post_json(f"{sim.url}/v1/completions", body)
    counts = [e["usage"]["completion_tokens"] for e in sse_events(raw)[:-2]]
    assert counts == [1, 2, 3, 4]


async def test_non_streaming_completion_and_chat(sim: SimHandle) -> None:
    body = {"model": MODEL, "prompt": "hello world", "max_tokens": 7, "ignore_eos": True}
    status, _, raw = await post_json(f"{sim.url}/v1/completions", body)
    reply = json.loads(raw)
    assert status == 200 and reply["object"] == "text_completion"
    assert reply["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert len(reply["choices"][0]["text"]) == 7
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    status, _, raw = await post_json(f"{sim.url}/v1/chat/completions", {**chat, "ignore_eos": True})
    reply = json.loads(raw)
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply["usage"]["completion_tokens"] == 2


async def test_batched_prompts_get_one_choice_each(sim: SimHandle) -> None:
    body = _stream_body(prompt=[[1, 2, 3], [4, 5, 6, 7, 8]], max_tokens=3)
    _, _, raw = await post_json(f"{sim.url}/v1/completions", body)
    events = sse_events(raw)
    per_choice: dict[int, int] = {}
    for event in events[:-2]:
        index = event["choices"][0]["index"]
        per_choice[index] = per_choice.get(index, 0) + 1
    assert per_choice == {0: 3, 1: 3}
    assert events[-2]["usage"] == {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14}


async def test_eos_stops_early_deterministically_unless_ignored(sim: SimHandle) -> None:
    async def lengths(**fields: Any) -> list[int]:
        found = []
        for _ in range(3):
            body = {"model": MODEL, "prompt": "q", "max_tokens": 4000, "seed": 11, **fields}
            _, _, raw = await post_json(f"{sim.url}/v1/completions", body)
            found.append(json.loads(raw)["usage"]["completion_tokens"])
        return found

    natural = await lengths()
    assert len(set(natural)) == 1 and natural[0] < 4000  # same seed, same early EOS
    assert await lengths(min_tokens=natural[0] + 5) == [natural[0] + 5] * 3
    reply = await lengths(ignore_eos=True, max_tokens=600)
    assert reply == [600] * 3


async def test_tokenize_detokenize_vllm_format(sim: SimHandle) -> None:
    _, _, raw = await post_json(f"{sim.url}/tokenize", {"model": MODEL, "prompt": "héllo"})
    reply = json.loads(raw)
    assert reply == {"count": 6, "max_model_len": 8192, "tokens": list("héllo".encode())}
    _, _, raw = await post_json(
        f"{sim.url}/detokenize", {"model": MODEL, "tokens": reply["tokens"]}
    )
    assert json.loads(raw) == {"prompt": "héllo"}


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1/completions", {"prompt": "x", "max_tokens": 9000}, 400, "maximum context length"),
        ("/v1/completions", {"prompt": [1, 999999]}, 400, "vocabulary"),
        ("/v1/completions", {"prompt": "x", "model": "other"}, 404, "does not exist"),
        ("/v1/completions", {"max_tokens": 3}, 400, "prompt is required"),
        ("/v1/completions", {"prompt": "x", "max_tokens": 0}, 400, "max_tokens"),
        ("/v1/chat/completions", {"messages": []}, 400, "messages"),
        (
            "/v1/completions",
            {"prompt": "x", "stream_options": {"include_usage": True}},
            400,
            "stream",
        ),
    ],
)
async def test_bad_requests_get_openai_errors(
    sim: SimHandle, path: str, body: dict[str, Any], status: int, fragment: str
) -> None:
    got, _, raw = await post_json(f"{sim.url}{path}", body)
    assert got == status
    error = json.loads(raw)["error"]
    assert fragment in error["message"] and error["code"] == status


async def test_invalid_json_is_a_400(sim: SimHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sim.url}/v1/completions", data=b"{nope") as response,
    ):
        assert response.status == 400


async def test_models_version_health_are_labelled_simulated(sim: SimHandle) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.url}/v1/models") as response:
            (model,) = (await response.json())["data"]
        async with session.get(f"{sim.url}/version") as response:
            version = (await response.json())["version"]
        async with session.get(f"{sim.url}/health") as response:
            assert response.status == 200
            assert response.headers["x-tokenergy-simulated"] == "1"
    assert model["id"] == MODEL and model["owned_by"] == "tokenergy-sim"
    assert model["max_model_len"] == 8192
    assert version.startswith("tokenergy-sim ")


async def test_metrics_expose_vllm_and_dcgm_families(sim: SimHandle) -> None:
    await post_json(f"{sim.url}/v1/completions", _stream_body(prompt="abcde", max_tokens=4))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.url}/metrics") as response:
            text = await response.text()
        async with session.get(sim.dcgm_url) as response:
            dcgm_text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["tokenergy_sim_speed"].samples[0].value == 100.0
    for name in ("vllm:num_requests_running", "vllm:num_requests_waiting"):
        assert families[name].type == "gauge"
    assert families["vllm:prompt_tokens"].samples[0].value >= 5
    assert families["vllm:generation_tokens"].samples[0].value >= 4
    finished = {
        s.labels["finished_reason"]: s.value
        for s in families["vllm:request_success"].samples
        if s.name == "vllm:request_success_total"
    }
    assert finished["length"] >= 1
    for name in ("time_to_first_token", "time_per_output_token", "e2e_request_latency"):
        family = families[f"vllm:{name}_seconds"]
        assert family.type == "histogram"
        count = next(s for s in family.samples if s.name.endswith("_count"))
        assert count.value >= 1
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter" in dcgm_text
    energy_line = next(
        line for line in dcgm_text.splitlines() if line.startswith("DCGM_FI_DEV_TOTAL_ENERGY")
    )
    labels = energy_line[energy_line.index("{") + 1 : energy_line.index("}")]
    assert [part.split("=")[0] for part in labels.split(",")] == [
        "gpu",
        "UUID",
        "device",
        "modelName",
        "Hostname",
        "tokenergy_sim_speed",  # ours: a meter scales its power plausibility bound by it
    ]
    assert 'modelName="NVIDIA H100 80GB HBM3"' in labels and 'device="nvidia0"' in labels
    assert 'tokenergy_sim_speed="100"' in labels
    value, read_ms = energy_line.rsplit("}", 1)[1].split()
    assert value.isdigit()  # integer mJ, like dcgm-exporter
    assert abs(int(read_ms) / 1000 - time.time()) < 60  # when it was read (ms since the epoch)
    assert "DCGM_FI_DEV_POWER_USAGE{" in text  # also on /metrics


async def test_dcgm_counter_is_the_ledger_to_the_millijoule(sim: SimHandle) -> None:
    """A counter read lies between two ledger snapshots taken around it (exact bookkeeping)."""
    await post_json(f"{sim.url}/v1/completions", _stream_body(prompt="abc", max_tokens=20))
    async with aiohttp.ClientSession() as session:
        before = sim.energy()
        async with session.get(sim.dcgm_url) as response:
            text = await response.text()
        after = sim.energy()
    counter = next(
        int(sample_value(line))
        for line in text.splitlines()
        if line.startswith("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{")
    )
    assert before["gpus"][0]["counter_mj"] <= counter <= after["gpus"][0]["counter_mj"]
    assert after["busy_s"] + after["idle_s"] == pytest.approx(after["sim_time_s"], rel=1e-9)
    assert after["total_energy_j"] > 0 and after["speed"] == 100.0
    assert 0 < after["sim_time_s"] <= 100.0 * after["wall_time_s"]


async def test_dcgm_publishes_the_simulated_clock_with_the_counter(sim: SimHandle) -> None:
    """Issue 14 item 14: the counter's time base, read together with it (same read stamp), so a
    meter divides simulated joules by simulated seconds; the power gauge is per simulated s."""
    async with aiohttp.ClientSession() as session:
        before = sim.energy()
        async with session.get(sim.dcgm_url) as response:
            text = await response.text()
        after = sim.energy()
    samples = {family.name: family.samples[0] for family in text_string_to_metric_families(text)}
    clock = samples["tokenergy_sim_time_seconds"]
    counter = samples["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]
    printed_s = 1e-6  # the exposition prints the clock to the microsecond
    assert before["sim_time_s"] - printed_s <= clock.value <= after["sim_time_s"] + printed_s
    assert clock.timestamp == counter.timestamp  # one read instant for both
    assert clock.labels == counter.labels  # same GPU identity: meters pair them by device
    curve = sim.server.profile.power  # a GPU's watts at speed 100, not 100 × them
    assert curve.idle_w <= samples["DCGM_FI_DEV_POWER_USAGE"].value <= curve.max_w


async def test_client_disconnect_aborts_the_sequence(sim: SimHandle) -> None:
    body = _stream_body(prompt="abc", max_tokens=8000)
    stats = sim.server.engine.stats
    generated_before = stats.generation_tokens
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sim.url}/v1/completions", json=body) as response,
    ):
        await response.content.readline()
        assert sim.server.engine.num_running == 1
    # leaving the block closed the connection mid-stream
    for _ in range(500):
        if sim.server.engine.num_running == 0:
            break
        await asyncio.sleep(0.01)
    assert sim.server.engine.num_running == 0
    assert stats.generation_tokens - generated_before < 8000  # stopped, not finished
