"""The committed JSON Schema is the model's, and every example satisfies it (as an editor checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT
from unhazzle.compiler.spec.schema import SCHEMA_FILE

REGENERATE = "python -m unhazzle.compiler.spec.schema --write"


def generated_schema() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "unhazzle.compiler.spec.schema"], check=True, capture_output=True, cwd=ROOT
    )
    return result.stdout.decode("utf-8")


def test_schema_committed_file_is_current():
    committed = (ROOT / "unhazzle" / "schemas" / "unhazzle.schema.json").read_text(encoding="utf-8")
    assert SCHEMA_FILE.resolve() == (ROOT / "unhazzle" / "schemas" / "unhazzle.schema.json").resolve()
    assert committed == generated_schema(), (
        f"unhazzle/schemas/unhazzle.schema.json is stale; run `{REGENERATE}`"
    )


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*/unhazzle.yaml")), ids=lambda p: p.parent.name)
def test_schema_accepts_every_example(spec: Path):
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    text = spec.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../unhazzle/schemas/unhazzle.schema.json\n")
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_schema_rejects_an_unknown_key():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    spec = {"version": 1, "project": "shop", "region": "fsn1", "environments": {"production": {}}}
    spec["apps"] = {"web": {"image": "ghcr.io/acme/web:1.0", "imgae": "x"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(spec)


EMPTY_KEYS = """\
version: 1
project: shop
region: fsn1
budget:
environments:
  production:
  staging:
    apps:
      web:
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
    env:
    secrets:
    profile:
    size:
databases:
"""


def test_schema_and_validation_agree_that_a_key_written_empty_means_its_default(cli, write_spec):
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(EMPTY_KEYS))
    empty = cli("plan", str(write_spec(EMPTY_KEYS)), "--output", "json")
    assert empty.code == 0, empty.err
    spelled = EMPTY_KEYS.replace("budget:\n", "").replace("databases:\n", "")
    spelled = spelled.replace("  production:\n", "  production: {}\n").replace(
        "      web:\n", "      web: {}\n"
    )
    for key in ("env", "secrets", "profile", "size"):
        spelled = spelled.replace(f"    {key}:\n", "")
    assert json.loads(empty.out) == json.loads(cli("plan", str(write_spec(spelled)), "--output", "json").out)
