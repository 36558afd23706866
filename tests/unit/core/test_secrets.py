"""``miles_core.secrets``: Secrets Manager and SSM by id, through Powertools, cached for ``max_age``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from miles_core.secrets import SecretUnavailableError, clear_secret_cache, read_secret, read_secret_fields


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        clear_secret_cache()
        yield {
            "secrets": boto3.client("secretsmanager", region_name="us-east-1"),
            "ssm": boto3.client("ssm", region_name="us-east-1"),
        }
        clear_secret_cache()


def test_secrets_manager_and_ssm_ids(aws: dict[str, Any]) -> None:
    aws["secrets"].create_secret(Name="miles/key", SecretString="from-secrets-manager")
    aws["ssm"].put_parameter(Name="/miles/key", Value="from-ssm", Type="SecureString")
    assert read_secret("miles/key") == "from-secrets-manager"
    assert read_secret("/miles/key") == "from-ssm"  # decrypted SecureString
    assert read_secret("ssm:/miles/key") == "from-ssm"


def test_values_are_cached_for_max_age(aws: dict[str, Any]) -> None:
    aws["secrets"].create_secret(Name="miles/rotating", SecretString="old")
    aws["secrets"].create_secret(Name="miles/uncached", SecretString="old")
    assert read_secret("miles/rotating") == "old"
    assert read_secret("miles/uncached", max_age=0) == "old"
    for name in ("miles/rotating", "miles/uncached"):
        aws["secrets"].put_secret_value(SecretId=name, SecretString="new")
    assert read_secret("miles/rotating") == "old"  # a warm container does not call AWS per request
    assert read_secret("miles/uncached", max_age=0) == "new"
    clear_secret_cache()
    assert read_secret("miles/rotating") == "new"


def test_json_or_plain_fields(aws: dict[str, Any]) -> None:
    aws["secrets"].create_secret(Name="plain", SecretString="  sk-1 ")
    aws["secrets"].create_secret(Name="doc", SecretString=json.dumps({"cookies": "c", "proxy": "p"}))
    aws["secrets"].create_secret(Name="list", SecretString="{not json")
    assert read_secret_fields("plain", plain_key="api_key") == {"api_key": "sk-1"}
    assert read_secret_fields("doc", plain_key="cookies") == {"cookies": "c", "proxy": "p"}
    with pytest.raises(SecretUnavailableError, match="not valid JSON"):
        read_secret_fields("list", plain_key="api_key")


def test_errors_name_the_id_never_a_value(aws: dict[str, Any]) -> None:
    aws["secrets"].create_secret(Name="binary", SecretBinary=b"sk-secret-bytes")
    with pytest.raises(SecretUnavailableError, match="'miles/missing'") as missing:
        read_secret("miles/missing")
    assert "ResourceNotFound" in str(missing.value)
    with pytest.raises(SecretUnavailableError, match="no string value") as binary:
        read_secret("binary")
    assert "sk-secret" not in str(binary.value)
