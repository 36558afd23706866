"""The accuracy report measures only videos newer than the model's training data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from miles_core.accuracy.live_report import accuracy_report, learned_until
from miles_core.store import KeptScore, SettledScore

SETTLED_AT = datetime(2026, 11, 2, tzinfo=UTC)


def _settled(video_id: str, observed_at: datetime, viral: bool, probability: float) -> SettledScore:
    score = KeptScore(
        video_id=video_id,
        model_version="m1",
        regime="post_publish",
        cohort=None,
        observed_at=observed_at,
        view_count=1000,
        age_hours=5.0,
        viral_probability=probability,
        predicted_velocity_views_per_hour=100.0,
        scored_at=observed_at,
    )
    velocity = 30_000.0 if viral else 10.0
    return SettledScore(
        score=score,
        outcome_observed_at=observed_at + timedelta(hours=24),
        outcome_view_count=1000 + int(velocity * 24),
        hours_between=24.0,
        velocity_views_per_hour=velocity,
        log_growth=1.0,
        is_viral=viral,
        is_viral_rel=viral,
        settled_at=SETTLED_AT,
    )


def test_scores_of_the_training_period_are_left_out_and_said_so() -> None:
    until = learned_until("2026-02-26")
    assert until == datetime(2026, 2, 27, tzinfo=UTC)
    old = [
        _settled(f"old{i}", datetime(2026, 2, 26, 23, tzinfo=UTC), i % 2 == 0, 0.9 if i % 2 == 0 else 0.1)
        for i in range(4)
    ]
    new = [_settled(f"new{i}", datetime(2026, 10, 1, tzinfo=UTC), i % 2 == 0, 0.4) for i in range(6)]
    report = accuracy_report(
        old + new,
        window_days=30,
        since=SETTLED_AT - timedelta(days=30),
        current_model_version="m1",
        learned_until=until,
    )
    assert (report.n, report.from_training_period) == (6, 4)
    assert report.groups[0].n == 6
    assert report.groups[0].auroc == 0.5  # the flattering old scores (AUROC 1.0) are not in it
    assert report.note is not None
    assert "4 settled scores" in report.note
    assert "2026-02-27" in report.note

    only_old = accuracy_report(old, window_days=30, since=SETTLED_AT, current_model_version="m1", learned_until=until)
    assert (only_old.n, only_old.groups, only_old.from_training_period) == (0, [], 4)
    assert only_old.note is not None
    assert "No score has met its outcome" in only_old.note


def test_without_a_training_period_everything_counts() -> None:
    scores = [_settled(f"v{i}", datetime(2025, 5, 1, tzinfo=UTC), i % 2 == 0, 0.5) for i in range(4)]
    report = accuracy_report(scores, window_days=30, since=SETTLED_AT, current_model_version="m1")
    assert (report.n, report.from_training_period, report.note) == (4, 0, None)
