"""Scrape jobs: one way to submit (record + enqueue), the queue message both ways, missing records."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from miles_core.config import DEFAULT_SCRAPE_MAX_DURATION_SECONDS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.scraping.base import (
    BotCheckError,
    NoVideosError,
    OutOfTimeError,
    QuotaExceededError,
    SearchQuery,
    SearchResult,
    SourceConfigError,
    SourceError,
)
from miles_core.scraping.job_runner import STOP_MARGIN_SECONDS, WRITE_RESERVE_SECONDS, run_job
from miles_core.scraping.jobs import (
    QUEUE_RETENTION,
    SEND_GRACE,
    JobEnqueueError,
    ensure_recorded,
    new_job,
    submit_job,
)
from miles_core.scraping.queue import JobMessage, SqsJobQueue, job_message, parse_job_message
from miles_core.scraping.ytdlp import map_info_dict
from miles_core.store import JobCounts, JobStatus, MilesStore, ScrapeJob, ScrapeJobRequest, StoreError
from miles_core.topics import Topic, normalize_topic
from tests.support.moto_table import NOW, TABLE
from tests.support.template import load_template
from tests.support.youtube import FailingSource, ytdlp_info


def job(job_id: str = "job-1", topic: str = "  Street   Food ") -> ScrapeJob:
    request = ScrapeJobRequest(normalize_topic(topic), max_results=7, max_duration_seconds=None)
    return new_job(request, job_id, trigger="api", now=NOW)


def test_the_reader_reads_what_the_writer_writes() -> None:
    original = job()
    message = parse_job_message(job_message(original))
    assert message == JobMessage(job_id="job-1", request=original.request)
    assert message.request is not None
    assert message.request.topic == "street food"
    assert message.request.max_duration_seconds is None  # "any length" survives the trip


def test_a_hand_written_message_takes_the_defaults() -> None:
    message = parse_job_message(json.dumps({"job_id": "by-hand", "topic": "Cats"}))
    assert message.request == ScrapeJobRequest(
        Topic("cats"), DEFAULT_SCRAPE_MAX_RESULTS, DEFAULT_SCRAPE_MAX_DURATION_SECONDS
    )
    assert parse_job_message('{"job_id": "only-id"}') == JobMessage("only-id", None)


@pytest.mark.parametrize("body", ["[]", '{"topic": "cats"}', '{"job_id": 5}', "not json"])
def test_a_message_without_a_job_id_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="scrape job message"):
        parse_job_message(body)


def test_submit_records_then_enqueues_once(store: MilesStore) -> None:
    sent: list[ScrapeJob] = []
    assert submit_job(store, job(), sent.append) is True
    assert submit_job(store, job(), sent.append) is False  # a retried producer: nothing twice
    assert [j.job_id for j in sent] == ["job-1"]
    recorded = store.get_job("job-1")
    assert recorded is not None
    assert recorded.status is JobStatus.QUEUED


def test_an_enqueue_failure_marks_the_job_failed(store: MilesStore) -> None:
    def refuse(_: ScrapeJob) -> None:
        raise ConnectionError("secret detail that must not be stored")

    with pytest.raises(JobEnqueueError, match="job-1"):
        submit_job(store, job(), refuse)
    recorded = store.get_job("job-1")
    assert recorded is not None
    assert recorded.status is JobStatus.FAILED
    assert recorded.errors == ("could not enqueue: ConnectionError",)


def test_the_sqs_queue_sends_the_message_and_a_missing_url_is_a_failed_job(
    store: MilesStore, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    submit_job(store, job(), SqsJobQueue())
    (received,) = aws["sqs"].receive_message(QueueUrl=aws["queue_url"])["Messages"]
    assert parse_job_message(received["Body"]).job_id == "job-1"
    monkeypatch.delenv("MILES_SCRAPE_QUEUE_URL")
    with pytest.raises(JobEnqueueError):
        submit_job(store, job("job-2"), SqsJobQueue())
    failed = store.get_job("job-2")
    assert failed is not None
    assert failed.errors == ("could not enqueue: ConfigError",)


def test_a_message_whose_record_is_missing_is_recorded_from_its_request(store: MilesStore) -> None:
    assert ensure_recorded(store, parse_job_message(job_message(job("lost")))) == "lost"
    recorded = store.get_job("lost")
    assert recorded is not None
    assert recorded.trigger == "queue"
    assert recorded.request.max_results == 7
    submit_job(store, job("kept"), lambda _: None)
    assert ensure_recorded(store, JobMessage("kept", None)) == "kept"  # the record exists: nothing needed
    with pytest.raises(ValueError, match="no topic"):
        ensure_recorded(store, JobMessage("unknown", None))


def test_schedule_summary_and_retryable_jobs() -> None:
    from miles_core.scraping.job_runner import JobOutcome
    from miles_core.scraping.schedule import retryable_jobs, schedule_summary
    from miles_core.store import JobCounts

    outcomes = [
        JobOutcome("a", JobStatus.SUCCEEDED, JobCounts(found=2, new=2)),
        JobOutcome("b", JobStatus.FAILED, JobCounts(), errors=[f"e{i}" for i in range(9)], retryable=True),
    ]
    summary = schedule_summary(outcomes)
    assert summary["jobs"][0] == {
        "job_id": "a",
        "status": "succeeded",
        "counts": {"found": 2, "new": 2, "updated": 0, "failed": 0},
        "errors": [],
    }
    assert summary["jobs"][1]["errors"] == ["e0", "e1", "e2", "e3", "e4"]  # the first five, for the log line
    assert retryable_jobs(outcomes) == ["b"]


@pytest.mark.parametrize("topic", ["cooking\u200b", "\ufeffcooking", "coo\u200dking"])
def test_a_queued_topic_with_an_invisible_character_is_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="format"):
        parse_job_message(json.dumps({"job_id": "by-hand", "topic": topic}))


def test_a_queued_full_width_topic_is_the_same_topic() -> None:
    message = parse_job_message(json.dumps({"job_id": "by-hand", "topic": "ｃｏｏｋｉｎｇ"}))
    assert message.request is not None
    assert message.request.topic == "cooking"


def test_a_recommendation_and_the_api_share_one_job_for_a_topic(store: MilesStore) -> None:
    from miles_core.recommend.store_adapter import StoreScrapeRequester
    from miles_core.scraping.jobs import submit_deduplicated

    sent: list[ScrapeJob] = []
    requester = StoreScrapeRequester(store, sent.append)
    job_id = requester.request_scrape(normalize_topic("Cooking"))
    assert requester.request_scrape(normalize_topic("ｃｏｏｋｉｎｇ")) == job_id  # a burst of recommendations
    api_job = new_job(ScrapeJobRequest(normalize_topic("cooking")), "api-1", trigger="api", now=NOW)
    serving, created = submit_deduplicated(store, api_job, sent.append)
    assert (serving.job_id, created) == (job_id, False)  # the API gets the recommendation's job back
    assert [job.job_id for job in sent] == [job_id]  # enqueued once


class Clock:
    """The store's clock, moved by hand: leases are read against it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_store(aws: dict[str, Any], clock: Clock) -> MilesStore:
    return MilesStore(aws["dynamodb"], TABLE, clock=clock)


