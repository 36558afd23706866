"""What the per-answer coverage check costs next to a warm prediction, measured in the same run.

``python -m infra.studies.coverage_cost [--model build/model] [--data BENCHMARK] [--titles 300]``: for distinct
val titles never seen by the process (every cache cleared before each), the median wall time of one warm single-title
``Predictor.predict`` (which includes the check) and of the check alone (``assess``: format markers, title
statistics, the language identifier).
"""

from __future__ import annotations

import statistics
import time

from infra.studies.arguments import add_data_argument, add_serving_model_arguments, study_parser
from miles_core.coverage import assess
from miles_core.coverage.language_id import guess_language
from miles_core.dataset import load_benchmark
from miles_core.features.format_markers import _model_text
from miles_core.inference.predictor import Predictor
from miles_core.observation import Observation


def _clear(predictor: Predictor) -> None:
    predictor.texts.clear()
    guess_language.cache_clear()
    _model_text.cache_clear()


def main() -> None:
    parser = study_parser(__doc__)
    add_serving_model_arguments(parser)
    add_data_argument(parser)
    parser.add_argument("--titles", type=int, default=300)
    args = parser.parse_args()
    predictor = Predictor(args.model, threads=1)
    titles = list(dict.fromkeys(o.title for o in load_benchmark(args.data, "val").observations))[: args.titles]
    predictor.predict([Observation(title="warm up")])
    guess_language("warm up")
    predict_ms, check_ms = [], []
    for title in titles:
        observation = Observation(title=title)
        _clear(predictor)
        started = time.perf_counter()
        assess(observation, predictor.population, predictor.spec.languages)
        check_ms.append((time.perf_counter() - started) * 1000)
        _clear(predictor)
        started = time.perf_counter()
        predictor.predict([observation])
        predict_ms.append((time.perf_counter() - started) * 1000)
    p50_predict, p50_check = statistics.median(predict_ms), statistics.median(check_ms)
    share = 100 * p50_check / p50_predict
    print(
        f"{len(titles)} new titles, one thread: warm predict p50 {p50_predict:.3f} ms (coverage included), "
        f"coverage check alone p50 {p50_check:.3f} ms ({share:.1f} % of the prediction)"
    )


if __name__ == "__main__":
    main()
