"""Time what a recommendation does after the LLM: fallback ideas plus scoring, with the built artifact.

``python -m infra.bench.ideas`` (``MILES_MODEL_DIR`` names the artifact, ``make model`` builds it). This is
the work ``miles_core.recommend.service.FINISH_RESERVE_SECONDS`` keeps time for; it prints the median and
maximum of a few runs per ``count`` and the best slots and scores the last run chose.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from miles_core.inference import load_predictor
from miles_core.recommend.fallback import generate_fallback_ideas
from miles_core.recommend.idea_scoring import IdeaContext, score_ideas
from miles_core.recommend.ideas import Vibe
from miles_core.recommend.patterns import extract_patterns

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--topic", default="minecraft")
    parser.add_argument("--category-id", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    predictor = load_predictor()
    patterns = extract_patterns([])
    context = IdeaContext(topic=args.topic, tags=(args.topic,), category_id=args.category_id)
    for count in (5, 10):
        seconds = []
        for _ in range(args.runs):
            started = time.perf_counter()
            ideas = generate_fallback_ideas(args.topic, Vibe.HYPE, count, patterns)
            scored = score_ideas(predictor, ideas, context, NOW)
            seconds.append(time.perf_counter() - started)
        slots = sorted({f"{s.best_posting_time.weekday.value} {s.best_posting_time.hour_utc:02d}:00" for s in scored})
        scores = [s.miles_score for s in scored]
        print(
            f"count {count}: median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s; "
            f"best slots {', '.join(slots)}; miles_score {scores}"
        )
    print(f"reason of the best idea: {scored[0].reason}")


if __name__ == "__main__":
    main()
