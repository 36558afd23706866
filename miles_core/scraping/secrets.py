"""Read a secret by id from Secrets Manager or SSM Parameter Store.

Only the *id* comes from the environment. An id that starts with ``/`` or ``ssm:`` names an SSM
parameter (read with decryption, for SecureString); anything else is a Secrets Manager secret id
or ARN. Values are never logged.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from miles_core.scraping.base import SourceConfigError


def read_secret(secret_id: str, source: str, *, client: Any | None = None) -> str:
    """The secret's string value; SourceConfigError (naming the id, never the value) otherwise."""
    import boto3

    try:
        if secret_id.startswith(("/", "ssm:")):
            name = secret_id.removeprefix("ssm:")
            ssm = client or boto3.client("ssm")
            return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        secrets = client or boto3.client("secretsmanager")
        response = secrets.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as error:
        raise SourceConfigError(source, f"cannot read secret {secret_id!r}: {type(error).__name__}") from error
    if "SecretString" not in response:
        raise SourceConfigError(source, f"secret {secret_id!r} has no string value")
    return str(response["SecretString"])


def read_json_or_value(secret_id: str, source: str, key: str, *, client: Any | None = None) -> dict[str, Any]:
    """A JSON-object secret as a dict; a plain string secret becomes ``{key: value}``."""
    raw = read_secret(secret_id, source, client=client).strip()
    if raw.startswith("{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            raise SourceConfigError(source, f"secret {secret_id!r} is not valid JSON") from error
        if not isinstance(value, dict):
            raise SourceConfigError(source, f"secret {secret_id!r} must be a JSON object")
        return value
    return {key: raw}
