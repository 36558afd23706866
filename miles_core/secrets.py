"""The one way Miles reads a secret: by id, through Powertools ``parameters``, cached per container.

Only the *id* comes from the environment (``MILES_*_SECRET_ID``). An id that starts with ``/`` or
``ssm:`` names an SSM parameter (read with decryption, for SecureString); anything else is a Secrets
Manager secret id or ARN. Powertools caches each value for :data:`SECRET_MAX_AGE_SECONDS`, so a warm
container does not call AWS per request and a rotated secret takes effect within that time.
Values are never logged or put in error messages; errors name the id only.
"""

from __future__ import annotations

import json
from typing import Any

SECRET_MAX_AGE_SECONDS = 900
"""How long a read secret is reused by a container (Powertools ``max_age``)."""
SSM_PREFIX = "ssm:"


class SecretUnavailableError(RuntimeError):
    """The secret could not be read, or holds no usable value; the message names the id, never the value."""


def read_secret(secret_id: str, *, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
    """The secret's string value (Secrets Manager, or SSM for ``/...`` and ``ssm:...`` ids)."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        if secret_id.startswith(("/", SSM_PREFIX)):
            value: Any = parameters.get_parameter(secret_id.removeprefix(SSM_PREFIX), decrypt=True, max_age=max_age)
        else:
            value = parameters.get_secret(secret_id, max_age=max_age)
    except GetParameterError as error:
        # Powertools wraps every SDK error; only the error's class reaches the message (no value can leak).
        cause = type(error.__cause__ or error.__context__ or error).__name__
        raise SecretUnavailableError(f"cannot read secret {secret_id!r}: {cause}") from error
    if not isinstance(value, str):
        raise SecretUnavailableError(f"secret {secret_id!r} has no string value")
    return value


def read_secret_fields(secret_id: str, *, plain_key: str, max_age: int = SECRET_MAX_AGE_SECONDS) -> dict[str, Any]:
    """A JSON-object secret as a dict; a plain string secret becomes ``{plain_key: value}``.

    Lets an operator store either just the key or a document with several fields (cookies + proxy).
    """
    raw = read_secret(secret_id, max_age=max_age).strip()
    if not raw.startswith("{"):
        return {plain_key: raw}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SecretUnavailableError(f"secret {secret_id!r} is not valid JSON") from error
    if not isinstance(value, dict):
        raise SecretUnavailableError(f"secret {secret_id!r} must be a JSON object")
    return value


def clear_secret_cache() -> None:
    """Forget every cached value and client (tests; a local stack pointed at a new endpoint)."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]  # untyped in Powertools 3.37
