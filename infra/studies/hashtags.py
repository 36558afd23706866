"""How title hashtags other than format markers are read: kept, stripped of ``#``, or dropped. Val AUROC of each.

``python -m infra.studies.hashtags [--model build/model]`` rewrites every val title (and tag) under each
treatment, scores the val videos in both regimes with the shipped serving artifact, and prints the AUROC of
``is_viral``. The shipped model was trained on titles as
they are (hashtags kept), so this measures what a serving-time rewrite would change, not a retrained model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from infra.studies.arguments import add_data_argument, add_serving_model_arguments, study_parser
from miles_core.accuracy.metrics import auroc
from miles_core.dataset import load_benchmark
from miles_core.inference.predictor import Predictor
from miles_core.observation import Observation

HASHTAG = re.compile(r"#([^\W_]+)")
TREATMENTS: dict[str, Callable[[str], str]] = {
    "keep": lambda text: text,
    "strip #": lambda text: HASHTAG.sub(r"\1", text),
    "drop": lambda text: " ".join(HASHTAG.sub(" ", text).split()) or text,
}


def rewrite(observation: Observation, treat: Callable[[str], str]) -> Observation:
    return observation.model_copy(update={"title": treat(observation.title)})


def main() -> None:
    parser = study_parser(__doc__)
    add_serving_model_arguments(parser)
    add_data_argument(parser)
    args = parser.parse_args()
    predictor = Predictor(args.model)
    rows = load_benchmark(args.data, "val").rows
    labels = np.array([row.is_viral for row in rows])
    tagged = np.array(["#" in row.observation.title for row in rows])
    print(
        f"val: {len(rows)} videos, {int(tagged.sum())} with a hashtag in the title "
        f"({int(labels[tagged].sum())} of them viral: too few for an AUROC of their own)"
    )
    for name, treat in TREATMENTS.items():
        line = [f"{name:8s}"]
        for regime in ("post_publish", "pre_publish"):
            observations = [
                rewrite(row.observation if regime == "post_publish" else row.observation.as_pre_publish(), treat)
                for row in rows
            ]
            probability = np.array([p.viral_probability for p in predictor.predict(observations)])
            line.append(f"{regime} AUROC {auroc(labels, probability):.6f}")
        print(" | ".join(line))


if __name__ == "__main__":
    main()
