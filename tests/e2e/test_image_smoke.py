"""Image-equivalent smoke test: each image's pinned closure runs its functions' sample events as Lambda would.

No Docker here, so each container image of ``template.yaml`` is rebuilt from what defines it:

* a virtualenv with exactly the ``layers/*.txt`` its Dockerfile installs (``--no-deps`` + ``pip check``;
  nothing from ``.venv``, no torch), cached under ``build/image-venvs``;
* a read-only task root holding what the Dockerfile ``COPY``s there, and the Dockerfile's ``ENV`` with
  ``HOME`` and caches in a temp dir, the only writable place (Lambda's ``/tmp``); as root the whole file
  system is remounted read-only around it;
* every function of the image started as Lambda starts it, ``python -m awslambdaric <handler>`` against a
  local Runtime API, with the template's environment, the shipped model (read-only) and moto on loopback
  (moto runs from ``.venv``: it is not in any image), then fed its ``events/`` files.

A pin missing from ``layers/*.txt`` fails ``pip check`` or an import; a write outside the temp dir fails
the invocation. Outbound HTTP goes to a dead proxy, so the scrape sources fail fast and the run is offline.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.localstack.moto import MotoServer, free_port
from miles_core.store import schema
from tests.support.dockerfile import parse_dockerfile
from tests.support.events import EVENT_FILES
from tests.support.image_env import image_environment, image_venv, set_read_only, task_root
from tests.support.lambda_runtime import LambdaProcess, RuntimeApi, read_only_argv
from tests.support.paths import REPO_ROOT
from tests.support.template import FunctionSpec, functions, load_template
from tests.support.template_invoke import function_for_event

MUST_SUCCEED = {"predict.json", "predict_batch.json", "model.json", "health.json"}
"""Events that answer 200 in any order; the others may depend on state an earlier event creates."""

pytestmark = pytest.mark.slow

IMAGES = ("predict", "recommend", "scrape")
NEVER_AT_RUNTIME = ("torch", "transformers", "sentence_transformers")
REGION = "us-east-1"
ACCOUNT = "123456789012"
# Signs of an image that would not run in Lambda, whatever the handler answered.
BROKEN = re.compile(r"ModuleNotFoundError|No module named|ImportError|Read-only file system|PermissionError")
# Offline, a scheduled scrape ends with every niche retryable: the worker raises so that EventBridge retries.
EXPECTED_ERRORS = {"scrape_schedule.json": "JobRetryableError"}


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def read_only_model(shipped_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's ``/opt/miles/model``: the shipped artifact, read-only."""
    model = tmp_path_factory.mktemp("opt-miles") / "model"
    shutil.copytree(shipped_artifact, model)
    set_read_only(model)
    return model


