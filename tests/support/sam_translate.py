"""Translate template.yaml into plain CloudFormation with aws-sam-translator, offline.

Run with the SAM virtualenv's interpreter (``.venv-sam/bin/python tests/support/sam_translate.py
template.yaml``): it prints the translated template as JSON. No AWS call is made: managed policy
names resolve from the translator's bundled map, and the region is fixed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any


class _OfflinePolicyLoader:
    """Stands in for the IAM-backed loader; the bundled managed-policy map answers instead."""

    def load(self) -> dict[str, str]:
        """No live IAM lookup: an empty map makes the translator use its bundled one."""
        return {}


def main(argv: list[str]) -> int:
    """Print the translated template of ``argv[1]`` as JSON on stdout."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    logging.disable(logging.WARNING)  # the translator's feature-toggle notes are noise here
    with open(argv[1], encoding="utf-8") as handle:
        template: dict[str, Any] = yaml_parse(handle.read())
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and properties.get("PackageType") == "Image":
            # What `sam build` fills in after building the image; any well-formed URI translates.
            properties.setdefault("ImageUri", f"123456789012.dkr.ecr.us-east-1.amazonaws.com/miles:{name.lower()}")
    translated = transform(template, {}, _OfflinePolicyLoader())
    json.dump(translated, sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
