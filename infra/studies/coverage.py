"""Does ``in_domain`` mean something? Coverage and pre-publish scores on a population the model never saw.

``python -m infra.studies.coverage [--model build/model]`` scores every fresh upload of
``infra/data/fresh_uploads`` (ordinary channels, any language, Shorts and long-form) as an idea, through the
API's own path (``PredictRequest`` -> ``score_requests``), and prints, per coverage level, how many answers
fall there and the Spearman of ``miles_score`` (where given) with the video's lifetime views per hour at
the fetch. The bar: among ``in_domain`` answers the Spearman is at least 0.2, or fewer than 10 % of the
answers are ``in_domain``. Printed three times: with the upload's declared audio language sent as
``language``; with title, tags, category and duration but no language; and with the title alone (what a typed
idea has: without its length a Short cannot be told apart).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from infra.studies.arguments import FRESH_UPLOADS, add_serving_model_arguments, study_parser
from miles_core.accuracy.metrics import spearman
from miles_core.api.schemas.predict import PredictionResult, PredictRequest
from miles_core.inference.predictor import Predictor
from miles_core.inference.request_scoring import score_requests

IN_DOMAIN_SPEARMAN_BAR = 0.2
IN_DOMAIN_SHARE_BAR = 0.10
ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class Upload:
    """One fresh upload: what an idea request can carry, and its outcome (lifetime views per hour)."""

    request: PredictRequest
    views_per_hour: float


def duration_seconds(iso: str | None) -> float | None:
    """``PT1M36S`` -> 96.0; None when absent or unreadable (a live stream's ``P0D`` reads 0)."""
    match = ISO_DURATION.match(iso or "")
    if not iso or match is None:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def _clean(text: object) -> str:
    """One line without control or format characters (what the API's text fields accept)."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text or ""))
    return " ".join(kept.split())


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def load_uploads(
    directory: Path = FRESH_UPLOADS, declared_language: bool = True, title_only: bool = False
) -> list[Upload]:
    """Every upload with a title, a view count and a positive age, as a pre-publish request."""
    uploads = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            published, fetched = _when(row["published_at"]), _when(row["fetched_at"])
            hours = (fetched - published).total_seconds() / 3600.0
            title = _clean(row.get("title"))
            if not title or row.get("view_count") is None or hours <= 0:
                continue
            language = (row.get("default_audio_language") or "").split("-")[0] or None
            request = {
                "title": title[:300],
                "tags": [_clean(tag)[:100] for tag in str(row.get("tags") or "").split("|") if _clean(tag)][:100],
                "description": _clean(row.get("description_head")),
                "category_id": int(row["category_id"]) if row.get("category_id") else None,
                "language": language if declared_language and language and language.isalpha() else None,
                "duration_seconds": duration_seconds(row.get("duration")),
                "published_at": row["published_at"],
            }
            if title_only:
                request = {"title": request["title"], "published_at": request["published_at"]}
            uploads.append(Upload(PredictRequest.model_validate(request), float(row["view_count"]) / hours))
    return uploads


def coverage_table(results: list[PredictionResult], velocity: np.ndarray) -> dict[str, dict[str, float | int | None]]:
    """Per coverage level: answers, their share, and the Spearman of miles_score with views per hour."""
    table: dict[str, dict[str, float | int | None]] = {}
    for level in ("in_domain", "partial", "outside"):
        rows = [i for i, result in enumerate(results) if result.coverage.value == level]
        scored = [i for i in rows if results[i].miles_score is not None]
        rho = (
            spearman(np.array([results[i].miles_score for i in scored], dtype=np.float64), velocity[scored])
            if len(scored) >= 3
            else None
        )
        table[level] = {"n": len(rows), "share": round(len(rows) / len(results), 4), "spearman": rho}
    return table


def study(predictor: Predictor, declared_language: bool, title_only: bool = False) -> dict[str, object]:
    """The table, the reasons counted, and whether the bar holds."""
    uploads = load_uploads(declared_language=declared_language, title_only=title_only)
    results = score_requests(predictor, [u.request for u in uploads], datetime.now(UTC))
    velocity = np.array([u.views_per_hour for u in uploads], dtype=np.float64)
    table = coverage_table(results, velocity)
    every = [r.miles_score if r.miles_score is not None else np.nan for r in results]
    scores = np.array(every, dtype=np.float64)
    given = ~np.isnan(scores)
    in_domain = table["in_domain"]
    rho = in_domain["spearman"]
    passes = (float(in_domain["share"] or 0.0) < IN_DOMAIN_SHARE_BAR) or (
        rho is not None and float(rho) >= IN_DOMAIN_SPEARMAN_BAR
    )
    return {
        "uploads": len(uploads),
        "coverage": table,
        "spearman_every_score_given": spearman(scores[given], velocity[given]) if given.sum() >= 3 else None,
        "reasons": dict(Counter(reason.code for r in results for reason in r.coverage_reasons).most_common()),
        "bar": f"in_domain Spearman >= {IN_DOMAIN_SPEARMAN_BAR} or in_domain share < {IN_DOMAIN_SHARE_BAR:.0%}",
        "passes": passes,
    }


def main() -> None:
    parser = study_parser(__doc__)
    add_serving_model_arguments(parser)
    args = parser.parse_args()
    predictor = Predictor(args.model)
    variants = {
        "with the declared audio language": (True, False),
        "title, tags and duration only (no language)": (False, False),
        "the title alone": (False, True),
    }
    for label, (declared, title_only) in variants.items():
        print(label)
        print(json.dumps(study(predictor, declared, title_only), indent=1))


if __name__ == "__main__":
    main()
