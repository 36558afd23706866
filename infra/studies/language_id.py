"""Language identifiers on real titles: how well and how fast each tells an English title from another.

``python -m infra.studies.language_id`` measures every candidate that is installed (py3langid always: it is
the one Miles uses; ``pip install langdetect lingua-language-detector`` to compare those too) on the 5,578
benchmark dev titles (all English audio) and on the fresh uploads that declare an audio language: ms per
title, the share of benchmark titles read as English, and the AUROC of P(English) for English-audio uploads
against the others. Then, for py3langid, the cut-off choice (``ENGLISH_CUTOFF_QUANTILE``): for each quantile of
the train titles' P(English), the share of val titles (all English audio) it would call another language, and
the shares of fresh English-audio and other-audio uploads below it.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable

import numpy as np

from infra.studies.arguments import BENCHMARK, FRESH_UPLOADS
from miles_core.accuracy.metrics import auroc
from miles_core.coverage.language_id import guess_language
from miles_core.dataset import load_benchmark


def _langdetect() -> Callable[[str], float]:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def english(text: str) -> float:
        try:
            return next((float(guess.prob) for guess in detect_langs(text) if guess.lang == "en"), 0.0)
        except LangDetectException:
            return 0.0

    return english


def _lingua() -> Callable[[str], float]:
    from lingua import Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().build()
    return lambda text: float(detector.compute_language_confidence(text, Language.ENGLISH))


CANDIDATES: dict[str, tuple[str, Callable[[], Callable[[str], float]]]] = {
    "py3langid": ("py3langid", lambda: lambda text: guess_language(text).english_probability),
    "langdetect": ("langdetect", _langdetect),
    "lingua": ("lingua", _lingua),
}


def _fresh_titles() -> tuple[list[str], np.ndarray]:
    titles, english = [], []
    for path in sorted(FRESH_UPLOADS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            language = (row.get("default_audio_language") or "").split("-")[0].lower()
            if language and row.get("title"):
                titles.append(str(row["title"]))
                english.append(language == "en")
    return titles, np.array(english)


def cutoff_table(fresh: list[str], english: np.ndarray) -> None:
    """Why the 2nd percentile: what each train quantile costs on val and catches on fresh uploads."""
    train = np.array(
        [guess_language(o.title).english_probability for o in load_benchmark(BENCHMARK, "train").observations]
    )
    val = np.array([guess_language(o.title).english_probability for o in load_benchmark(BENCHMARK, "val").observations])
    on_fresh = np.array([guess_language(title).english_probability for title in fresh])
    print(
        "| train quantile | P(en) cut-off | val titles called another language "
        "| fresh English audio below | fresh other audio below |"
    )
    print("|---|---|---|---|---|")
    for quantile in (0.01, 0.02, 0.03, 0.05):
        cut = float(np.quantile(train, quantile))
        print(
            f"| {quantile:.0%} | {cut:.4f} | {np.mean(val < cut):.3f} | {np.mean(on_fresh[english] < cut):.3f} "
            f"| {np.mean(on_fresh[~english] < cut):.3f} |"
        )


def main() -> None:
    benchmark = [observation.title for observation in load_benchmark(BENCHMARK).observations]
    fresh, english = _fresh_titles()
    for name, (module, build) in CANDIDATES.items():
        if importlib.util.find_spec(module) is None:
            print(f"{name}: not installed")
            continue
        started = time.perf_counter()
        probability = build()
        probability("warm up")
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        on_benchmark = np.array([probability(title) for title in benchmark])
        per_title = (time.perf_counter() - started) * 1000 / len(benchmark)
        on_fresh = np.array([probability(title) for title in fresh])
        print(
            f"{name}: load {loaded:.2f} s, {per_title:.3f} ms/title; benchmark titles with P(en) >= 0.5: "
            f"{np.mean(on_benchmark >= 0.5):.3f}; fresh uploads ({len(fresh)}, {int(english.sum())} English "
            f"audio): AUROC of P(en) {auroc(english.astype(int), on_fresh):.3f}"
        )
    cutoff_table(fresh, english)


if __name__ == "__main__":
    main()
