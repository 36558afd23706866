"""End to end in-process with moto: schedule / API job -> SQS -> worker -> store -> stream -> scorer -> /candidates.

Events are shaped like Lambda's (the ``events/`` files, real SQS messages, real DynamoDB stream
records read back from moto's dynamodbstreams API) and go through the real handlers.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from infra.localstack.workers import QueueConsumer, StreamPoller, worker_context
from miles_core.relevance import is_relevant, pack_embedding, relevance
from miles_core.scraping import runtime
from miles_core.scraping.base import SourceError
from miles_core.scraping.youtube_api import YouTubeDataApiSource
from miles_core.store import JobStatus, MilesStore, ScoreWriteOutcome, deserialize_item, is_video_item, keys, shared
from miles_core.topics import normalize_topic
from tests.support.events import load_event, schedule_event
from tests.support.moto_table import NOW, TABLE
from tests.support.throttle import Throttle
from tests.support.youtube import FailingSource, RecordedYouTubeApi, ytdlp_source


def all_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        page = aws["dynamodb"].scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def kinds(aws: dict[str, Any]) -> Counter[str]:
    return Counter(item["kind"]["S"] for item in all_items(aws))


def snapshots_per_video(aws: dict[str, Any]) -> Counter[str]:
    return Counter(i["video_id"]["S"] for i in all_items(aws) if i["kind"]["S"] == "snapshot")


def api_source(youtube_api: RecordedYouTubeApi) -> YouTubeDataApiSource:
    return YouTubeDataApiSource("k", base_url=youtube_api.base_url)


@pytest.fixture
def handlers(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tiny_artifact: Path) -> dict[str, Any]:
    monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))
    monkeypatch.setenv("MILES_NICHES", "Cooking Hacks, music")
    monkeypatch.setenv("MILES_SCRAPE_MAX_RESULTS", "5")
    from functions.predict import scorer
    from functions.scrape import app, worker

    scorer._state.clear()
    shared.use(MilesStore(aws["dynamodb"], TABLE))
    return {"app": app, "worker": worker, "scorer": scorer}


def invoke(handler: Any, event: dict[str, Any]) -> Any:
    return handler(event, worker_context("test"))  # the worker's timeout; API handlers ignore it


def drain_queue(aws: dict[str, Any], worker: Any) -> int:
    consumer = QueueConsumer(aws["sqs"], aws["queue_url"], lambda e, c: invoke(worker.handler, e), "us-east-1")
    return consumer.poll_once()


def run_schedule(handlers: dict[str, Any], aws: dict[str, Any], event: dict[str, Any]) -> int:
    """A schedule tick as AWS runs it: the fan-out invocation, then the queue consumer runs each job."""
    invoke(handlers["worker"].handler, event)
    return drain_queue(aws, handlers["worker"])


def streams_client() -> Any:
    # botocore >= 1.38 sends stream calls to <account>.streams-ddb.<region>.amazonaws.com, a host
    # moto's in-process router does not know; the classic endpoint is equivalent.
    return boto3.client("dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled"))


def stream_poller(aws: dict[str, Any], scorer: Any) -> StreamPoller:
    streams = streams_client()
    arn = aws["dynamodb"].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    return StreamPoller(streams, arn, lambda e, c: invoke(scorer.handler, e), "us-east-1")


def api_call(app: Any, name: str, **changes: Any) -> tuple[int, dict[str, Any]]:
    event = load_event(name)
    event.update(changes)
    response = invoke(app.handler, event)
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body)


def job_view(app: Any, job_id: str) -> dict[str, Any]:
    """``GET /scrape/jobs/{job_id}`` through the handler, as a client reads it."""
    status, body = api_call(
        app, "scrape_job_status.json", pathParameters={"job_id": job_id}, path=f"/scrape/jobs/{job_id}"
    )
    assert status == 200, body
    return body


def test_scheduled_runs_add_snapshots_without_duplicating_videos(
    handlers: dict[str, Any], aws: dict[str, Any], youtube_api: RecordedYouTubeApi
) -> None:
    runtime.set_sources([api_source(youtube_api)])
    result = invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))
    # The schedule only fans out: two queued jobs per niche (top, fresh), run by the queue's consumer.
    assert [job["status"] for job in result["jobs"]] == ["queued"] * 4
    assert [job["job_id"].endswith("-fresh") for job in result["jobs"]] == [False, True, False, True]
    assert drain_queue(aws, handlers["worker"]) == 4
    store = shared.store()
    jobs = [store.get_job(job["job_id"]) for job in result["jobs"]]
    assert [job.status.value if job else None for job in jobs] == ["succeeded"] * 4
    assert jobs[0] is not None
    assert jobs[0].counts.as_dict() == {"found": 5, "new": 5, "updated": 0, "failed": 0}
    assert jobs[1] is not None
    assert jobs[1].counts.found == 0  # the recording has no fresh uploads
    # Both niches found the same 5 videos in one tick: 5 videos, one snapshot each, 2 leaderboards.
    assert kinds(aws) == Counter({"video": 5, "snapshot": 5, "topic_member": 10, "scrape_job": 4})
    expected = {item_id for item_id in youtube_api.order[:6] if item_id != youtube_api.order[1]}
    assert set(snapshots_per_video(aws)) == expected
    record = store.get_video(youtube_api.order[0])
    assert record is not None
    assert record.topics == ("cooking hacks", "music")
    assert record.observation.view_count == int(youtube_api.items[record.video_id]["statistics"]["viewCount"])

    again = invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))  # a retried tick: no-op
    assert [job["job_id"] for job in again["jobs"]] == [job["job_id"] for job in result["jobs"]]
    assert "already recorded" in again["jobs"][0]["errors"][0]
    assert drain_queue(aws, handlers["worker"]) == 0  # nothing enqueued twice
    assert kinds(aws)["snapshot"] == 5

    later = schedule_event((NOW + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    later_jobs = invoke(handlers["worker"].handler, later)["jobs"]
    assert drain_queue(aws, handlers["worker"]) == 4
    assert [store.get_job(j["job_id"]).counts.updated for j in later_jobs] == [5, 0, 5, 0]  # type: ignore[union-attr]
    assert kinds(aws)["video"] == 5
    assert kinds(aws)["scrape_job"] == 8
    assert set(snapshots_per_video(aws).values()) == {2}

    status, job = api_call(handlers["app"], "scrape_job_status.json")
    assert status == 200
    assert job["status"] == "succeeded"
    assert job["trigger"] == "schedule"
    assert job["counts"] == {"found": 5, "new": 5, "updated": 0, "failed": 0}


def test_on_demand_job_through_api_queue_and_worker(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    runtime.set_sources([ytdlp_source("cooking hacks", 4)])
    status, accepted = api_call(handlers["app"], "scrape_job_request.json")
    assert status == 202
    assert accepted["status"] == "queued"
    job_id = accepted["job_id"]
    status, queued = api_call(
        handlers["app"], "scrape_job_status.json", pathParameters={"job_id": job_id}, path=f"/scrape/jobs/{job_id}"
    )
    assert status == 200
    assert queued["status"] == "queued"
    assert queued["topic"] == "cooking hacks"
    assert queued["failure_reason"] is None
    assert drain_queue(aws, handlers["worker"]) == 1
    status, done = api_call(
        handlers["app"], "scrape_job_status.json", pathParameters={"job_id": job_id}, path=f"/scrape/jobs/{job_id}"
    )
    assert done["status"] == "succeeded"
    assert done["source"] == "ytdlp"
    assert done["attempts"] == 1
    assert done["counts"] == {"found": 4, "new": 4, "updated": 0, "failed": 0}
    assert done["failure_reason"] is None
    assert kinds(aws)["video"] == 4
    assert kinds(aws)["snapshot"] == 4


def test_an_unavailable_queue_is_503_and_the_job_is_recorded_failed(
    handlers: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MILES_SCRAPE_QUEUE_URL")
    status, body = api_call(handlers["app"], "scrape_job_request.json")
    assert status == 503, body
    (job,) = [item for item in all_items(aws) if item["kind"]["S"] == "scrape_job"]
    assert job["status"]["S"] == "failed"
    assert job["errors"]["L"] == [{"S": "could not enqueue: ConfigError"}]


def test_unknown_job_and_bad_input(handlers: dict[str, Any]) -> None:
    status, body = api_call(
        handlers["app"], "scrape_job_status.json", pathParameters={"job_id": "nope"}, path="/scrape/jobs/nope"
    )
    assert status == 404
    assert "nope" in body["message"]
    event = load_event("scrape_job_request.json")
    event["body"] = json.dumps({"topic": "", "max_results": 500})
    event["isBase64Encoded"] = False
    response = invoke(handlers["app"].handler, event)
    assert response["statusCode"] == 422
    status, body = api_call(
        handlers["app"],
        "candidates.json",
        queryStringParameters={"topic": "x", "cursor": "zz"},
        multiValueQueryStringParameters={"topic": ["x"], "cursor": ["zz"]},
    )
    assert status == 400
    assert "cursor" in body["message"]


def test_stream_scorer_scores_each_new_or_changed_video_once(
    handlers: dict[str, Any], aws: dict[str, Any], youtube_api: RecordedYouTubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.set_sources([api_source(youtube_api)])
    run_schedule(handlers, aws, load_event("scrape_schedule.json"))
    writes: list[tuple[str, ScoreWriteOutcome]] = []
    original = MilesStore.write_score

    def spy(self: MilesStore, video: Any, score: Any, relevance: Any = None) -> ScoreWriteOutcome:
        outcome = original(self, video, score, relevance)
        writes.append((video.video_id, outcome))
        return outcome

    monkeypatch.setattr(MilesStore, "write_score", spy)
    poller = stream_poller(aws, handlers["scorer"])
    poller.poll_once()
    assert sorted(v for v, o in writes if o is ScoreWriteOutcome.WRITTEN) == sorted(snapshots_per_video(aws))
    assert len(writes) == 5  # a video inserted then modified in one batch is scored once, from its newest image
    poller.poll_once()  # the stream now holds the scorer's own writes: nothing to do
    assert len(writes) == 5

    record = shared.store().get_video(youtube_api.order[0])
    assert record is not None
    assert record.score is not None
    assert record.score_is_current
    assert record.score.model_version == "tiny-test"
    assert record.score.stats["view_count"] == record.observation.view_count
    # The model's embedding of the video's text is stored with the score (relevance never re-encodes it),
    # on the video item and on its leaderboard rows.
    embedding = handlers["scorer"].predictor().text_features([record.observation])[0].embedding
    assert record.score.text_embedding == pack_embedding(embedding)
    rows = shared.store().list_candidates(record.topics[0], limit=10).items
    assert {row.video_id: row.score.text_embedding for row in rows if row.score}[record.video_id] == pack_embedding(
        embedding
    )

    # New stats for the videos (a later tick) -> each is re-scored exactly once more, and their text,
    # unchanged, does not go through the encoder again (encode once).
    encoded = handlers["scorer"].predictor().texts.stats.encoded
    later = schedule_event((NOW + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    run_schedule(handlers, aws, later)
    poller.poll_once()
    poller.poll_once()
    assert Counter(v for v, o in writes if o is ScoreWriteOutcome.WRITTEN) == Counter(
        {v: 2 for v in snapshots_per_video(aws)}
    )
    assert handlers["scorer"].predictor().texts.stats.encoded == encoded

    # Each row carries the video's relevance to the row's topic, measured with the score by the one measure;
    # /candidates lists the rows at or above the threshold (tests/e2e/test_relevance.py: on the shipped encoder).
    topic = normalize_topic("cooking hacks")
    board = shared.store().list_candidates(topic, limit=10).items
    assert len(board) == 5
    vector = handlers["scorer"].predictor().topic_embedding(topic)
    for row in board:
        assert row.score is not None
        assert row.relevance == relevance(vector, [row.score.text_embedding])[0]
    status, body = api_call(handlers["app"], "candidates.json")
    assert status == 200
    about = [row.video_id for row in board if is_relevant(row.relevance)]
    assert [item["video_id"] for item in body["items"]] == about
    probabilities = [item["viral_probability"] for item in body["items"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(item["scored"] and item["score_is_current"] and item["thumbnail_url"] for item in body["items"])


def test_failed_prediction_leaves_video_unscored_and_reports_the_record(
    handlers: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.set_sources([ytdlp_source("cooking hacks", 2)])
    invoke(handlers["worker"].handler, load_event("scrape_job_sqs.json"))
    predictor = handlers["scorer"].predictor()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("onnxruntime exploded")

    monkeypatch.setattr(predictor, "predict", broken)
    streams = streams_client()
    arn = aws["dynamodb"].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    responses: list[Any] = []

    def scorer(event: dict[str, Any], context: Any) -> Any:
        responses.append(invoke(handlers["scorer"].handler, event))
        return responses[-1]

    StreamPoller(streams, arn, scorer, "us-east-1").poll_once()
    assert len(responses[0]["batchItemFailures"]) == 2  # one per video: reported for retry / DLQ
    status, body = api_call(
        handlers["app"],
        "candidates.json",
        queryStringParameters={"topic": "cooking hacks"},
        multiValueQueryStringParameters={"topic": ["cooking hacks"]},
    )
    assert status == 200
    assert body["items"] == []  # unscored: their relevance is not measured yet, so none is listed as about the topic
    board = shared.store().list_candidates(normalize_topic("cooking hacks"), limit=10).items
    assert len(board) == 2
    assert all(row.score is None and row.relevance is None for row in board)  # on the board, visibly unscored


def test_throttling_and_source_errors_lose_nothing_and_are_reported(
    handlers: dict[str, Any], aws: dict[str, Any]
) -> None:
    # The first source fails (reported), the second answers; one video's writes are throttled throughout.
    source_error = SourceError("youtube_api", "search HTTP 500 backendError")
    runtime.set_sources([FailingSource(source_error), ytdlp_source("cooking hacks", 3)])
    victim = "cook0000001"

    throttle = Throttle(aws["dynamodb"], "UpdateItem", failures=10**6, key=lambda key: key == keys.video_key(victim))
    event = load_event("scrape_job_sqs.json")
    result = invoke(handlers["worker"].handler, event)
    message_id = event["Records"][0]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": message_id}]}  # SQS will redeliver it
    job_id = json.loads(event["Records"][0]["body"])["job_id"]
    job = shared.store().get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.PARTIAL
    assert job.counts.as_dict() == {"found": 3, "new": 2, "updated": 0, "failed": 1}
    assert any("backendError" in e for e in job.errors)
    assert any(victim in e and "throttled" in e for e in job.errors)
    assert job_view(handlers["app"], job_id)["failure_reason"] == (
        "Part of the scrape worked: 2 of 3 videos found were stored. "
        "1 of 3 videos found could not be read or saved: start the scrape again to retry them."
    )  # the first source's error is not a reason: the second source answered
    assert throttle.throttled == 3  # botocore's 3 tries, then the job records the throttled video
    assert set(snapshots_per_video(aws)) == {"cook0000000", "cook0000002"}

    throttle.failures = 0  # DynamoDB recovered: the redelivered message completes the job
    assert invoke(handlers["worker"].handler, event) == {"batchItemFailures": []}
    job = shared.store().get_job(job_id)
    assert job is not None
    assert job.attempts == 2
    assert job.counts.as_dict() == {"found": 3, "new": 3, "updated": 0, "failed": 0}
    assert job_view(handlers["app"], job_id)["failure_reason"] is None  # the retry's outcome replaces the reason
    assert snapshots_per_video(aws) == Counter({"cook0000000": 1, "cook0000001": 1, "cook0000002": 1})


def test_a_source_failing_alone_fails_the_job_visibly(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    from miles_core.scraping.base import BotCheckError

    runtime.set_sources([FailingSource(BotCheckError("ytdlp", "Sign in to confirm you're not a bot"))])
    event = load_event("scrape_job_sqs.json")
    assert invoke(handlers["worker"].handler, event) == {"batchItemFailures": []}  # retrying cannot help
    job = shared.store().get_job(json.loads(event["Records"][0]["body"])["job_id"])
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert "not a bot" in job.errors[0]
    assert job_view(handlers["app"], job.job_id)["failure_reason"].startswith("YouTube blocked Miles' search")
    assert kinds(aws)["video"] == 0


def test_schedule_event_fails_when_a_niche_cannot_be_enqueued_and_its_retry_sends_it(
    handlers: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_url = aws["queue_url"]
    monkeypatch.delenv("MILES_SCRAPE_QUEUE_URL")
    runtime._cache.pop("job_queue", None)
    from miles_core.scraping.job_runner import JobRetryableError

    with pytest.raises(JobRetryableError, match="could not be enqueued"):
        invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))  # -> the on-failure queue
    jobs = [item for item in all_items(aws) if item["kind"]["S"] == "scrape_job"]
    assert [job["status"]["S"] for job in jobs] == ["failed"] * 4  # both niches' two jobs recorded, visibly failed
    # The invocation is retried (Lambda's async retry) once the queue is back: the same tick's jobs are sent.
    monkeypatch.setenv("MILES_SCRAPE_QUEUE_URL", queue_url)
    runtime._cache.pop("job_queue", None)
    summary = invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))
    assert [job["status"] for job in summary["jobs"]] == ["queued"] * 4
    messages = aws["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(json.loads(m["Body"])["job_id"] for m in messages) == sorted(j["job_id"]["S"] for j in jobs)


def test_score_stream_event_file_runs_through_the_scorer(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    event = load_event("score_stream.json")
    video_records = [r for r in event["Records"] if is_video_item(deserialize_item(r["dynamodb"]["Keys"]))]
    for record in video_records:  # the items the stream records describe exist in the table
        aws["dynamodb"].put_item(TableName=TABLE, Item=record["dynamodb"]["NewImage"])
    assert invoke(handlers["scorer"].handler, event) == {"batchItemFailures": []}
    store = shared.store()
    for record in video_records:
        video = store.get_video(record["dynamodb"]["NewImage"]["video_id"]["S"])
        assert video is not None
        assert video.score is not None
        assert video.score_is_current


class ShrinkingContext:
    """A worker context whose remaining time drops by ``step_ms`` each time it is read (a slow job)."""

    def __init__(self, start_ms: int, step_ms: int) -> None:
        self._inner = worker_context("scrape-worker")
        self.remaining_ms = start_ms
        self.step_ms = step_ms

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_remaining_time_in_millis(self) -> int:
        self.remaining_ms -= self.step_ms
        return max(self.remaining_ms, 0)


def test_a_worker_running_out_of_time_stops_cleanly_and_records_what_it_finished(
    handlers: dict[str, Any], aws: dict[str, Any]
) -> None:
    runtime.set_sources([ytdlp_source("cooking hacks", 10)])
    event = load_event("scrape_job_sqs.json")
    context = ShrinkingContext(start_ms=155_000, step_ms=10_000)
    assert handlers["worker"].handler(event, context) == {"batchItemFailures": []}  # nothing a retry would fix
    job = shared.store().get_job(json.loads(event["Records"][0]["body"])["job_id"])
    assert job is not None
    assert job.status is JobStatus.PARTIAL  # never left "running"
    assert 0 < job.counts.new < 10
    assert any(e.startswith("stopped before the worker's timeout") for e in job.errors)
    reason = job_view(handlers["app"], job.job_id)["failure_reason"]
    assert reason.startswith(f"Part of the scrape worked: {job.counts.new} of 10 videos found were stored. ")
    assert "ran out of time" in reason
    assert kinds(aws)["video"] == job.counts.new
    assert job.lease_expires_at is not None


def test_a_dead_lettered_message_fails_its_job(
    handlers: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq_arn = "arn:aws:sqs:us-east-1:123456789012:miles-scrape-jobs-dlq"
    monkeypatch.setenv("MILES_SCRAPE_DLQ_ARN", dlq_arn)
    status, accepted = api_call(handlers["app"], "scrape_job_request.json")
    assert status == 202
    event = load_event("scrape_job_sqs.json")
    event["Records"][0]["eventSourceARN"] = dlq_arn
    event["Records"][0]["body"] = json.dumps({"job_id": accepted["job_id"], "topic": "cooking hacks"})
    assert invoke(handlers["worker"].handler, event) == {"batchItemFailures": []}
    job = shared.store().get_job(accepted["job_id"])
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert "dead-letter queue" in job.errors[-1]
    assert job_view(handlers["app"], job.job_id)["failure_reason"].startswith("The scrape never ran")
    assert kinds(aws)["video"] == 0  # the DLQ consumer never runs the job


def test_identical_scrape_requests_share_one_job(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    first_status, first = api_call(handlers["app"], "scrape_job_request.json")
    second_status, second = api_call(handlers["app"], "scrape_job_request.json")
    assert (first_status, second_status) == (202, 202)
    assert second["job_id"] == first["job_id"]  # same job, documented: 202 with the existing id and status
    sqs = aws["sqs"]
    messages = sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1  # enqueued once
    other = load_event("scrape_job_request.json")
    other["body"] = json.dumps({"topic": "cooking hacks", "max_results": 7})
    other["isBase64Encoded"] = False
    response = invoke(handlers["app"].handler, other)
    assert response["statusCode"] == 202
    assert json.loads(response["body"])["job_id"] != first["job_id"]  # other limits: another job


def test_the_daily_youtube_quota_fails_jobs_and_the_api_answers_429(
    handlers: dict[str, Any], aws: dict[str, Any], youtube_api: RecordedYouTubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from miles_core.scraping.quota import SERVICE, DailyQuota, utc_day

    store = shared.store()
    quota = DailyQuota(store, daily_budget=10_000)
    runtime.set_sources([YouTubeDataApiSource("k", base_url=youtube_api.base_url, spend=quota.spend)])
    status, accepted = api_call(handlers["app"], "scrape_job_request.json")
    assert status == 202
    assert drain_queue(aws, handlers["worker"]) == 1
    first = store.get_job(accepted["job_id"])
    assert first is not None
    assert first.status is JobStatus.SUCCEEDED
    spent = store.quota_spent(SERVICE, utc_day(datetime.now(UTC)))  # counted in the table, per UTC day
    searches = sum(path.endswith("/search") for path, _, _ in youtube_api.requests)
    assert len(youtube_api.requests) == searches + 2  # then one videos.list and one channels.list
    assert spent == searches * 100 + 2  # search.list pages at 100 units, videos.list and channels.list at 1
    quota.daily_budget = spent + 50  # less than another search.list page is left today
    monkeypatch.setenv("MILES_YOUTUBE_DAILY_QUOTA", str(spent + 50))
    event = load_event("scrape_job_sqs.json")  # another topic: its search does not fit in today's budget
    invoke(handlers["worker"].handler, event)
    job = store.get_job(json.loads(event["Records"][0]["body"])["job_id"])
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert "daily YouTube Data API quota spent" in job.errors[0]
    assert job_view(handlers["app"], job.job_id)["failure_reason"].startswith(
        "Today's YouTube Data API quota is used up"
    )
    status, body = api_call(
        handlers["app"], "scrape_job_request.json", body=json.dumps({"topic": "music"}), isBase64Encoded=False
    )
    assert status == 429, body
    assert "quota" in body["message"]


def test_exhausted_throttling_is_a_visible_503(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    throttle = Throttle(aws["dynamodb"], "Query", failures=10**6)
    status, body = api_call(handlers["app"], "candidates.json")
    assert status == 503, body
    assert "throttling" in body["message"]
    assert throttle.throttled == 3  # botocore's tries, one layer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "x", "max_results": "5"}, "max_results"),
        ({"topic": "x", "max_results": True}, "max_results"),
        ({"topic": "x", "max_results": 5.0}, "max_results"),
        ({"topic": "x", "max_duration_seconds": "60"}, "max_duration_seconds"),
        ({"topic": "x\u202e\u0000evil"}, "topic"),
        ({"topic": "cooking\u200b"}, "topic"),
        ({"topic": "\ufeffcooking"}, "topic"),
        ({"topic": "   "}, "topic"),
    ],
)
def test_job_requests_are_strict(handlers: dict[str, Any], body: dict[str, Any], field: str) -> None:
    event = load_event("scrape_job_request.json")
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    response = invoke(handlers["app"].handler, event)
    assert response["statusCode"] == 422
    assert field in [error["field"] for error in json.loads(response["body"])["errors"]]


def test_the_job_topic_is_stored_and_echoed_canonical(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    event = load_event("scrape_job_request.json")
    event["body"] = json.dumps({"topic": "  Street   FOOD "})
    event["isBase64Encoded"] = False
    response = invoke(handlers["app"].handler, event)
    assert response["statusCode"] == 202, response["body"]
    assert json.loads(response["body"])["topic"] == "street food"
    event["body"] = json.dumps({"topic": "ＳＴＲＥＥＴ　ｆｏｏｄ"})
    again = invoke(handlers["app"].handler, event)
    assert again["statusCode"] == 202, again["body"]
    assert json.loads(again["body"])["job_id"] == json.loads(response["body"])["job_id"]  # one topic, one job
