"""``functions/recommend/app.py`` through API Gateway REST (v1) events, against moto DynamoDB and the store."""

from __future__ import annotations

import base64
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from miles_core.observation import Observation
from miles_core.recommend.service import REQUEST_BUDGET_SECONDS
from miles_core.relevance import pack_embedding
from miles_core.store import MilesStore, Score, ScrapedVideo
from miles_core.store.schema import create_table
from miles_core.topics import Topic
from tests.support.events import LocalLambdaContext, lambda_context, load_event
from tests.support.fake_llm import FakeLLMServer
from tests.support.recommend_data import TITLES, TOPIC
from tests.support.throttle import Throttle

REPO = Path(__file__).resolve().parents[3]
TABLE = "miles-recommend-test"


@pytest.fixture
def app_module(tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("MILES_MODEL_DIR", str(tiny_artifact))
    monkeypatch.setenv("MILES_TABLE_NAME", TABLE)
    monkeypatch.setenv("MILES_RECOMMEND_CACHE_TTL_SECONDS", "900")
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
        monkeypatch.setenv("MILES_SCRAPE_QUEUE_URL", queue_url)
        module = importlib.import_module("functions.recommend.app")
        module._state.clear()  # bind the service to this test's mocked table
        yield module
        module._state.clear()


def seed(store: MilesStore, topic: Topic = TOPIC) -> None:
    """The eight fixture titles as real, scored leaderboard entries.

    Each score carries a text embedding, as the stream scorer writes it. The tiny test encoder is random
    (its cosines mean nothing), so the stored embedding is the topic's own: this tests the wiring from the
    table to the answer; relevance by meaning is tested on the shipped encoder (``test_relevance.py``).
    """
    now = datetime.now(UTC)
    embedding = pack_embedding(importlib.import_module("functions.recommend.app").predictor.topic_embedding(topic))
    for i, (title, tags, duration, hour, probability) in enumerate(TITLES):
        published = (now - timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)
        video = ScrapedVideo(
            observation=Observation(
                video_id=f"vid{i:02d}",
                title=title,
                tags=tags,
                duration_seconds=float(duration),
                category_id=17,
                channel_id=f"chan{i % 3}",
                channel_title=f"Channel {i % 3}",
                published_at=published,
                observed_at=now - timedelta(hours=1),
                view_count=1000 * (i + 1),
            ),
            source="test",
        )
        store.upsert_video(video, topic=topic, run_id="run-1")
        store.add_topic_membership(topic, video)
        record = store.get_video(video.video_id)
        assert record is not None
        store.write_score(
            record,
            Score(
                viral_probability=probability,
                predicted_velocity_views_per_hour=100.0 * probability,
                is_viral=probability >= 0.5,
                threshold=0.5,
                regime="post_publish",
                model_version="tiny-test",
                scored_at=now,
                stats_key=record.stats_key,
                text_embedding=embedding,
            ),
        )


def event(body: Any = None, raw: str | None = None) -> dict[str, Any]:
    template = load_event("recommendations.json")
    if body is not None or raw is not None:
        text = raw if raw is not None else json.dumps(body)
        template["body"] = base64.b64encode(text.encode()).decode()
    return dict(template)


def call(module: ModuleType, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = module.handler(evt, lambda_context("recommend"))
    return int(result["statusCode"]), json.loads(result["body"])


def test_sample_event_returns_ranked_scored_fallback_ideas_then_cache(app_module: ModuleType) -> None:
    seed(MilesStore.from_env())
    status, body = call(app_module, event())
    assert status == 200, body
    assert body["meta"]["generator"] == "fallback"
    assert body["meta"]["generator_reason"] == "no_api_key"
    assert body["meta"]["cached"] is False
    assert body["meta"]["candidates_analyzed"] == 8
    assert body["meta"]["model_version"] == "tiny-test"
    assert len(body["ideas"]) == 5
    probabilities = [idea["viral_probability"] for idea in body["ideas"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert body["inspired_by"][0]["video_id"] == "vid00"  # highest stored score first
    assert body["patterns"]["top_phrases"][0]["text"] == "home workout"
    assert body["evidence"]["relevant_videos"] == 8
    assert body["evidence"]["level"] == "good"
    for idea in body["ideas"]:
        assert set(idea) >= {
            "title",
            "hook",
            "description",
            "suggested_duration_seconds",
            "best_posting_time",
            "reasoning",
            "viral_probability",
            "predicted_velocity_views_per_hour",
        }
        assert "suggested_posting_hour_utc" not in idea  # one posting time per idea: the scanned best one
    status, again = call(app_module, event())
    assert status == 200
    assert again["meta"]["cached"] is True  # served from the DynamoDB cache item
    assert again["ideas"] == body["ideas"]


def seed_with_llm_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded candidates and an OpenAI key in (moto's) Secrets Manager, as in AWS."""
    seed(MilesStore.from_env())
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="miles/openai", SecretString="sk-x")
    monkeypatch.setenv("MILES_OPENAI_SECRET_ID", "miles/openai")


def test_llm_configured_answers_with_schema_valid_llm_ideas(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_with_llm_secret(monkeypatch)
    with FakeLLMServer("good") as server:
        monkeypatch.setenv("MILES_OPENAI_BASE_URL", server.base_url)
        status, body = call(app_module, event({"topic": TOPIC, "vibe": "hype", "count": 3}))
    assert status == 200, body
    assert body["meta"]["generator"] == "llm"
    assert body["meta"]["generator_reason"] == "llm_ok"
    assert len(body["ideas"]) == 3
    assert all(idea["title"].startswith("LLM idea") for idea in body["ideas"])


def test_the_openai_convention_reaches_the_llm_without_a_secret(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make run``'s way: no secret id, ``OPENAI_API_KEY`` + ``OPENAI_BASE_URL`` in the environment."""
    seed(MilesStore.from_env())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    with FakeLLMServer("good") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        status, body = call(app_module, event({"topic": TOPIC, "vibe": "funny", "count": 2}))
    assert status == 200, body
    assert (body["meta"]["generator"], body["meta"]["generator_reason"]) == ("llm", "llm_ok")
    assert server.headers[0]["authorization"] == "Bearer sk-local"


@pytest.mark.parametrize(
    "mode", ["rate_limited", "rate_limited_date", "hang", "trickle", "trickle_headers", "stall_body"]
)
def test_a_rate_limited_hung_trickling_or_stalled_llm_answers_with_the_fallback_within_budget(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """429 + ``Retry-After`` 25 s (seconds or date), a hang, trickled headers or body, a stalled body: the
    fallback answers within the request budget plus one second."""
    seed_with_llm_secret(monkeypatch)
    with FakeLLMServer(mode, delay=40.0, trickle_interval=0.5) as server:
        monkeypatch.setenv("MILES_OPENAI_BASE_URL", server.base_url)
        started = time.monotonic()
        status, body = call(app_module, event({"topic": TOPIC, "vibe": "hype", "count": 3}))
        elapsed = time.monotonic() - started
    assert status == 200, body
    assert elapsed <= REQUEST_BUDGET_SECONDS + 1.0, elapsed
    assert body["meta"]["generator"] == "fallback"
    assert body["meta"]["generator_reason"] == ("llm_http_error" if mode.startswith("rate_limited") else "llm_timeout")
    assert len(body["ideas"]) == 3


def test_an_invocation_with_less_time_left_still_answers_before_its_own_deadline(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request budget follows the Lambda context: 8 s left means the fallback answers well inside 8 s."""
    seed_with_llm_secret(monkeypatch)
    with FakeLLMServer("hang", delay=40.0) as server:
        monkeypatch.setenv("MILES_OPENAI_BASE_URL", server.base_url)
        started = time.monotonic()
        result = app_module.handler(
            event({"topic": TOPIC, "vibe": "hype", "count": 3}), LocalLambdaContext.for_request("recommend", 8_000)
        )
        elapsed = time.monotonic() - started
    body = json.loads(result["body"])
    assert result["statusCode"] == 200, body
    assert body["meta"]["generator_reason"] == "llm_timeout"
    assert elapsed <= 8.0 - 1.0, elapsed  # the response margin is left for API Gateway


def test_topic_without_candidates_requests_a_scrape_job(app_module: ModuleType) -> None:
    status, body = call(app_module, event({"topic": "Sourdough Hacks", "vibe": "chill", "count": 2}))
    assert status == 200, body
    job_id = body["meta"]["scrape_job_id"]
    assert job_id
    assert body["meta"]["fresh_candidates"] is False
    assert len(body["ideas"]) == 2
    job = MilesStore.from_env().get_job(job_id)
    assert job is not None
    assert job.request.topic == "sourdough hacks"
    assert job.trigger == "recommend"
    assert job.status.value == "queued"
    assert [message["job_id"] for message in queued_messages()] == [job_id]  # the worker will run it
    # A repeated request in the same hour does not create (or enqueue) a second job.
    status, again = call(app_module, event({"topic": "sourdough hacks", "vibe": "funny", "count": 2}))
    assert again["meta"]["scrape_job_id"] == job_id
    assert queued_messages() == []


def test_an_unreachable_queue_fails_the_job_but_not_the_answer(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILES_SCRAPE_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing")
    app_module._state.clear()
    status, body = call(app_module, event({"topic": "Sourdough Hacks", "vibe": "chill", "count": 2}))
    assert status == 200, body
    assert body["meta"]["scrape_job_id"] is None  # no job a worker will ever run is promised
    assert len(body["ideas"]) == 2
    store = MilesStore.from_env()
    (job_id,) = recorded_job_ids()
    job = store.get_job(job_id)
    assert job is not None
    assert job.request.topic == "sourdough hacks"
    assert job.status.value == "failed"  # visible through GET /scrape/jobs/{id}
    assert job.errors[0].startswith("could not enqueue")


def test_a_throttled_table_is_a_visible_503(app_module: ModuleType) -> None:
    """DynamoDB still throttling after botocore's retries: 503 (retry later, as documented), never a 500."""
    throttle = Throttle(app_module.service().cache.store.table.client, "GetItem", failures=10**6)
    status, body = call(app_module, event())
    assert status == 503, body
    assert "throttling" in body["message"]
    assert throttle.throttled == 3  # botocore's tries, one layer


def recorded_job_ids() -> list[str]:
    table = boto3.client("dynamodb", region_name="us-east-1")
    items = table.scan(
        TableName=TABLE,
        FilterExpression="#kind = :job",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":job": {"S": "scrape_job"}},
    )["Items"]
    return [item["job_id"]["S"] for item in items]


def test_a_full_width_topic_is_the_same_topic_and_the_same_scrape_job(app_module: ModuleType) -> None:
    status, first = call(app_module, event({"topic": "ｓｏｕｒｄｏｕｇｈ　ＨＡＣＫＳ", "vibe": "chill", "count": 2}))
    assert status == 200, first
    assert first["meta"]["topic"] == "sourdough hacks"
    status, second = call(app_module, event({"topic": "Sourdough Hacks", "vibe": "funny", "count": 2}))
    assert second["meta"]["scrape_job_id"] == first["meta"]["scrape_job_id"]
    assert recorded_job_ids() == [first["meta"]["scrape_job_id"]]


def queued_messages() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    received = sqs.receive_message(QueueUrl=os.environ["MILES_SCRAPE_QUEUE_URL"], MaxNumberOfMessages=10)
    messages = received.get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=os.environ["MILES_SCRAPE_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "   ", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "x\u202e\u0000evil", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "cooking\u200b", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "\ufeffcooking", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "coo\u200dking", "vibe": "funny", "count": 3}, "topic"),
        ({"topic": "cats", "vibe": "funny", "count": "5"}, "count"),
        ({"topic": "cats", "vibe": "funny", "count": 5.0}, "count"),
        ({"topic": "cats", "vibe": "funny", "count": True}, "count"),
        ({"vibe": "funny", "count": 3}, "topic"),
        ({"topic": "cats", "vibe": "sarcastic", "count": 3}, "vibe"),
        ({"topic": "cats", "vibe": "funny", "count": 0}, "count"),
        ({"topic": "cats", "vibe": "funny", "count": 11}, "count"),
        ({"topic": "cats", "vibe": "funny", "count": "many"}, "count"),
        ({"topic": "cats", "vibe": "funny", "count": 3, "colour": "red"}, "colour"),
        ({"topic": "x" * 81, "vibe": "funny", "count": 3}, "topic"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(app_module: ModuleType, body: dict[str, Any], field: str) -> None:
    status, answer = call(app_module, event(body))
    assert status == 422, answer
    assert field in [error["field"] for error in answer["errors"]]


def test_malformed_json_is_400(app_module: ModuleType) -> None:
    status, answer = call(app_module, event(raw='{"topic": "cats",'))
    assert status == 400
    assert answer["errors"][0]["field"] == "body"


def test_handler_module_imports_no_torch(tiny_artifact: Path) -> None:
    code = "import sys, functions.recommend.app; print('torch' in sys.modules, 'transformers' in sys.modules)"
    env = dict(os.environ, MILES_MODEL_DIR=str(tiny_artifact), MILES_TABLE_NAME=TABLE)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


def test_the_topic_is_canonical_before_it_is_cached_or_echoed() -> None:
    from miles_core.api.schemas.recommend import RecommendationRequest

    assert RecommendationRequest.model_validate({"topic": "  Home   WORKOUTS "}).topic == "home workouts"
