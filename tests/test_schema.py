"""The committed JSON Schema is valid, and is what scripts/make_schema.py derives from the model's enums."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from conftest import ROOT


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads((ROOT / "linkcheck/schema.json").read_text()))


def test_committed_schema_matches_the_model() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts/make_schema.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
