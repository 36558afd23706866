"""The benchmark's inputs: real ``POST /predict`` requests from the benchmark sample.

Requests are real post-publish rows (title, description, category, timing, counts), so the
timing includes the whole feature pipeline. The headline workload leaves tags out: the encoder
then reads the title, the same text the baseline reads (the "typical title" of the bar). With
tags (``with_tags=True``) the encoder reads ``title | tag, tag, ...``, which fills the artifact's
``max_tokens``; the bench reports that workload separately.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from miles_core.api.fields import MULTI_LINE_PATTERN

FALLBACK_TITLES = (
    "I tried the 5 AM routine for 30 days #shorts",
    "This cat learned to open doors",
    "Easiest 10 minute pasta you will ever make",
    "POV: your first day at a new job",
    "Why nobody talks about this iPhone setting",
)


def allowed_text(text: str) -> str:
    """``text`` without the characters the API refuses in a multi-line field (control, bidirectional).

    Some real descriptions in the sample hold them; the API answers such a request 422, so a client
    strips them first, and so does the bench (the encoder never reads the description).
    """
    return "".join(char for char in text if re.fullmatch(MULTI_LINE_PATTERN, char))


def load_requests(csv_path: Path | None, limit: int = 200, with_tags: bool = False) -> list[dict[str, Any]]:
    """Up to ``limit`` ``POST /predict`` bodies built from the sample CSV (fallback: fixed titles)."""
    if csv_path is None or not csv_path.exists():
        return [{"title": title} for title in FALLBACK_TITLES]
    from pydantic import ValidationError

    from miles_core.api.schemas.predict import PredictRequest
    from miles_core.dataset import iter_csv_rows, row_to_observation

    requests: list[dict[str, Any]] = []
    for row in iter_csv_rows(csv_path):
        try:
            observation = row_to_observation(row)
        except ValueError:
            continue
        request = observation.model_dump(
            mode="json",
            exclude_none=True,
            include={
                "title",
                "description",
                "tags",
                "category_id",
                "published_at",
                "observed_at",
                "duration_seconds",
                "view_count",
                "like_count",
                "comment_count",
            },
        )
        if not with_tags:
            request.pop("tags", None)
        if "description" in request:
            request["description"] = allowed_text(request["description"])
        if request.get("like_count", 0) > request.get("view_count", 0):
            request.pop("like_count", None)
        try:  # anything else the API would refuse (e.g. a too-long field) is no workload
            PredictRequest.model_validate(request)
        except ValidationError:
            continue
        requests.append(request)
        if len(requests) >= limit:
            break
    return requests or [{"title": title} for title in FALLBACK_TITLES]
