"""Dockerfiles against the code and each other (parsed; Docker builds need a daemon, not run here)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.code_reading import HandlerError, import_handler, static_handler_check
from tests.support.dockerfile import image_copy_problems, parse_dockerfile
from tests.support.paths import REPO_ROOT
from tests.support.template import FUNCTIONS_DIR, functions

BASE_IMAGE = "public.ecr.aws/lambda/provided:al2023"
ENTRYPOINT = ["/usr/bin/python3.11", "-m", "awslambdaric"]
LAYER_ORDER = ["core.txt", "ml-serving.txt", "scrape.txt", "llm.txt"]
IMAGE_LAYERS = {
    "predict": ["core.txt", "ml-serving.txt"],
    "recommend": ["core.txt", "ml-serving.txt", "llm.txt"],
    "scrape": ["core.txt", "scrape.txt"],
}
FORBIDDEN_AT_RUNTIME = ("torch", "transformers", "ml-build.txt", "sentence-transformers")
DOCKERFILES = {name: FUNCTIONS_DIR / name / "Dockerfile" for name in IMAGE_LAYERS}


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_base_entrypoint_and_cmd(name: str) -> None:
    dockerfile = parse_dockerfile(DOCKERFILES[name])
    assert dockerfile.root_image == BASE_IMAGE
    assert dockerfile.final_entrypoint == ENTRYPOINT
    cmd = dockerfile.final_cmd
    assert cmd is not None
    module, attribute = cmd.rsplit(".", 1)
    static_handler_check(DOCKERFILES[name].parent / f"{module}.py", attribute)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_layers_install_in_the_shared_order(name: str) -> None:
    dockerfile = parse_dockerfile(DOCKERFILES[name])
    installed = dockerfile.pip_requirement_files(dockerfile.final)
    assert installed == IMAGE_LAYERS[name]
    assert installed == sorted(installed, key=LAYER_ORDER.index)
    for layer in installed:
        assert (REPO_ROOT / "layers" / layer).is_file()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        assert "==" in line, f"{path.name}: {line!r} is not pinned"
        name, version = line.split("==", 1)
        pins[name.split("[", 1)[0].lower().replace("_", "-")] = version
    return pins


def test_layer_files_are_pinned_and_agree() -> None:
    seen: dict[str, str] = {}
    for path in sorted((REPO_ROOT / "layers").glob("*.txt")):
        for name, version in _pins(path).items():
            assert seen.setdefault(name, version) == version, f"{name} pinned twice differently ({path.name})"
    assert "torch" not in {n for p in LAYER_ORDER for n in _pins(REPO_ROOT / "layers" / p)}


def test_shared_preamble_is_identical() -> None:
    """Up to the core layer install every Dockerfile is the same, so the images share those layers."""
    preambles = set()
    for path in DOCKERFILES.values():
        lines = parse_dockerfile(path).lines
        end = next(i for i, line in enumerate(lines) if "layers/core.txt" in line and line.startswith("RUN"))
        preambles.add(tuple(lines[: end + 1]))
    assert len(preambles) == 1


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_runtime_stage_installs_no_torch(name: str) -> None:
    dockerfile = parse_dockerfile(DOCKERFILES[name])
    runtime_text = dockerfile.run_text(dockerfile.final)
    for forbidden in FORBIDDEN_AT_RUNTIME:
        assert forbidden not in runtime_text.replace("find_spec('torch')", ""), f"{name}: {forbidden} at runtime"


@pytest.mark.parametrize("name", ["predict", "recommend"])
def test_model_is_built_in_a_stage_and_copied_read_only(name: str) -> None:
    dockerfile = parse_dockerfile(DOCKERFILES[name])
    build = dockerfile.stage("model-build")
    build_text = dockerfile.run_text(build)
    assert "ml-build.txt" in build_text
    assert "miles_core.cli export" in build_text
    assert "--out /opt/miles/model" in build_text
    assert "a-w" in build_text, "model files must be read-only"
    assert "rm /opt/miles/model/model.onnx" in build_text, "serving loads encoder.onnx + head.onnx only"
    copies = [arg for key, arg in dockerfile.final.instructions if key == "COPY" and "--from=model-build" in arg]
    assert copies == ["--from=model-build /opt/miles/model /opt/miles/model"]


def test_model_build_stage_is_shared_by_predict_and_recommend() -> None:
    stages = []
    for name in ("predict", "recommend"):
        dockerfile = parse_dockerfile(DOCKERFILES[name])
        lineage = dockerfile.lineage(dockerfile.stage("model-build"))
        stages.append([(s.base, s.instructions) for s in lineage])
    assert stages[0] == stages[1]


def _image_handlers(template: dict[str, Any], name: str) -> list[Path]:
    """The handler files the template runs from this image (app.py, and scorer.py / worker.py)."""
    return sorted({spec.handler_file for spec in functions(template).values() if spec.folder == name})


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_runtime_stage_copies_exactly_the_library_packages_its_handlers_import(
    template: dict[str, Any], name: str
) -> None:
    handlers = _image_handlers(template, name)
    assert handlers, f"template.yaml runs nothing from the {name} image"
    assert image_copy_problems(parse_dockerfile(DOCKERFILES[name]), handlers) == []


def test_the_copy_check_fails_on_the_whole_library_a_missing_package_and_an_unused_one(
    template: dict[str, Any], tmp_path: Path
) -> None:
    original = DOCKERFILES["scrape"].read_text(encoding="utf-8")
    handlers = _image_handlers(template, "scrape")
    cases = {
        "COPY miles_core/ ${LAMBDA_TASK_ROOT}/miles_core/\n": "copies miles_core/",
        "COPY miles_core/training/ ${LAMBDA_TASK_ROOT}/miles_core/training/\n": "copies miles_core/training/",
        "COPY miles_core/inference/ ${LAMBDA_TASK_ROOT}/miles_core/inference/\n": "which no handler imports",
    }
    for extra, problem in cases.items():
        broken = tmp_path / "Dockerfile"
        broken.write_text(original.replace("COPY functions/scrape/", extra + "COPY functions/scrape/"), "utf-8")
        assert any(problem in p for p in image_copy_problems(parse_dockerfile(broken), handlers)), extra
    missing = original.replace("COPY miles_core/store/ ${LAMBDA_TASK_ROOT}/miles_core/store/\n", "")
    assert missing != original
    broken.write_text(missing, "utf-8")
    assert "misses miles_core/store/__init__.py" in image_copy_problems(parse_dockerfile(broken), handlers)


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_every_handler_of_the_image_is_imported_at_build_time(template: dict[str, Any], name: str) -> None:
    """The runtime stage imports its handlers, so a package missing from the COPY list fails the build."""
    dockerfile = parse_dockerfile(DOCKERFILES[name])
    modules = ", ".join(path.stem for path in _image_handlers(template, name))
    assert f'python3.11 -c "import {modules}"' in dockerfile.run_text(dockerfile.final)


def test_caches_point_at_tmp() -> None:
    text = DOCKERFILES["predict"].read_text(encoding="utf-8")
    for variable in ("HOME=/tmp", "XDG_CACHE_HOME=/tmp", "HF_HOME=/tmp", "DENO_DIR=/tmp"):
        assert variable in text


def test_scrape_image_has_the_youtube_js_runtime() -> None:
    pins = _pins(REPO_ROOT / "layers" / "scrape.txt")
    assert {"yt-dlp", "yt-dlp-ejs", "deno"} <= set(pins)
    assert "deno --version" in parse_dockerfile(DOCKERFILES["scrape"]).run_text(
        parse_dockerfile(DOCKERFILES["scrape"]).final
    )


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("*")] == "*", "allow-list style: ignore everything first"
    assert {"!layers/", "!miles_core/", "!functions/"} <= set(lines)


# --------------------------------------------------------------------------------------------- handlers
def test_every_template_handler_resolves(template: dict[str, Any]) -> None:
    for spec in functions(template).values():
        _module, attribute = spec.handler.rsplit(".", 1)
        static_handler_check(spec.handler_file, attribute)
        assert spec.dockerfile.is_file(), spec.dockerfile


def _renamed_copy(tmp_path: Path, source: Path) -> Path:
    copy = tmp_path / source.parent.name / source.name
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    copy.write_text(copy.read_text(encoding="utf-8").replace("def handler(", "def handler_renamed("), encoding="utf-8")
    return copy


@pytest.mark.parametrize("handler_file", ["predict/app.py", "predict/scorer.py", "scrape/worker.py"])
def test_a_renamed_handler_fails_the_static_check(tmp_path: Path, handler_file: str) -> None:
    copy = _renamed_copy(tmp_path, FUNCTIONS_DIR / handler_file)
    with pytest.raises(HandlerError):
        static_handler_check(copy, "handler")


def test_a_renamed_handler_fails_the_import_check(tmp_path: Path) -> None:
    module = tmp_path / "app.py"
    module.write_text("def handler(event, context):\n    return event\n", encoding="utf-8")
    assert import_handler(module, "handler", "_miles_probe_ok")({"a": 1}, None) == {"a": 1}
    module.write_text("def handler_renamed(event, context):\n    return event\n", encoding="utf-8")
    with pytest.raises(HandlerError):
        import_handler(module, "handler", "_miles_probe_renamed")


def test_a_missing_handler_file_fails(tmp_path: Path) -> None:
    with pytest.raises(HandlerError):
        static_handler_check(tmp_path / "nope.py", "handler")
