"""Read the deployment side (template.yaml, Dockerfiles) and the code side (handlers, env reads) as data.

Everything here is static and offline: YAML with CloudFormation tags, Dockerfile instructions, and the
AST of ``miles_core`` and ``functions``. The tests in this folder compare the two sides.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
FUNCTIONS_DIR = REPO_ROOT / "functions"
CORE_DIR = REPO_ROOT / "miles_core"
ENV_HELPERS = frozenset({"env_str", "env_int", "env_float", "env_list", "env_required"})
ENV_PREFIX = "MILES_"


# ---------------------------------------------------------------------------------------------- template
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (!Ref, !Sub, ...) into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as plain data (short tags expanded)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_CfnLoader)
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` as the deployment sees it."""

    logical_id: str
    dockerfile: Path
    command: str | None
    """``ImageConfig.Command[0]`` when the template overrides the image's CMD."""
    environment: dict[str, Any]
    events: dict[str, Any]
    properties: dict[str, Any] = field(repr=False)

    @property
    def folder(self) -> str:
        """The function folder under ``functions/`` (``predict``, ``scrape``, ``recommend``)."""
        return self.dockerfile.parent.name

    @property
    def handler(self) -> str:
        """``module.callable`` Lambda runs: the template's Command, else the Dockerfile's CMD."""
        if self.command is not None:
            return self.command
        cmd = parse_dockerfile(self.dockerfile).final_cmd
        if cmd is None:
            raise AssertionError(f"{self.logical_id}: neither ImageConfig.Command nor a CMD in {self.dockerfile}")
        return cmd

    @property
    def handler_file(self) -> Path:
        """Handlers are copied flat from the function folder into the task root."""
        return self.dockerfile.parent / f"{self.handler.rsplit('.', 1)[0]}.py"


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Every serverless function of the template, by logical id."""
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    found: dict[str, FunctionSpec] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        metadata = resource.get("Metadata", {})
        context = REPO_ROOT / metadata.get("DockerContext", ".")
        command = (properties.get("ImageConfig") or {}).get("Command")
        environment = {**global_env, **properties.get("Environment", {}).get("Variables", {})}
        found[logical_id] = FunctionSpec(
            logical_id=logical_id,
            dockerfile=(context / metadata["Dockerfile"]).resolve(),
            command=command[0] if command else None,
            environment=environment,
            events=properties.get("Events", {}),
            properties=properties,
        )
    return found


@dataclass(frozen=True)
class ApiRoute:
    """One API event of the template, normalised like ``infra.localstack.routes.Route``."""

    method: str
    path: str
    function: str
    handler: str
    api_key_required: bool


def api_routes(template: dict[str, Any]) -> set[ApiRoute]:
    """The REST API routes the template declares (event-level auth over the API's default)."""
    default_key = False
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Api":
            default_key = bool(resource.get("Properties", {}).get("Auth", {}).get("ApiKeyRequired", False))
    routes: set[ApiRoute] = set()
    for spec in functions(template).values():
        for event in spec.events.values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            key = props.get("Auth", {}).get("ApiKeyRequired", default_key)
            routes.add(ApiRoute(props["Method"].upper(), props["Path"], spec.folder, spec.handler, bool(key)))
    return routes


# ---------------------------------------------------------------------------------------------- Dockerfiles
@dataclass
class Stage:
    """One ``FROM`` stage: its base (image or earlier stage) and its instructions."""

    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Dockerfile:
    """A parsed Dockerfile (continuation lines joined, comments dropped)."""

    path: Path
    stages: list[Stage]
    lines: list[str]

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def lineage(self, stage: Stage) -> list[Stage]:
        """``stage`` and the stages it is built ``FROM``, root first."""
        chain = [stage]
        names = {s.name for s in self.stages if s.name}
        while chain[0].base in names:
            chain.insert(0, self.stage(chain[0].base))
        return chain

    @property
    def final(self) -> Stage:
        """The stage the image is (the last one)."""
        return self.stages[-1]

    @property
    def root_image(self) -> str:
        """The external image the final stage ultimately starts from."""
        return self.lineage(self.final)[0].base

    def _last(self, keyword: str) -> list[str] | None:
        for stage in reversed(self.lineage(self.final)):
            for key, argument in reversed(stage.instructions):
                if key == keyword:
                    return _exec_form(argument)
        return None

    @property
    def final_cmd(self) -> str | None:
        """The image's CMD (first element), inherited through stages."""
        cmd = self._last("CMD")
        return cmd[0] if cmd else None

    @property
    def final_entrypoint(self) -> list[str] | None:
        """The image's ENTRYPOINT."""
        return self._last("ENTRYPOINT")

    def pip_requirement_files(self, stage: Stage) -> list[str]:
        """``-r`` files installed in ``stage`` and its ancestors, in install order (basenames)."""
        found: list[str] = []
        for part in self.lineage(stage):
            for key, argument in part.instructions:
                if key == "RUN" and "pip install" in argument:
                    found += [Path(m).name for m in re.findall(r"-r\s+(\S+)", argument)]
        return found

    def copied_sources(self, stage: Stage) -> list[str]:
        """Build-context paths ``COPY`` puts into ``stage`` and its ancestors (not ``--from`` copies)."""
        sources: list[str] = []
        for part in self.lineage(stage):
            for key, argument in part.instructions:
                words = argument.split()
                if key == "COPY" and not any(word.startswith("--from") for word in words):
                    sources += [word for word in words[:-1] if not word.startswith("--")]
        return sources

    def run_text(self, stage: Stage) -> str:
        """All RUN and COPY arguments of ``stage`` and its ancestors (to look for forbidden installs)."""
        return "\n".join(
            arg for part in self.lineage(stage) for key, arg in part.instructions if key in {"RUN", "COPY"}
        )


def _exec_form(argument: str) -> list[str]:
    argument = argument.strip()
    if argument.startswith("["):
        value = yaml.safe_load(argument)
        assert isinstance(value, list)
        return [str(v) for v in value]
    return shlex.split(argument)


def parse_dockerfile(path: Path) -> Dockerfile:
    """Split a Dockerfile into stages of (INSTRUCTION, argument)."""
    logical: list[str] = []
    buffer = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append(buffer + stripped)
        buffer = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = argument.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(name=name, base=words[0]))
        elif stages:
            stages[-1].instructions.append((keyword, argument.strip()))
    return Dockerfile(path=path, stages=stages, lines=logical)


