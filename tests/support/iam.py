"""What each function's role allows, read from the SAM-translated template, and how recorded calls compare.

Resources stay logical: a policy's ``Resource`` is an intrinsic (``!GetAtt Table.Arn``,
``!Sub "${Table.Arn}/index/GSI1"``, SAM's ``Fn::Sub`` with a ``queueName`` variable), so it is read as
(logical id, suffix), and a recorded call's physical name is mapped back to its logical id through the
resources the test created for the template. Two kinds of role policy exist after translation:

- the ones the template writes under ``Policies`` (translated to ``<Function>RolePolicy<N>``): the code's
  own calls. Every call must be allowed by one, and every action they grant must be used by some call.
- the ones SAM adds for event sources and destinations (``<Function><Event>SQSPolicy``, the managed
  ``AWSLambda*ExecutionRole``): Lambda's service uses those, never the code, so they neither allow a
  code call here nor count as unused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from tests.support.aws_calls import IamRequest

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z]+)?\}")
INDEX = "/index/"


@dataclass(frozen=True)
class Grant:
    """One action on one resource, as a code policy of the role allows it."""

    policy: str
    action: str
    """``service:Action`` as written (IAM wildcards such as ``sqs:SendMessage*`` allowed)."""
    resource: str
    """``<LogicalId>`` or ``<LogicalId>/index/<name>``; ``*`` for any."""


def _logical(value: Any) -> str:
    """The logical resource (plus suffix) an IAM ``Resource`` intrinsic names."""
    if value == "*":
        return "*"
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
        matches = list(_SUB_REFERENCE.finditer(text))
        if matches:
            last = matches[-1]
            name = last.group(1)
            base = _logical(variables[name]) if name in variables else name
            return base + text[last.end() :]
    raise AssertionError(f"cannot read the resource {value!r}: teach tests/support/iam.py its form")


def code_policy_names(translated: Mapping[str, Any], function: str) -> set[str]:
    """The role's policies that come from the template's ``Policies`` (SAM names them RolePolicy<N>)."""
    role = translated["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = translated["Resources"][role]["Properties"].get("Policies", [])
    return {p["PolicyName"] for p in policies if re.fullmatch(rf"{function}RolePolicy\d+", p["PolicyName"])}


def code_grants(translated: Mapping[str, Any], function: str) -> list[Grant]:
    """Every (action, resource) the template's own policies give ``function``'s role."""
    role = translated["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    names = code_policy_names(translated, function)
    grants: list[Grant] = []
    for policy in translated["Resources"][role]["Properties"].get("Policies", []):
        if policy["PolicyName"] not in names:
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", f"{policy['PolicyName']}: only Allow statements are read"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            grants += [Grant(policy["PolicyName"], a, _logical(r)) for a in actions for r in resources]
    return grants


def logical_request(request: IamRequest, physical_to_logical: Mapping[str, str]) -> tuple[str, str]:
    """(action, logical resource) of a recorded request; an unknown physical name stays as it is."""
    base, _, index = request.resource.partition(INDEX)
    logical = physical_to_logical.get(base, base)
    return request.action, f"{logical}{INDEX}{index}" if index else logical


def allows(grant: Grant, action: str, resource: str) -> bool:
    """IAM's match: actions case-insensitive with ``*``/``?`` wildcards, resources by pattern."""
    return fnmatchcase(action.lower(), grant.action.lower()) and fnmatchcase(resource, grant.resource)


def permission_problems(grants: Iterable[Grant], used: Iterable[tuple[str, str]]) -> list[str]:
    """Calls no grant allows, and grants no call uses; empty when the policy is exactly what the code needs."""
    grants, used = list(grants), set(used)
    problems = [
        f"denied: {action} on {resource}"
        for action, resource in sorted(used)
        if not any(allows(g, action, resource) for g in grants)
    ]
    problems += [
        f"unused: {g.action} on {g.resource} ({g.policy})"
        for g in grants
        if not any(allows(g, action, resource) for action, resource in used)
    ]
    return problems
