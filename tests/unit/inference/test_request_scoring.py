"""``score_requests``: one model call per request batch, answers in order, caveats a person must read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from miles_core.api.schemas.predict import PredictRequest
from miles_core.coverage import Coverage, CoverageReason
from miles_core.inference.predictor import Prediction
from miles_core.inference.request_scoring import score_requests
from miles_core.observation import Observation, Regime

NOW = datetime(2026, 5, 1, 17, 0, tzinfo=UTC)


class RecordingPredictor:
    """Answers each observation with its title length as the probability, and records every call."""

    def __init__(self) -> None:
        self.calls: list[list[Observation]] = []

    def predict(self, observations: Sequence[Observation], explain: bool = False) -> list[Prediction]:
        self.calls.append(list(observations))
        return [
            Prediction(
                viral_probability=len(o.title) / 100,
                is_viral=False,
                threshold=0.5,
                predicted_velocity_views_per_hour=float(o.view_count or 0),
                regime=Regime.POST_PUBLISH if o.view_count is not None else Regime.PRE_PUBLISH,
                model_version="m1",
                coverage=Coverage.OUTSIDE if o.language == "pt-BR" else Coverage.IN_DOMAIN,
                coverage_reasons=(CoverageReason("declared_language", Coverage.OUTSIDE, "Not English."),)
                if o.language == "pt-BR"
                else (),
            )
            for o in observations
        ]


def test_one_model_call_answers_in_request_order() -> None:
    predictor = RecordingPredictor()
    requests = [
        PredictRequest(title="abc"),
        PredictRequest.model_validate({"title": "a" * 40, "published_at": "2026-05-01T14:00:00Z", "view_count": 900}),
    ]
    results = score_requests(predictor, requests, NOW)  # type: ignore[arg-type]
    assert len(predictor.calls) == 1
    assert [r.viral_probability for r in results] == [0.03, 0.4]
    assert [r.regime for r in results] == [Regime.PRE_PUBLISH, Regime.POST_PUBLISH]
    assert results[1].predicted_velocity_views_per_hour == 900.0
    assert predictor.calls[0][1].observed_at == NOW  # "now" stands in for a missing observed_at
    assert all(r.model_version == "m1" and r.threshold == 0.5 for r in results)


def test_each_coverage_reason_is_a_warning_a_person_reads() -> None:
    requests = [PredictRequest(title="x", language="pt-BR"), PredictRequest(title="y", language="en-GB")]
    results = score_requests(RecordingPredictor(), requests, NOW)  # type: ignore[arg-type]
    assert results[0].coverage == "outside"
    assert results[0].warnings == ["Not English."]
    assert [reason.code for reason in results[0].coverage_reasons] == ["declared_language"]
    assert results[1].warnings == []
    assert results[1].coverage_reasons == []
