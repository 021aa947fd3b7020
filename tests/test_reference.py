"""Image references: Docker's grammar, Docker Hub's defaults, skopeo's docker:// prefix."""

from __future__ import annotations

import pytest

from linkcheck.errors import TargetError
from linkcheck.image.reference import ImageReference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("text", "expected"), [
    ("alpine", ("docker.io", "library/alpine", "latest", None)),
    ("amazonlinux:2023", ("docker.io", "library/amazonlinux", "2023", None)),
    ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", None)),
    ("docker.io/library/alpine:3.21", ("docker.io", "library/alpine", "3.21", None)),
    ("docker://alpine:3.20", ("docker.io", "library/alpine", "3.20", None)),
    ("localhost:5000/base:1", ("localhost:5000", "base", "1", None)),
    ("localhost/base", ("localhost", "base", "latest", None)),
    (f"ghcr.io/owner/app@{DIGEST}", ("ghcr.io", "owner/app", None, DIGEST)),
    (f"ghcr.io/owner/app:1.2@{DIGEST}", ("ghcr.io", "owner/app", "1.2", DIGEST)),
    ("[::1]:5000/a/b:c", ("[::1]:5000", "a/b", "c", None)),
    ("registry.example.com/platform/base:2026.11",
     ("registry.example.com", "platform/base", "2026.11", None)),
])
def test_references_parse_as_docker_pull_reads_them(
        text: str, expected: tuple[str, str, str | None, str | None]) -> None:
    ref = parse_reference(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize("text", ["", "Alpine:3", "alpine:", "a@sha256:12", "a//b", "ghcr.io/", "x:y:z",
                                  "docker://", "-a/b", "a:" + "x" * 200])
def test_malformed_references_are_one_line_errors(text: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.9.9.9", True), ("[::1]:5000", True),
    ("localhost.example:5000", False), ("10.0.0.1:5000", False), ("ghcr.io", False),
])
def test_only_this_machine_counts_as_loopback(host: str, loopback: bool) -> None:
    assert ImageReference(host, "x", "1", None).is_loopback is loopback
