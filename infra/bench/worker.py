"""One benchmark process: ``python -m infra.bench.worker {miles|baseline} SETTINGS_JSON``.

The process is the unit of a cold start: it imports what the system needs, answers one
prediction and writes ``{"event": "first"}`` to stdout the moment that returns (the parent times
process start -> that line). Unless ``cold_only``, it then measures warm single-item latency and
batch-32 throughput in-process and ends with ``{"event": "done", ...}`` including its peak RSS.

Miles' text cache is cleared before every timed call of those phases, so they time texts never
seen (the encoder runs each time, as the baseline's does); re-scores of unchanged text and the
cost of ``explain`` are measured separately. ``python -m infra.bench.worker session SETTINGS_JSON``
measures one onnxruntime session configuration (threads, memory arena): CPU-seconds per item.

Nothing heavy is imported at module level: the baseline's torch import is part of its cold start,
and Miles' worker must not pay for it.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

WARMUP = 10


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _latencies_ms(call: Callable[[int], object], iterations: int, warmup: int = WARMUP) -> list[float]:
    for i in range(warmup):
        call(i)
    samples = []
    for i in range(iterations):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def _cpu_per_item(call: Callable[[int], object], iterations: int, items: int) -> tuple[float, float]:
    """(median wall ms per call, process CPU-seconds per item) over ``iterations`` calls of ``items`` items.

    Process CPU time counts every thread of the process (onnxruntime's pool included): what Lambda
    grants in proportion to memory, so it is what sets throughput at a given memory size.
    """
    call(0)
    walls = []
    cpu_started = time.process_time()
    for i in range(iterations):
        started = time.perf_counter()
        call(i)
        walls.append((time.perf_counter() - started) * 1000.0)
    cpu = time.process_time() - cpu_started
    return statistics.median(walls), cpu / (iterations * items)


def _rescore_batches(requests: list[dict[str, Any]], size: int, iterations: int) -> list[list[Any]]:
    """Batches of ``size`` published videos whose stats moved on (more views, later), text unchanged."""
    from datetime import timedelta

    from miles_core.observation import Observation

    videos = [Observation.model_validate(r) for r in requests if r.get("view_count") is not None]
    batches = []
    for i in range(iterations):
        rows = [videos[(i * size + j) % len(videos)] for j in range(size)]
        batches.append(
            [
                v.model_copy(
                    update={
                        "view_count": (v.view_count or 0) + 100 * (i + 1),
                        "observed_at": v.observed_at + timedelta(hours=i + 1) if v.observed_at else None,
                    }
                )
                for v in rows
            ]
        )
    return batches


def measure_rescores(predictor: Any, requests: list[dict[str, Any]], size: int, iterations: int) -> dict[str, Any]:
    """The stream scorer's model path on re-scores: every text already scored once, only stats changed.

    Raises if the encoder ran during the timed part: the metric is about not running it.
    """
    batches = _rescore_batches(requests, size, iterations)
    seen = _rescore_batches(requests, len(requests), 1)[0]
    for start in range(0, len(seen), size):
        predictor.predict(seen[start : start + size])  # first sight of each text: these encode
    encoded = predictor.texts.stats.encoded
    wall_ms, cpu_per_item = _cpu_per_item(lambda i: predictor.predict(batches[i % iterations]), iterations, size)
    if predictor.texts.stats.encoded != encoded:
        raise RuntimeError("re-scores of unchanged text ran the encoder")
    return {"batch": size, "items_per_s": round(size / (wall_ms / 1000.0), 1), "cpu_ms_per_item": cpu_per_item * 1000}


def run_session(settings: dict[str, Any]) -> None:
    """One onnxruntime session configuration on the Predictor alone: load, single, batch 32, re-scores."""
    import os

    os.environ["MILES_MODEL_DIR"] = settings["model_dir"]
    from pathlib import Path

    from miles_core.inference.predictor import Predictor
    from miles_core.observation import Observation

    started = time.perf_counter()
    predictor = Predictor(Path(settings["model_dir"]), threads=settings["threads"], memory_arena=settings["arena"])
    load_s = time.perf_counter() - started
    rss_loaded = _current_rss_mb()
    _emit({"event": "first"})  # loaded (the runner times process start -> here)
    requests = settings["requests"]
    videos = [Observation.model_validate(r) for r in requests]
    size = settings["batch_size"]

    def single(i: int) -> None:
        predictor.texts.clear()
        predictor.predict([videos[i % len(videos)]])

    def batch(i: int) -> None:
        predictor.texts.clear()
        predictor.predict([videos[(i * size + j) % len(videos)] for j in range(size)])

    single_ms, single_cpu = _cpu_per_item(single, settings["iterations"], 1)
    batch_ms, batch_cpu = _cpu_per_item(batch, settings["batch_iterations"], size)
    rescores = measure_rescores(predictor, requests, settings["rescore_batch"], settings["batch_iterations"])
    _emit(
        {
            "event": "done",
            "threads": settings["threads"],
            "memory_arena": settings["arena"],
            "load_s": round(load_s, 3),
            "rss_after_load_mb": round(rss_loaded, 1),
            "single_p50_ms": round(single_ms, 2),
            "single_cpu_ms_per_item": round(single_cpu * 1000, 2),
            "batch32_items_per_s": round(size / (batch_ms / 1000.0), 1),
            "batch32_cpu_ms_per_item": round(batch_cpu * 1000, 2),
            "rescore_items_per_s": rescores["items_per_s"],
            "rescore_cpu_ms_per_item": round(rescores["cpu_ms_per_item"], 3),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    )


def _current_rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / (1024.0 * 1024.0)


def run_miles(settings: dict[str, Any]) -> None:
    """The serving path as deployed: import the handler the template routes ``POST /predict`` to, call it."""
    import os

    os.environ["MILES_MODEL_DIR"] = settings["model_dir"]
    sys.path.insert(0, settings["repo_root"])
    from infra.localstack.events import LocalLambdaContext, json_event
    from infra.localstack.handlers import load_handler
    from infra.localstack.routes import route_for

    predict, batch_route = route_for("POST", "/predict"), route_for("POST", "/predict/batch")
    handler = load_handler(predict.target)  # the module import is the model load: part of the cold start
    context = LocalLambdaContext.for_request(predict.target.function)

    def call(route: Any, payload: Any) -> dict[str, Any]:
        answer: dict[str, Any] = handler(json_event(route.method, route.path, payload), context)
        return answer

    first = call(predict, {"title": settings["first_title"]})
    _emit({"event": "first", "status": first["statusCode"]})
    if settings.get("cold_only"):
        return
    predictor = sys.modules[predict.target.module].predictor  # the handler's own, loaded at import
    requests = settings["requests"]

    def single(i: int) -> None:
        predictor.texts.clear()  # a title never seen: the encoder runs, as the baseline's does
        result = call(predict, requests[i % len(requests)])
        if result["statusCode"] != 200:
            raise RuntimeError(f"predict answered {result['statusCode']}: {result['body']}")

    latencies = _latencies_ms(single, settings["iterations"])
    batch = {"items": [requests[i % len(requests)] for i in range(settings["batch_size"])]}

    def batched(_: int) -> None:
        predictor.texts.clear()
        result = call(batch_route, batch)
        if result["statusCode"] != 200:
            raise RuntimeError(f"batch answered {result['statusCode']}: {result['body'][:300]}")

    batch_ms = _latencies_ms(batched, settings["batch_iterations"], warmup=2)
    # Secondary workload: the same rows with their tags (longer encoder input, up to max_tokens).
    requests = settings["requests_with_tags"]
    batch = {"items": [requests[i % len(requests)] for i in range(settings["batch_size"])]}
    tagged_latencies = _latencies_ms(single, settings["iterations"] // 3)
    tagged_batch_ms = _latencies_ms(batched, max(3, settings["batch_iterations"] // 3), warmup=1)
    # explain: true on every item of the same batch of never-seen texts, through the handler.
    explained = {"items": [{**item, "explain": True} for item in batch["items"]]}

    def explain_batch(_: int) -> None:
        predictor.texts.clear()
        result = call(batch_route, explained)
        if result["statusCode"] != 200:
            raise RuntimeError(f"explain batch answered {result['statusCode']}: {result['body'][:300]}")

    explain_batch_ms = _latencies_ms(explain_batch, max(3, settings["batch_iterations"] // 3), warmup=1)
    plain_tagged_ms = _latencies_ms(batched, max(3, settings["batch_iterations"] // 3), warmup=1)
    rescores = measure_rescores(
        predictor, settings["requests"], settings["rescore_batch"], settings["batch_iterations"]
    )
    _emit(
        {
            "event": "done",
            "latencies_ms": latencies,
            "batch_ms": batch_ms,
            "tagged_latencies_ms": tagged_latencies,
            "tagged_batch_ms": tagged_batch_ms,
            "explain_batch_ms": explain_batch_ms,
            "plain_batch_ms_beside_explain": plain_tagged_ms,
            "rescore": rescores,
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def run_baseline(settings: dict[str, Any]) -> None:
    """The prototype's path: bert-base-uncased architecture, torch fp32 eager, inputs padded to 128."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.set_num_threads(settings["threads"])
    torch.manual_seed(0)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_file=settings["tokenizer_file"],
        pad_token="[PAD]",  # noqa: S106 - a token name, not a password
        unk_token="[UNK]",  # noqa: S106
    )
    # bert-base-uncased shape (12 layers x 768, vocab 30522), random weights, eager attention.
    config = BertConfig(attn_implementation="eager")  # type: ignore[call-arg]
    encoder = BertModel(config).eval()  # type: ignore[no-untyped-call]
    head = torch.nn.Linear(config.hidden_size, 2).eval()

    def predict(titles: list[str]) -> list[tuple[float, float]]:
        tokens = tokenizer(titles, padding="max_length", truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            pooled = encoder(**tokens).pooler_output
            out = head(pooled)
        probability = torch.sigmoid(out[:, 0])
        return [(float(p), float(v)) for p, v in zip(probability, torch.expm1(out[:, 1]), strict=True)]

    predict([settings["first_title"]])
    _emit({"event": "first", "status": 200})
    if settings.get("cold_only"):
        return
    titles = [request["title"] for request in settings["requests"]]
    latencies = _latencies_ms(lambda i: predict([titles[i % len(titles)]]), settings["iterations"])
    batch = [titles[i % len(titles)] for i in range(settings["batch_size"])]
    batch_ms = _latencies_ms(lambda _: predict(batch), settings["batch_iterations"], warmup=1)
    _emit({"event": "done", "latencies_ms": latencies, "batch_ms": batch_ms, "peak_rss_mb": _peak_rss_mb()})


def main() -> int:
    system, settings_path = sys.argv[1], sys.argv[2]
    with open(settings_path, encoding="utf-8") as handle:
        settings = json.load(handle)
    {"miles": run_miles, "baseline": run_baseline, "session": run_session}[system](settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
