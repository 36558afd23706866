"""Scrape jobs: one way to submit (record + enqueue), the queue message both ways, missing records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from miles_core.config import DEFAULT_SCRAPE_MAX_DURATION_SECONDS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.scraping.jobs import JobEnqueueError, ensure_recorded, new_job, submit_job
from miles_core.scraping.queue import JobMessage, SqsJobQueue, job_message, parse_job_message
from miles_core.store import JobStatus, MilesStore, ScrapeJob, ScrapeJobRequest
from miles_core.topics import normalize_topic
from tests.scrape.conftest import NOW


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
    assert message.request == ScrapeJobRequest("cats", DEFAULT_SCRAPE_MAX_RESULTS, DEFAULT_SCRAPE_MAX_DURATION_SECONDS)
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
    from miles_core.scraping.service import JobOutcome, retryable_jobs, schedule_summary
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
