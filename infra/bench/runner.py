"""``make bench``: Miles' serving path against a prototype-equivalent baseline, in one run.

Measured for both (each in fresh processes, same thread count):

* cold start: process start -> first prediction returned (median of several processes);
* warm latency p50/p99 for one item, in-process (Miles: through the Lambda handler, events in,
  JSON out; baseline: tokenize padded to 128 + BERT-base forward);
* throughput at batch 32, items/s (Miles: ``POST /predict/batch`` through the handler);
* peak RSS of the process that ran the warm and batch phases.

Miles only: warm p50/p99 over real HTTP through the local stack (``python -m infra.localstack``);
re-scores of unchanged text (the stream scorer's model path: stats changed, text cached, items/s);
the cost of ``"explain": true`` (ms per item, beside the same batch without it); and, per
onnxruntime session configuration (1 and 2 intra-op threads, memory arena on/off), process
CPU-seconds per item, the number Lambda's memory size buys (CPU time is granted in proportion to it).
Results go to stdout as a table and to ``.bench/results.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.bench.machine import describe_machine
from infra.bench.workload import load_requests
from miles_core.config import env_str
from miles_core.inference.artifact import ARTIFACT_FILES
from miles_core.inference.cpu_quota import default_threads

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = REPO_ROOT / "infra" / "data" / "benchmark" / "miles_benchmark_sample.csv"
FIRST_TITLE = "I tried the 5 AM routine for 30 days #shorts"


@dataclass(frozen=True)
class Bar:
    """One acceptance criterion: ``value <= limit`` (or ``>=`` when ``at_least``)."""

    metric: str
    limit: float
    at_least: bool = False

    def passes(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


BARS = (
    # Ratios to the prototype-equivalent baseline measured in the same run, so a slower
    # or faster machine moves both sides together.
    Bar("ratio.warm_p50_speedup", 100.0, at_least=True),
    Bar("ratio.batch32_throughput_gain", 150.0, at_least=True),
    Bar("ratio.cold_start_speedup", 12.0, at_least=True),
    # Absolute by nature: what a Lambda of a given memory size must hold or sustain.
    Bar("miles.with_tags_batch32_items_per_s", 300.0, at_least=True),
    Bar("miles.peak_rss_mb", 250.0),
    Bar("miles.rescore_items_per_s", 2000.0, at_least=True),
)
RESCORE_BATCH = 50
"""The scorer's stream batch size in template.yaml (``BatchSize: 50``)."""
SESSION_CONFIGS = ((1, True), (2, True), (1, False), (2, False))
"""(intra-op threads, memory arena) measured for the Lambda sizing."""


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def _worker(system: str, settings: dict[str, Any], timeout_s: float = 900.0) -> tuple[float, dict[str, Any]]:
    """Run one worker process; returns (seconds to first prediction, final report or {})."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(settings, handle)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "POWERTOOLS_METRICS_DISABLED": "true"}
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MilesBench")
    try:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", "infra.bench.worker", system, handle.name],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        assert process.stdout is not None
        cold_s = 0.0
        report: dict[str, Any] = {}
        deadline = time.monotonic() + timeout_s
        for line in process.stdout:
            if not line.startswith("{"):
                continue  # handler logs (Powertools writes JSON logs to stdout too)
            message = json.loads(line)
            if message.get("event") == "first":
                cold_s = time.perf_counter() - started
            elif message.get("event") == "done":
                report = message
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"{system} worker ran over {timeout_s} s")
        if process.wait() != 0 or cold_s == 0.0:
            raise RuntimeError(f"{system} worker failed (exit {process.returncode})")
        return cold_s, report
    finally:
        os.unlink(handle.name)


def _http_latencies(model_dir: Path, requests: list[dict[str, Any]], iterations: int) -> list[float]:
    """Start the local stack in its own process and time ``POST /predict`` over keep-alive HTTP."""
    from infra.localstack.moto import free_port
    from infra.localstack.process import start_stack_process

    port = free_port()
    key = "bench-key"
    settings = {"PORT": str(port), "MILES_API_KEY": key, "MILES_MODEL_DIR": str(model_dir)}
    server = start_stack_process(settings, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/health")
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("local stack did not start for the HTTP benchmark")
            time.sleep(0.2)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "x-api-key": key}
        bodies = [json.dumps(request) for request in requests]
        samples = []
        for i in range(iterations + 10):
            started = time.perf_counter()
            connection.request("POST", "/predict", body=bodies[i % len(bodies)], headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status != 200:
                raise RuntimeError(f"HTTP predict answered {response.status}")
            if i >= 10:
                samples.append(elapsed)
        connection.close()
        return samples
    finally:
        server.terminate()
        server.wait(timeout=10)


def _summarise(cold: list[float], report: dict[str, Any], batch_size: int) -> dict[str, float]:
    return {
        "cold_start_s": round(statistics.median(cold), 3),
        "cold_start_runs_s": [round(c, 3) for c in cold],
        **summarise_warm(report, batch_size),
        "peak_rss_mb": round(report["peak_rss_mb"], 1),
    }


def _table(results: dict[str, Any]) -> str:
    miles, base = results["miles"], results["baseline"]
    rows = [
        ("cold start (s)", "cold_start_s", "{:.2f}", False),
        ("warm p50, in-process (ms)", "warm_p50_ms", "{:.2f}", False),
        ("warm p99, in-process (ms)", "warm_p99_ms", "{:.2f}", False),
        ("warm p50, local HTTP (ms)", "http_p50_ms", "{:.2f}", False),
        ("warm p99, local HTTP (ms)", "http_p99_ms", "{:.2f}", False),
        ("throughput batch 32 (items/s)", "batch32_items_per_s", "{:.1f}", True),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}", False),
        ("with tags: warm p50 (ms)", "with_tags_warm_p50_ms", "{:.2f}", False),
        ("with tags: batch 32 (items/s)", "with_tags_batch32_items_per_s", "{:.1f}", True),
        ("with tags: batch 32, explain (ms/item)", "explain_ms_per_item", "{:.2f}", False),
        ("with tags: batch 32, plain (ms/item)", "plain_ms_per_item", "{:.2f}", False),
        ("scorer re-scores, unchanged text (items/s)", "rescore_items_per_s", "{:.0f}", True),
    ]
    lines = [f"{'metric':44} {'Miles':>10} {'baseline':>10} {'Miles vs baseline':>18}", "-" * 85]
    for label, key, fmt, higher_is_better in rows:
        mine = miles.get(key)
        theirs = base.get(key)
        ratio = ""
        if mine is not None and theirs is not None and mine > 0 and theirs > 0:
            factor = mine / theirs if higher_is_better else theirs / mine
            ratio = f"{factor:.1f}x {'more' if higher_is_better else ('less' if key == 'peak_rss_mb' else 'faster')}"
        lines.append(
            f"{label:44} {fmt.format(mine) if mine is not None else '-':>10} "
            f"{fmt.format(theirs) if theirs is not None else '-':>10} {ratio:>18}"
        )
    lines.append("")
    lines.append(
        f"{'session (threads, arena)':26} {'load s':>7} {'RSS MB':>7} {'1 item ms':>9} {'CPU ms/item':>11} "
        f"{'b32 item/s':>10} {'CPU ms/item':>11} {'rescore/s':>9} {'peak MB':>8}"
    )
    for run in results.get("sessions", []):
        lines.append(
            f"{(run['threads'], 'on' if run['memory_arena'] else 'off')!s:26} {run['load_s']:>7.2f} "
            f"{run['rss_after_load_mb']:>7.0f} {run['single_p50_ms']:>9.2f} {run['single_cpu_ms_per_item']:>11.2f} "
            f"{run['batch32_items_per_s']:>10.1f} {run['batch32_cpu_ms_per_item']:>11.2f} "
            f"{run['rescore_items_per_s']:>9.0f} {run['peak_rss_mb']:>8.0f}"
        )
    lines.append("")
    for bar in BARS:
        value = results["checks"][bar.metric]["value"]
        status = "PASS" if results["checks"][bar.metric]["pass"] else "FAIL"
        lines.append(f"  [{status}] {bar.metric} = {value} ({'>=' if bar.at_least else '<='} {bar.limit})")
    return "\n".join(lines)


def common_settings(threads: int) -> dict[str, Any]:
    """What every worker gets: the same 200 real titles from the sample, batch size 32, thread count."""
    return {"first_title": FIRST_TITLE, "requests": load_requests(SAMPLE_CSV), "batch_size": 32, "threads": threads}


def miles_settings_for(model_dir: Path, common: dict[str, Any]) -> dict[str, Any]:
    """A Miles worker's settings for the artifact in ``model_dir`` (also used by ``infra.bench.variants``)."""
    return {
        **common,
        "model_dir": str(model_dir),
        "repo_root": str(REPO_ROOT),
        "requests_with_tags": load_requests(SAMPLE_CSV, with_tags=True),
        "rescore_batch": RESCORE_BATCH,
    }


