"""template.yaml as data: the functions it declares, their triggers, environment and API routes.

Static and offline: YAML with CloudFormation tags expanded. The deploy tests compare it with the code
(:mod:`tests.support.code_reading`) and the Dockerfiles (:mod:`tests.support.dockerfile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.code_reading import ENV_PREFIX, env_reads, reachable_files
from tests.support.dockerfile import parse_dockerfile
from tests.support.paths import REPO_ROOT

TEMPLATE = REPO_ROOT / "template.yaml"
FUNCTIONS_DIR = REPO_ROOT / "functions"


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


def function_env_reads(spec: FunctionSpec) -> set[str]:
    """``MILES_*`` variables the function's handler can read."""
    names: set[str] = set()
    for path in reachable_files(spec.handler_file):
        names |= env_reads(path)
    return names


def template_miles_env(spec: FunctionSpec) -> set[str]:
    """``MILES_*`` variables the template sets for the function."""
    return {name for name in spec.environment if name.startswith(ENV_PREFIX)}