def refuse(_: ScrapeJob) -> None:
    raise ConnectionError("queue down")


def killed(_: ScrapeJob) -> None:
    """The producer dies between recording the job and sending it (its Lambda cut at the timeout)."""
    raise SystemExit("killed")


def test_a_job_never_handed_to_the_queue_reads_failed_after_its_grace(timed_store: MilesStore, clock: Clock) -> None:
    with pytest.raises(SystemExit):
        submit_job(timed_store, job(), killed)
    clock.advance(SEND_GRACE - timedelta(seconds=1))
    waiting = timed_store.get_job("job-1")
    assert waiting is not None
    assert waiting.status is JobStatus.QUEUED  # its producer may still be sending it
    clock.advance(timedelta(seconds=2))
    lost = timed_store.get_job("job-1")
    assert lost is not None
    assert lost.status is JobStatus.FAILED
    assert lost.errors[-1].startswith("never enqueued")


def test_an_enqueued_job_no_worker_took_reads_failed_when_the_queue_drops_its_message(
    timed_store: MilesStore, clock: Clock
) -> None:
    assert submit_job(timed_store, job(), lambda _: None)
    clock.advance(SEND_GRACE * 10)
    still = timed_store.get_job("job-1")
    assert still is not None
    assert still.status is JobStatus.QUEUED  # sent: it waits for a worker, not for its producer
    assert still.enqueued_at is not None
    clock.advance(QUEUE_RETENTION)
    expired = timed_store.get_job("job-1")
    assert expired is not None
    assert expired.status is JobStatus.FAILED
    assert expired.errors[-1].startswith("not started")


