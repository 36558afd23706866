"""One benchmark process: ``python -m infra.bench.worker {miles|baseline} SETTINGS_JSON``.

The process is the unit of a cold start: it imports what the system needs, answers one
prediction and writes ``{"event": "first"}`` to stdout the moment that returns (the parent times
process start -> that line). Unless ``cold_only``, it then measures warm single-item latency and
batch-32 throughput in-process and ends with ``{"event": "done", ...}`` including its peak RSS.

Nothing heavy is imported at module level: the baseline's torch import is part of its cold start,
and Miles' worker must not pay for it.
"""

from __future__ import annotations

import json
import resource
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
    requests = settings["requests"]

    def single(i: int) -> None:
        result = call(predict, requests[i % len(requests)])
        if result["statusCode"] != 200:
            raise RuntimeError(f"predict answered {result['statusCode']}: {result['body']}")

    latencies = _latencies_ms(single, settings["iterations"])
    batch = {"items": [requests[i % len(requests)] for i in range(settings["batch_size"])]}

    def batched(_: int) -> None:
        result = call(batch_route, batch)
        if result["statusCode"] != 200:
            raise RuntimeError(f"batch answered {result['statusCode']}: {result['body'][:300]}")

    batch_ms = _latencies_ms(batched, settings["batch_iterations"], warmup=2)
    # Secondary workload: the same rows with their tags (longer encoder input, up to max_tokens).
    requests = settings["requests_with_tags"]
    batch = {"items": [requests[i % len(requests)] for i in range(settings["batch_size"])]}
    tagged_latencies = _latencies_ms(single, settings["iterations"] // 3)
    tagged_batch_ms = _latencies_ms(batched, max(3, settings["batch_iterations"] // 3), warmup=1)
    _emit(
        {
            "event": "done",
            "latencies_ms": latencies,
            "batch_ms": batch_ms,
            "tagged_latencies_ms": tagged_latencies,
            "tagged_batch_ms": tagged_batch_ms,
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
    {"miles": run_miles, "baseline": run_baseline}[system](settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
