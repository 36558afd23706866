"""Ideas the model can score rank before ideas it cannot, which carry no score and say why."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

from miles_core.coverage import Coverage, CoverageReason
from miles_core.inference.predictor import Prediction
from miles_core.observation import Observation
from miles_core.recommend.idea_scoring import IdeaContext, score_ideas
from miles_core.recommend.ideas import IdeaDraft
from tests.support.recommend_data import FakeScorer

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
UNREADABLE = "receta"
WHY = CoverageReason("language", Coverage.OUTSIDE, "The title reads as 'es', not English.")


class CoverageScorer(FakeScorer):
    """The fake scorer, but a title containing :data:`UNREADABLE` is ``outside``: no score, with a reason."""

    def predict(self, observations: Sequence[Observation], *, explain: bool = False) -> list[Prediction]:
        return [
            dataclasses.replace(p, coverage=Coverage.OUTSIDE, coverage_reasons=(WHY,), miles_score=None)
            if UNREADABLE in o.title
            else p
            for o, p in zip(observations, super().predict(observations, explain=explain), strict=True)
        ]


def _idea(title: str, *alternatives: str) -> IdeaDraft:
    return IdeaDraft.model_validate(
        {
            "title": title,
            "alternative_titles": list(alternatives),
            "hook": "Watch this first",
            "description": "An idea to film.",
            "suggested_duration_seconds": 45,
            "reasoning": "From the observed patterns.",
        }
    )


def test_in_domain_ideas_and_wordings_rank_first() -> None:
    ideas = [
        _idea(f"A very long {UNREADABLE} title that would otherwise win every comparison", f"Another {UNREADABLE}"),
        _idea("Short idea", "Tiny"),
        _idea(f"Pasta {UNREADABLE} with a much longer wording than the other", "Pasta for two"),
    ]
    scored = score_ideas(CoverageScorer(), ideas, IdeaContext("cooking", ("cooking",), 26), NOW)
    assert [idea.title for idea in scored] == ["Pasta for two", "Short idea", ideas[0].title]
    assert [idea.coverage for idea in scored] == [Coverage.IN_DOMAIN, Coverage.IN_DOMAIN, Coverage.OUTSIDE]
    assert scored[2].miles_score is None
    assert scored[2].coverage_reasons == [WHY.message]
    assert scored[0].title_variants[1].coverage is Coverage.OUTSIDE
    assert scored[0].title_variants[1].coverage_reasons == [WHY.message]
    assert scored[0].title_variants[0].coverage_reasons == []