@pytest.mark.parametrize("first_try", [killed, "refused", "refused, and the failure not recorded"])
def test_a_retried_producer_sends_a_job_that_never_reached_the_queue(
    timed_store: MilesStore, clock: Clock, monkeypatch: pytest.MonkeyPatch, first_try: Any
) -> None:
    """A retried schedule tick or recommendation (same job id) completes the hand-over instead of skipping."""
    if first_try is killed:
        with pytest.raises(SystemExit):
            submit_job(timed_store, job(), killed)
        clock.advance(SEND_GRACE + timedelta(seconds=1))
    else:
        unrecorded = first_try.endswith("not recorded")
        with monkeypatch.context() as patch:
            if unrecorded:

                def throttled(*_: Any) -> None:
                    raise StoreError("throttled")

                patch.setattr(timed_store, "finish_job", throttled)
            with pytest.raises(JobEnqueueError):  # the producer hears of the enqueue failure, not the store's
                submit_job(timed_store, job(), refuse)
        if unrecorded:
            clock.advance(SEND_GRACE + timedelta(seconds=1))
    before = timed_store.get_job("job-1")
    assert before is not None
    assert before.status is JobStatus.FAILED
    sent: list[ScrapeJob] = []
    assert submit_job(timed_store, job(), sent.append) is True
    assert [j.job_id for j in sent] == ["job-1"]
    after = timed_store.get_job("job-1")
    assert after is not None
    assert after.status is JobStatus.QUEUED
    assert after.enqueued_at is not None
    assert submit_job(timed_store, job(), sent.append) is False  # and only once
    assert len(sent) == 1


def test_a_job_being_sent_or_started_is_not_sent_again(timed_store: MilesStore) -> None:
    with pytest.raises(SystemExit):
        submit_job(timed_store, job(), killed)
    sent: list[ScrapeJob] = []
    assert submit_job(timed_store, job(), sent.append) is False  # within its grace: its producer may send it
    timed_store.start_job("job-1", lease=timedelta(minutes=10))
    assert submit_job(timed_store, job(), sent.append) is False  # a worker has it
    assert sent == []


def test_only_one_of_two_concurrent_retries_claims_an_unsent_job(timed_store: MilesStore, clock: Clock) -> None:
    with pytest.raises(JobEnqueueError):
        submit_job(timed_store, job(), refuse)
    seen = timed_store.get_job("job-1")
    assert seen is not None
    clock.advance(timedelta(seconds=1))
    assert timed_store.requeue_unsent_job("job-1", seen.updated_at, SEND_GRACE) is True
    assert timed_store.requeue_unsent_job("job-1", seen.updated_at, SEND_GRACE) is False


class CutShortSource:
    """A source whose deadline came after two videos: it answers with them, marked cut short."""

    name = "ytdlp"

    def __init__(self, cut: str | None = "ytdlp: search stopped at its deadline") -> None:
        self.queries: list[SearchQuery] = []
        self.cut = cut

    def search(self, query: SearchQuery) -> SearchResult:
        self.queries.append(query)
        videos = [map_info_dict(ytdlp_info(f"vid{n:08d}"), NOW) for n in range(2)]
        return SearchResult(source=self.name, videos=videos, cut_short=self.cut)


def test_a_search_cut_at_its_deadline_keeps_what_it_found_and_ends_partial(store: MilesStore) -> None:
    submit_job(store, job(), lambda _: None)
    source = CutShortSource()
    kept = STOP_MARGIN_SECONDS + WRITE_RESERVE_SECONDS
    before = time.monotonic()
    outcome = run_job(store, [source], "job-1", remaining=lambda: 300.0)
    after = time.monotonic()
    (query,) = source.queries
    assert query.deadline is not None  # the search was told when to stop: time for the writes is kept after it
    assert before + 300.0 - kept <= query.deadline <= after + 300.0 - kept
    assert outcome.status is JobStatus.PARTIAL
    recorded = store.get_job("job-1")
    assert recorded is not None
    assert recorded.status is JobStatus.PARTIAL
    assert recorded.counts.new == 2  # what it found is written
    assert "ytdlp: search stopped at its deadline" in recorded.errors
    assert recorded.failure_reason == (
        "Part of the scrape worked: 2 of 2 videos found were stored. The scrape ran out of time before it "
        "finished: what it stored is kept; start it again for the rest."
    )
    assert store.get_video("vid00000000") is not None


def test_the_lease_of_an_enqueued_job_is_the_job_queues_retention() -> None:
    """SQS deletes a message no worker took after the queue's retention: that is when a queued job has ended."""
    queue = load_template()["Resources"]["ScrapeJobQueue"]["Properties"]
    assert timedelta(seconds=int(queue["MessageRetentionPeriod"])) == QUEUE_RETENTION