def summarise_warm(report: dict[str, Any], batch_size: int) -> dict[str, float]:
    """Warm p50/p99 (ms) and batch throughput (items/s) of one worker report (and its title + tags workload)."""
    summary = {
        "warm_p50_ms": round(_percentile(report["latencies_ms"], 50), 2),
        "warm_p99_ms": round(_percentile(report["latencies_ms"], 99), 2),
        "batch32_items_per_s": round(batch_size / (statistics.median(report["batch_ms"]) / 1000.0), 1),
    }
    if "tagged_latencies_ms" in report:  # Miles only
        summary["with_tags_warm_p50_ms"] = round(_percentile(report["tagged_latencies_ms"], 50), 2)
        tagged_s = statistics.median(report["tagged_batch_ms"]) / 1000.0
        summary["with_tags_batch32_items_per_s"] = round(batch_size / tagged_s, 1)
    return summary


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure everything and return the results document."""
    model_dir = Path(args.model_dir).resolve()
    threads = default_threads()
    from miles_core.training.encoder import encoder_directory  # only for the baseline's tokenizer file

    common = common_settings(threads)
    requests = common["requests"]
    miles_settings = miles_settings_for(model_dir, common)
    baseline_settings = {**common, "tokenizer_file": str(encoder_directory("all-MiniLM-L6-v2") / "tokenizer.json")}
    load_before = os.getloadavg()

    print(f">> Miles cold starts x{args.cold_runs}", file=sys.stderr, flush=True)
    miles_cold = [_worker("miles", {**miles_settings, "cold_only": True})[0] for _ in range(args.cold_runs - 1)]
    cold, miles_report = _worker(
        "miles", {**miles_settings, "iterations": args.iterations, "batch_iterations": args.batch_iterations}
    )
    miles = _summarise([*miles_cold, cold], miles_report, 32)
    miles["explain_ms_per_item"] = round(statistics.median(miles_report["explain_batch_ms"]) / 32, 2)
    miles["plain_ms_per_item"] = round(statistics.median(miles_report["plain_batch_ms_beside_explain"]) / 32, 2)
    miles["rescore_items_per_s"] = miles_report["rescore"]["items_per_s"]
    print(">> onnxruntime session configurations (threads, memory arena)", file=sys.stderr, flush=True)
    sessions = [
        _worker(
            "session",
            {
                **miles_settings,
                "threads": config_threads,
                "arena": arena,
                "iterations": max(30, args.iterations // 3),
                "batch_iterations": args.batch_iterations,
            },
        )[1]
        for config_threads, arena in SESSION_CONFIGS
    ]
    print(">> Miles over local HTTP", file=sys.stderr, flush=True)
    http_samples = _http_latencies(model_dir, requests, args.iterations)
    miles["http_p50_ms"] = round(_percentile(http_samples, 50), 2)
    miles["http_p99_ms"] = round(_percentile(http_samples, 99), 2)

    print(f">> baseline (BERT-base fp32, torch eager) cold starts x{args.baseline_cold_runs}", file=sys.stderr)
    base_cold = [
        _worker("baseline", {**baseline_settings, "cold_only": True})[0] for _ in range(args.baseline_cold_runs - 1)
    ]
    cold, base_report = _worker(
        "baseline",
        {
            **baseline_settings,
            "iterations": args.baseline_iterations,
            "batch_iterations": args.baseline_batch_iterations,
        },
    )
    baseline = _summarise([*base_cold, cold], base_report, 32)

    ratios = {
        "warm_p50_speedup": round(baseline["warm_p50_ms"] / miles["warm_p50_ms"], 1),
        "warm_p99_speedup": round(baseline["warm_p99_ms"] / miles["warm_p99_ms"], 1),
        "cold_start_speedup": round(baseline["cold_start_s"] / miles["cold_start_s"], 1),
        "batch32_throughput_gain": round(miles["batch32_items_per_s"] / baseline["batch32_items_per_s"], 1),
        "peak_rss_reduction": round(baseline["peak_rss_mb"] / miles["peak_rss_mb"], 1),
    }
    flat = {**{f"miles.{k}": v for k, v in miles.items()}, **{f"ratio.{k}": v for k, v in ratios.items()}}
    checks = {bar.metric: {"value": flat[bar.metric], "pass": bar.passes(float(flat[bar.metric]))} for bar in BARS}
    card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
    return {
        "machine": {
            **describe_machine(),
            "threads": threads,
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "model": {"dir": str(model_dir), "model_version": card.get("model_version"), "encoder": card.get("encoder")},
        "workload": {
            "requests": len(requests),
            "source": str(SAMPLE_CSV) if SAMPLE_CSV.exists() else "fallback titles",
            "iterations": args.iterations,
            "baseline_iterations": args.baseline_iterations,
        },
        "miles": miles,
        "baseline": baseline,
        "sessions": [{k: v for k, v in run.items() if k != "event"} for run in sessions],
        "ratios": ratios,
        "checks": checks,
        "all_pass": all(check["pass"] for check in checks.values()),
    }


def main(argv: list[str] | None = None) -> int:
    default_model = env_str("MILES_MODEL_DIR", str(REPO_ROOT / "build" / "model"))
    parser = argparse.ArgumentParser(prog="python -m infra.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=default_model, help="serving artifact (default: MILES_MODEL_DIR)")
    parser.add_argument("--out", default=str(REPO_ROOT / ".bench" / "results.json"))
    parser.add_argument("--iterations", type=int, default=300, help="warm single-item calls (Miles)")
    parser.add_argument("--batch-iterations", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--baseline-iterations", type=int, default=60)
    parser.add_argument("--baseline-batch-iterations", type=int, default=3)
    # Three, so the median is one run rather than the mean of two: the baseline's cold start (5-8 s, mostly
    # importing torch and transformers) varied most between runs on the shared 2-core machine.
    parser.add_argument("--baseline-cold-runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not all((Path(args.model_dir) / name).is_file() for name in ARTIFACT_FILES):
        print(f"no model artifact at {args.model_dir}: run `make model` or pass --model-dir", file=sys.stderr)
        return 2
    results = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(_table(results))
    machine = results["machine"]
    isa = ", ".join(flag for flag, present in machine["isa"].items() if present) or "unknown"
    print(
        f"\nmodel {results['model']['model_version']} ({results['model']['dir']}); "
        f"{machine['cpu_model']}, {machine['cpus']} CPUs, {machine['threads']} threads, ISA {isa}; "
        f"load before {results['machine']['load_average_before']}; written to {out}"
    )
    return 0 if results["all_pass"] else 1