# ---------------------------------------------------------------------------------------------- handlers
class HandlerError(AssertionError):
    """A handler reference does not resolve to a callable."""


def static_handler_check(handler_file: Path, name: str) -> None:
    """Raise unless ``handler_file`` defines (or assigns) a top-level ``name``; no import needed."""
    if not handler_file.is_file():
        raise HandlerError(f"{handler_file} does not exist")
    tree = ast.parse(handler_file.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return
    raise HandlerError(f"{handler_file} defines no top-level {name!r}")


def import_handler(handler_file: Path, name: str, module_name: str | None = None) -> Callable[..., Any]:
    """Import ``handler_file`` as a fresh module (as Lambda does from the task root) and return ``name``."""
    if not handler_file.is_file():
        raise HandlerError(f"{handler_file} does not exist")
    module_name = module_name or f"_miles_handler_{handler_file.parent.name}_{handler_file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, handler_file)
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    target = getattr(module, name, None)
    if not callable(target):
        raise HandlerError(f"{handler_file}: {name!r} is missing or not callable")
    return target  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------- env vars
def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def env_reads(path: Path) -> set[str]:
    """``MILES_*`` names read in ``path`` through the ``miles_core.config`` helpers (literal first argument)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in ENV_HELPERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith(ENV_PREFIX):
                names.add(first.value)
    return names


def all_env_reads(roots: Iterable[Path] = (CORE_DIR, FUNCTIONS_DIR)) -> dict[str, set[Path]]:
    """Every ``MILES_*`` read anywhere in the code, with the files that read it."""
    found: dict[str, set[Path]] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for name in env_reads(path):
                found.setdefault(name, set()).add(path)
    return found


def _module_file(dotted: str) -> Path | None:
    parts = dotted.split(".")
    if parts[0] != "miles_core":
        return None
    base = REPO_ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _package_of(path: Path) -> str:
    relative = path.relative_to(REPO_ROOT).with_suffix("")
    return ".".join(relative.parts[:-1])  # a module's package; for __init__ the package itself


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    package = _package_of(path) if path.is_relative_to(CORE_DIR) else ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


def reachable_files(entry: Path) -> set[Path]:
    """``entry`` and every ``miles_core`` file it can import (directly, lazily or through packages)."""
    seen: set[Path] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in _imported_modules(path):
            parts = dotted.split(".")
            for depth in range(1, len(parts) + 1):  # parent packages run their __init__ too
                found = _module_file(".".join(parts[:depth]))
                if found is not None and found not in seen:
                    pending.append(found)
    return seen


FORBIDDEN_IN_IMAGES = ("miles_core/training", "miles_core/artifacts", "miles_core/cli", "infra", "tests")
"""Never in a runtime stage: training code, the committed trained head, the command line, dev tooling, tests."""


def image_copy_problems(dockerfile: Dockerfile, handler_files: Iterable[Path]) -> list[str]:
    """What is wrong with the runtime stage's library COPY list, given the handlers the image runs.

    Every ``miles_core`` file a handler can import must be copied; every copied library path must
    hold at least one of them (no package is carried along unused); the whole library, training
    code, the trained head, ``infra`` and ``tests`` are never copied.
    """
    needed = set().union(*(reachable_files(path) for path in handler_files))
    needed = {path for path in needed if path.is_relative_to(CORE_DIR)}
    problems: list[str] = []
    copied: set[Path] = set()
    for source in dockerfile.copied_sources(dockerfile.final):
        relative = source.rstrip("/")
        if relative.startswith(FORBIDDEN_IN_IMAGES) or relative == "miles_core":
            problems.append(f"copies {source}")
            continue
        if not relative.startswith("miles_core"):
            continue
        path = REPO_ROOT / relative
        files = set(path.rglob("*.py")) if path.is_dir() else {path}
        if not files & needed:
            problems.append(f"copies {source}, which no handler imports")
        copied |= files
    problems += [f"misses {path.relative_to(REPO_ROOT)}" for path in sorted(needed - copied)]
    return problems


def function_env_reads(spec: FunctionSpec) -> set[str]:
    """``MILES_*`` variables the function's handler can read."""
    names: set[str] = set()
    for path in reachable_files(spec.handler_file):
        names |= env_reads(path)
    return names


def template_miles_env(spec: FunctionSpec) -> set[str]:
    """``MILES_*`` variables the template sets for the function."""
    return {name for name in spec.environment if name.startswith(ENV_PREFIX)}