def test_a_recommendation_retried_in_the_same_hour_sends_the_job_its_first_try_could_not(store: MilesStore) -> None:
    from miles_core.recommend.store_adapter import StoreScrapeRequester

    with pytest.raises(JobEnqueueError):
        StoreScrapeRequester(store, refuse).request_scrape(normalize_topic("Sourdough Hacks"))
    sent: list[ScrapeJob] = []
    job_id = StoreScrapeRequester(store, sent.append).request_scrape(normalize_topic("sourdough hacks"))
    assert [j.job_id for j in sent] == [job_id]
    recorded = store.get_job(job_id)
    assert recorded is not None
    assert recorded.status is JobStatus.QUEUED


@pytest.mark.parametrize(
    ("errors", "reason"),
    [
        (
            [NoVideosError("catalog", "no stored video is about 'street food'")],
            "No videos were found for \u201cstreet food\u201d",
        ),
        ([OutOfTimeError("ytdlp", "search not started: 3 s left")], "The scrape ran out of time"),
        ([SourceConfigError("youtube_api", "search HTTP 403 keyInvalid")], "Miles' YouTube access is not set up"),
        ([SourceError("youtube_api", "search request failed: ConnectionError")], "YouTube could not be reached"),
        ([RuntimeError("a bug")], "YouTube could not be reached"),
        (
            [QuotaExceededError("youtube_api", "quota"), BotCheckError("ytdlp", "not a bot")],
            "Today's YouTube Data API quota is used up: start the scrape again after 00:00 UTC, when it resets. "
            "YouTube blocked Miles' search",
        ),
    ],
)
def test_a_failed_job_says_why_from_the_errors_its_sources_raised(
    store: MilesStore, errors: list[Exception], reason: str
) -> None:
    submit_job(store, job(), lambda _: None)
    assert run_job(store, [FailingSource(error) for error in errors], "job-1").status is JobStatus.FAILED
    assert reason_of(store, "job-1").startswith(reason)


def reason_of(store: MilesStore, job_id: str) -> str:
    """The job's ``failure_reason``, which must be there."""
    recorded = store.get_job(job_id)
    assert recorded is not None
    assert recorded.failure_reason is not None, recorded
    return recorded.failure_reason


def test_a_job_with_no_source_or_no_time_left_says_so(store: MilesStore) -> None:
    submit_job(store, job("none"), lambda _: None)
    run_job(store, [], "none")
    submit_job(store, job("late"), lambda _: None)
    run_job(store, [FailingSource(AssertionError("never searched"))], "late", remaining=lambda: 5.0)
    assert reason_of(store, "none").startswith("Miles' YouTube access is not set up")
    assert reason_of(store, "late").startswith("The scrape ran out of time")


def test_a_succeeded_or_unfinished_job_has_no_failure_reason(store: MilesStore) -> None:
    submit_job(store, job(), lambda _: None)
    queued = store.get_job("job-1")
    assert queued is not None
    assert queued.failure_reason is None
    answering = CutShortSource(cut=None)
    run_job(store, [FailingSource(SourceError("youtube_api", "HTTP 500")), answering], "job-1")
    done = store.get_job("job-1")
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert done.failure_reason is None  # the first source failed, the second answered: nothing to act on


def test_a_job_failed_by_its_lease_or_its_queue_says_why(timed_store: MilesStore, clock: Clock) -> None:
    submit_job(timed_store, job("running"), lambda _: None)
    timed_store.start_job("running", lease=timedelta(minutes=10))
    with pytest.raises(SystemExit):
        submit_job(timed_store, job("unsent"), killed)
    with pytest.raises(JobEnqueueError):
        submit_job(timed_store, job("refused"), refuse)
    clock.advance(timedelta(minutes=11))
    assert reason_of(timed_store, "running").startswith("The scrape ran out of time")
    assert reason_of(timed_store, "unsent").startswith("The scrape never ran")
    assert reason_of(timed_store, "refused").startswith("The scrape never ran")


def test_a_job_recorded_without_causes_quotes_its_first_error(store: MilesStore) -> None:
    submit_job(store, job(), lambda _: None)
    store.finish_job("job-1", JobStatus.FAILED, JobCounts(), ["ytdlp: something new"], "ytdlp")
    recorded = store.get_job("job-1")
    assert recorded is not None
    assert recorded.failure_reason == "The scrape failed for a reason Miles did not classify: ytdlp: something new"
