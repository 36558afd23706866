"""Live accuracy, the scorer's side: keep every score, settle it when its outcome arrives.

Every score the stream scorer writes is kept with the stats it read (their time and views), the
video's age, model version, regime and cohort; a newly seen video also gets a pre-publish score of
its text, category and timing alone, what a creator would have been told before posting. When a
later record of the same video carries stats 18-30 h after a kept score's (the benchmark's
next-day snapshot), that score is settled with the benchmark's label
(:mod:`miles_core.accuracy.outcomes`). The first snapshot inside the window settles it: the stream
cannot wait for a closer one, and a daily scrape brings one snapshot per day anyway.
"""

from __future__ import annotations

from datetime import datetime

from miles_core.accuracy.outcomes import DEFAULT_WINDOW, OutcomeWindow, hours_between, outcome
from miles_core.store import KeptScore, MilesStore, Score, SettledScore, VideoRecord, parse_iso


def kept_score(video: VideoRecord, score: Score) -> KeptScore:
    """What to keep of a score written for ``video`` (``score.stats`` are the stats it read)."""
    stats = score.stats
    observed = stats.get("observed_at")
    views = stats.get("view_count")
    age = stats.get("age_hours")
    return KeptScore(
        video_id=video.video_id,
        model_version=score.model_version,
        regime=score.regime,
        cohort=video.cohort.value if video.cohort else None,
        observed_at=parse_iso(str(observed)) if observed else video.stats.observed_at,
        view_count=None if views is None else int(views),
        age_hours=None if age is None else float(age),
        viral_probability=score.viral_probability,
        predicted_velocity_views_per_hour=score.predicted_velocity_views_per_hour,
        scored_at=score.scored_at,
    )


def settle_open_scores(
    store: MilesStore, video: VideoRecord, now: datetime, window: OutcomeWindow = DEFAULT_WINDOW
) -> int:
    """Settle the video's kept scores whose outcome these stats are; returns how many were settled."""
    stats = video.stats
    if stats.view_count is None:
        return 0
    settled = 0
    for score in store.open_scores(video.video_id):
        if score.view_count is None or not window.contains(hours_between(score.observed_at, stats.observed_at)):
            continue
        label = outcome(score.view_count, score.observed_at, stats.view_count, stats.observed_at)
        settled += store.settle_score(
            SettledScore(
                score=score,
                outcome_observed_at=stats.observed_at,
                outcome_view_count=stats.view_count,
                hours_between=label.hours_between,
                velocity_views_per_hour=label.velocity_views_per_hour,
                log_growth=label.log_growth,
                is_viral=label.is_viral,
                is_viral_rel=label.is_viral_rel,
                settled_at=now,
            )
        )
    return settled


def track_scores(store: MilesStore, video: VideoRecord, scores: list[Score], now: datetime) -> int:
    """Settle what the video's new stats are the outcome of, then keep its new scores; returns how many settled.

    Both steps are idempotent, so the scorer calls this before it writes the score: a failure here
    fails the record, and its retry keeps and settles nothing twice.
    """
    # A video never scored has no kept score to settle: its first record costs no read.
    settled = 0 if video.score is None else settle_open_scores(store, video, now)
    for score in scores:
        store.keep_score(kept_score(video, score))
    return settled
