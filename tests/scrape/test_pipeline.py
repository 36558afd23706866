"""End to end in-process with moto: schedule / API job -> SQS -> worker -> store -> stream -> scorer -> /candidates.

Events are shaped like Lambda's (the ``events/`` files, real SQS messages, real DynamoDB stream
records read back from moto's dynamodbstreams API) and go through the real handlers.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from infra.localstack.workers import QueueConsumer, StreamPoller
from miles_core.scraping import runtime
from miles_core.scraping.base import SearchQuery, SearchResult, SourceError
from miles_core.scraping.youtube_api import YouTubeDataApiSource
from miles_core.scraping.ytdlp import YtDlpSource
from miles_core.store import JobStatus, MilesStore, ScoreWriteOutcome, deserialize_item, is_video_item, keys
from tests.scrape.conftest import NOW, TABLE, FakeYoutubeDL, RecordedYouTubeApi, ytdlp_info, ytdlp_search_result
from tests.scrape.test_store import ThrottlingClient
from tests.support.events import lambda_context, load_event, schedule_event


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


def ytdlp_source(topic: str, count: int) -> YtDlpSource:
    infos = [ytdlp_info(f"{topic[:4]}{n:07d}") for n in range(count)]
    responses: dict[str, Any] = {topic: ytdlp_search_result(topic, infos)}
    responses.update({f"https://www.youtube.com/watch?v={i['id']}": i for i in infos})
    return YtDlpSource(ydl_factory=lambda o: FakeYoutubeDL(responses, o, []), sleep=lambda _: None)


class FailingSource:
    name = "youtube_api"

    def __init__(self, error: SourceError) -> None:
        self.error = error

    def search(self, query: SearchQuery) -> SearchResult:
        raise self.error


@pytest.fixture
def handlers(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tiny_artifact: Path) -> dict[str, Any]:
    monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))
    monkeypatch.setenv("MILES_NICHES", "Cooking Hacks, music")
    monkeypatch.setenv("MILES_SCRAPE_MAX_RESULTS", "5")
    from functions.predict import scorer
    from functions.scrape import app, worker

    scorer._state.clear()
    runtime._cache["store"] = MilesStore(aws["dynamodb"], TABLE, sleep=lambda _: None)
    return {"app": app, "worker": worker, "scorer": scorer}


def invoke(handler: Any, event: dict[str, Any]) -> Any:
    return handler(event, lambda_context("test"))


def drain_queue(aws: dict[str, Any], worker: Any) -> int:
    consumer = QueueConsumer(aws["sqs"], aws["queue_url"], lambda e, c: invoke(worker.handler, e), "us-east-1")
    return consumer.poll_once()


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


def test_scheduled_runs_add_snapshots_without_duplicating_videos(
    handlers: dict[str, Any], aws: dict[str, Any], youtube_api: RecordedYouTubeApi
) -> None:
    runtime.set_sources([api_source(youtube_api)])
    result = invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))
    assert [job["status"] for job in result["jobs"]] == ["succeeded", "succeeded"]
    assert result["jobs"][0]["counts"] == {"found": 5, "new": 5, "updated": 0, "failed": 0}
    # Both niches found the same 5 videos in one tick: 5 videos, one snapshot each, 2 leaderboards.
    assert kinds(aws) == Counter({"video": 5, "snapshot": 5, "topic_member": 10, "scrape_job": 2})
    expected = {item_id for item_id in youtube_api.order[:6] if item_id != youtube_api.order[1]}
    assert set(snapshots_per_video(aws)) == expected
    store = runtime.store()
    record = store.get_video(youtube_api.order[0])
    assert record is not None
    assert record.topics == ("cooking hacks", "music")
    assert record.observation.view_count == int(youtube_api.items[record.video_id]["statistics"]["viewCount"])

    again = invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))  # a retried tick: no-op
    assert again["jobs"][0]["counts"]["found"] == 5
    assert kinds(aws)["snapshot"] == 5

    later = schedule_event((NOW + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [j["counts"]["updated"] for j in invoke(handlers["worker"].handler, later)["jobs"]] == [5, 5]
    assert kinds(aws)["video"] == 5
    assert kinds(aws)["scrape_job"] == 4
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
    assert drain_queue(aws, handlers["worker"]) == 1
    status, done = api_call(
        handlers["app"], "scrape_job_status.json", pathParameters={"job_id": job_id}, path=f"/scrape/jobs/{job_id}"
    )
    assert done["status"] == "succeeded"
    assert done["source"] == "ytdlp"
    assert done["attempts"] == 1
    assert done["counts"] == {"found": 4, "new": 4, "updated": 0, "failed": 0}
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
    invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))
    writes: list[tuple[str, ScoreWriteOutcome]] = []
    original = MilesStore.write_score

    def spy(self: MilesStore, video: Any, score: Any) -> ScoreWriteOutcome:
        outcome = original(self, video, score)
        writes.append((video.video_id, outcome))
        return outcome

    monkeypatch.setattr(MilesStore, "write_score", spy)
    poller = stream_poller(aws, handlers["scorer"])
    poller.poll_once()
    assert sorted(v for v, o in writes if o is ScoreWriteOutcome.WRITTEN) == sorted(snapshots_per_video(aws))
    assert len(writes) == 5  # a video inserted then modified in one batch is scored once, from its newest image
    poller.poll_once()  # the stream now holds the scorer's own writes: nothing to do
    assert len(writes) == 5

    store = runtime.store()
    record = store.get_video(youtube_api.order[0])
    assert record is not None
    assert record.score is not None
    assert record.score_is_current
    assert record.score.model_version == "tiny-test"
    assert record.score.stats["view_count"] == record.observation.view_count

    # New stats for the videos (a later tick) -> each is re-scored exactly once more.
    later = schedule_event((NOW + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    invoke(handlers["worker"].handler, later)
    poller.poll_once()
    poller.poll_once()
    assert Counter(v for v, o in writes if o is ScoreWriteOutcome.WRITTEN) == Counter(
        {v: 2 for v in snapshots_per_video(aws)}
    )

    status, body = api_call(handlers["app"], "candidates.json")
    assert status == 200
    probabilities = [item["viral_probability"] for item in body["items"]]
    assert len(probabilities) == 5
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
    assert len(body["items"]) == 2
    assert all(item["viral_probability"] is None and not item["scored"] for item in body["items"])
    assert len(body["items"]) == len({i["video_id"] for i in body["items"]})


def test_throttling_and_source_errors_lose_nothing_and_are_reported(
    handlers: dict[str, Any], aws: dict[str, Any]
) -> None:
    # The first source fails (reported), the second answers; one video's writes are throttled throughout.
    source_error = SourceError("youtube_api", "search HTTP 500 backendError")
    runtime.set_sources([FailingSource(source_error), ytdlp_source("cooking hacks", 3)])
    victim = "cook0000001"

    class VideoThrottle(ThrottlingClient):
        def __getattr__(self, name: str) -> Any:
            method = getattr(self._client, name)
            if name != "update_item":
                return method

            def call(**kwargs: Any) -> Any:
                if self.failures and deserialize_item(kwargs["Key"]) == keys.video_key(victim):
                    self.throttled += 1
                    from botocore.exceptions import ClientError

                    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, name)
                return method(**kwargs)

            return call

    throttle = VideoThrottle(aws["dynamodb"], "update_item", failures=1)
    runtime._cache["store"] = MilesStore(throttle, TABLE, sleep=lambda _: None, max_attempts=3)
    event = load_event("scrape_job_sqs.json")
    result = invoke(handlers["worker"].handler, event)
    message_id = event["Records"][0]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": message_id}]}  # SQS will redeliver it
    job_id = json.loads(event["Records"][0]["body"])["job_id"]
    job = runtime.store().get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.PARTIAL
    assert job.counts.as_dict() == {"found": 3, "new": 2, "updated": 0, "failed": 1}
    assert any("backendError" in e for e in job.errors)
    assert any(victim in e and "throttled" in e for e in job.errors)
    assert throttle.throttled == 3
    assert set(snapshots_per_video(aws)) == {"cook0000000", "cook0000002"}

    throttle.failures = 0  # DynamoDB recovered: the redelivered message completes the job
    assert invoke(handlers["worker"].handler, event) == {"batchItemFailures": []}
    job = runtime.store().get_job(job_id)
    assert job is not None
    assert job.attempts == 2
    assert job.counts.as_dict() == {"found": 3, "new": 3, "updated": 0, "failed": 0}
    assert snapshots_per_video(aws) == Counter({"cook0000000": 1, "cook0000001": 1, "cook0000002": 1})


def test_a_source_failing_alone_fails_the_job_visibly(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    from miles_core.scraping.base import BotCheckError

    runtime.set_sources([FailingSource(BotCheckError("ytdlp", "Sign in to confirm you're not a bot"))])
    event = load_event("scrape_job_sqs.json")
    assert invoke(handlers["worker"].handler, event) == {"batchItemFailures": []}  # retrying cannot help
    job = runtime.store().get_job(json.loads(event["Records"][0]["body"])["job_id"])
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert "not a bot" in job.errors[0]
    assert kinds(aws)["video"] == 0


def test_schedule_event_fails_for_retry_when_a_niche_is_retryable(
    handlers: dict[str, Any], aws: dict[str, Any]
) -> None:
    runtime.set_sources([FailingSource(SourceError("youtube_api", "timeout"))])
    from miles_core.scraping.service import JobRetryableError

    with pytest.raises(JobRetryableError):
        invoke(handlers["worker"].handler, load_event("scrape_schedule.json"))
    assert kinds(aws)["scrape_job"] == 2  # both niches ran and are reported


def test_score_stream_event_file_runs_through_the_scorer(handlers: dict[str, Any], aws: dict[str, Any]) -> None:
    event = load_event("score_stream.json")
    video_records = [r for r in event["Records"] if is_video_item(deserialize_item(r["dynamodb"]["Keys"]))]
    for record in video_records:  # the items the stream records describe exist in the table
        aws["dynamodb"].put_item(TableName=TABLE, Item=record["dynamodb"]["NewImage"])
    assert invoke(handlers["scorer"].handler, event) == {"batchItemFailures": []}
    store = runtime.store()
    for record in video_records:
        video = store.get_video(record["dynamodb"]["NewImage"]["video_id"]["S"])
        assert video is not None
        assert video.score is not None
        assert video.score_is_current


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "x", "max_results": "5"}, "max_results"),
        ({"topic": "x", "max_results": True}, "max_results"),
        ({"topic": "x", "max_results": 5.0}, "max_results"),
        ({"topic": "x", "max_duration_seconds": "60"}, "max_duration_seconds"),
        ({"topic": "x\u202e\u0000evil"}, "topic"),
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
