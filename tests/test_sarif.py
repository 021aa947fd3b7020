"""SARIF 2.1.0 output: the shape the specification requires, checked against a schema written here from
the specification's required properties (no download), and the content of results."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.image.rootfs import target_from_tree
from linkcheck.image.tree import DirectoryTree
from linkcheck.model import Outcome
from linkcheck.output.sarif import SARIF_VERSION, to_sarif
from linkcheck.scan import ScanResult, scan_paths

from conftest import FIXTURE_BIN

_MESSAGE = {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
            "properties": {"text": {"type": "string"}, "id": {"type": "string"}}}
# The parts of the SARIF 2.1.0 schema linkcheck's output uses: required properties, types and enums.
SARIF_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string"},
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id"],
                            "properties": {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "shortDescription": _MESSAGE,
                                "fullDescription": _MESSAGE,
                                "defaultConfiguration": {"type": "object", "properties": {
                                    "level": {"enum": ["none", "note", "warning", "error"]}}},
                            }}},
                    }}}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _MESSAGE,
                        "locations": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"physicalLocation": {
                                "type": "object",
                                "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
                                "properties": {"artifactLocation": {
                                    "type": "object", "properties": {"uri": {"type": "string"}}}},
                            }}}},
                        "partialFingerprints": {"type": "object",
                                                "additionalProperties": {"type": "string"}},
                        "properties": {"type": "object"},
                    }}},
            }}},
    },
}


def valid(log: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert "\n" not in result["message"]["text"]
    json.dumps(log)
    return log


def test_one_rule_per_problem_outcome() -> None:
    log = valid(to_sarif([], "0.1.0"))
    assert log["version"] == SARIF_VERSION
    ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {o.value for o in Outcome if o is not Outcome.RUNS} <= ids
    assert Outcome.RUNS.value not in ids
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["version"] == "0.1.0"


@pytest.fixture()
def scanned(tmp_path: Path) -> list[ScanResult]:
    root = tmp_path / "app"
    root.mkdir()
    for name in ("c-glibc-dynamic", "c-needs-missing", "go-static-arm64", "go-static"):
        shutil.copyfile(FIXTURE_BIN / name, root / name)
    target = target_from_tree(DirectoryTree("/"), "host")
    return list(scan_paths([str(root)], target=target, jobs=1))


def test_problems_become_error_results(scanned: list[ScanResult]) -> None:
    log = valid(to_sarif(scanned, "0.1.0"))
    results = log["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert set(by_rule) == {"missing-library", "wrong-architecture"}
    missing = by_rule["missing-library"]
    assert missing["level"] == "error"
    assert missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/c-needs-missing")
    assert "libfixturemissing.so" in missing["message"]["text"]
    assert by_rule["wrong-architecture"]["properties"]["target"] == "host"
    # Each problem is one result; files that run give none.
    wont_run = [r for r in scanned if r.runs is False]
    assert len(results) == sum(len(v.problems) for r in wont_run for v in r.verdicts)


def test_fingerprints_are_stable(scanned: list[ScanResult]) -> None:
    first = to_sarif(scanned, "0.1.0")["runs"][0]["results"]
    second = to_sarif(scanned, "0.1.0")["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]
    prints = [r["partialFingerprints"]["linkcheckProblem/v1"] for r in first]
    assert len(prints) == len(set(prints))


def test_unreadable_and_archive_members(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/_ext.so", (FIXTURE_BIN / "libhello-glibc.so").read_bytes())
    broken = tmp_path / "broken.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"[]"))
    broken.write_bytes(buf.getvalue())
    log = valid(to_sarif(scan_paths([str(wheel), str(broken), "relative/absent"], jobs=1), "0.1.0"))
    results = log["runs"][0]["results"]
    rules = [r["ruleId"] for r in results]
    assert rules.count("wheel-tag") == 1 and rules.count("unreadable") == 2
    tag = next(r for r in results if r["ruleId"] == "wheel-tag")
    assert tag["level"] == "error" and tag["properties"]["member"] == "demo/_ext.so"
    assert tag["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file://" + str(wheel)
    absent = next(r for r in results if r["properties"]["path"] == "relative/absent")
    assert absent["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "relative/absent"