def _provision(template: dict[str, Any], endpoint: str, suffix: str) -> dict[str, str]:
    """The template's table, job queue and secrets (at their template values) in moto: logical id -> physical id."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    table = f"miles-smoke-{suffix}"
    schema.create_table(session.client("dynamodb", endpoint_url=endpoint), table)
    queue = session.client("sqs", endpoint_url=endpoint).create_queue(QueueName=f"miles-jobs-{suffix}")["QueueUrl"]
    resources = {"Table": table, "ScrapeJobQueue": queue}
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::SecretsManager::Secret":
            secret = resource["Properties"]["SecretString"]
            resources[logical_id] = secrets.create_secret(Name=f"miles/{suffix}/{logical_id}", SecretString=secret)[
                "ARN"
            ]
    return resources


def _template_value(value: Any, parameters: dict[str, Any], resources: dict[str, str]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        return resources[name] if name in resources else str(parameters[name].get("Default", ""))
    return str(value)


def _lambda_environment(
    spec: FunctionSpec, image_env: dict[str, str], api: RuntimeApi, extra: dict[str, str]
) -> dict[str, str]:
    """What Lambda sets for a function: the image's ENV, the template's variables, the runtime's own."""
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    return {
        "PATH": f"{Path(image_env['VIRTUAL_ENV']) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONNOUSERSITE": "1",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.properties.get("MemorySize", 1024)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{free_port()}",
        "_HANDLER": spec.handler,
        **{name: dead_proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **image_env,
        **extra,
    }


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check(name: str, invocation: Any) -> None:
    event = invocation.event
    if invocation.error is not None:
        assert EXPECTED_ERRORS.get(name) == invocation.error.get("errorType"), f"{name}: {invocation.error}"
        return
    result = invocation.result
    if "httpMethod" in event:
        assert int(result["statusCode"]) < 500, f"{name}: {result}"
        if name in MUST_SUCCEED:
            assert int(result["statusCode"]) == 200, f"{name}: {result}"
            json.loads(result["body"])
    elif "Records" in event:
        assert isinstance(result.get("batchItemFailures"), list), f"{name}: {result}"


@pytest.mark.parametrize("image", IMAGES)
def test_image_runs_its_events(image: str, moto: MotoServer, read_only_model: Path, tmp_path: Path) -> None:
    template = load_template()
    dockerfile = parse_dockerfile(REPO_ROOT / "functions" / image / "Dockerfile")
    layers = [REPO_ROOT / "layers" / name for name in dockerfile.pip_requirement_files(dockerfile.final)]
    venv = image_venv(image, layers)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not [m for m in NEVER_AT_RUNTIME if (site / m).exists()], f"{image}: serving image with training stack"

    task = task_root(dockerfile, tmp_path / "var-task")
    writable = tmp_path / "tmp"
    writable.mkdir()
    image_env = {**image_environment(dockerfile, writable, task), "VIRTUAL_ENV": str(venv)}
    resources = _provision(template, moto.endpoint_url, uuid.uuid4().hex[:8])
    entrypoint = dockerfile.final_entrypoint
    assert entrypoint is not None

    specs = [spec for spec in functions(template).values() if spec.folder == image]
    assert specs, f"no function in template.yaml uses functions/{image}/Dockerfile"
    for spec in specs:
        events = [p for p in EVENT_FILES if function_for_event(template, _load(p)).logical_id == spec.logical_id]
        assert events, f"{spec.logical_id} has no sample event in events/"
        variables = {k: _template_value(v, template["Parameters"], resources) for k, v in spec.environment.items()}
        if "MILES_MODEL_DIR" in variables:
            variables["MILES_MODEL_DIR"] = str(read_only_model)
        variables["AWS_ENDPOINT_URL"] = moto.endpoint_url
        if "MILES_NICHES" in variables:  # one niche proves the path; each costs seconds of failing fetches
            variables["MILES_NICHES"] = variables["MILES_NICHES"].split(",")[0]
        api = RuntimeApi(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.logical_id}")
        argv, sealed = read_only_argv([str(venv / "bin" / "python"), *entrypoint[1:], spec.handler], writable)
        env = _lambda_environment(spec, image_env, api, variables)
        process = LambdaProcess(argv, env, task, api, tmp_path / f"{spec.logical_id}.log")
        try:
            for path in events:
                _check(path.name, process.invoke(_load(path)))
        finally:
            output = process.stop()
            api.close()
        assert not BROKEN.search(output), f"{spec.logical_id} (read-only file system: {sealed}):\n{output[-4000:]}"


def test_only_the_temp_dir_is_writable(tmp_path: Path) -> None:
    """The sandbox itself: a write outside the function's temp dir fails, as on Lambda's read-only file system."""
    task = tmp_path / "task"
    task.mkdir()
    writable = tmp_path / "tmp"
    writable.mkdir()
    set_read_only(task)
    code = "import sys; open(sys.argv[1], 'w').write('x')"
    for target, allowed in ((writable / "ok", True), (task / "no", False), (REPO_ROOT / "build" / "smoke-no", False)):
        argv, _ = read_only_argv([sys.executable, "-c", code, str(target)], writable)
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        assert (done.returncode == 0) is allowed, (target, done.stderr)
        target.unlink(missing_ok=True)
