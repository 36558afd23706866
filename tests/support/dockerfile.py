"""Dockerfiles as data (stages and instructions), and what a runtime stage must and must not copy."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support.code_reading import CORE_DIR, reachable_files
from tests.support.paths import REPO_ROOT


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
