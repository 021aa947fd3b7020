"""The hand-written build-script gates (--static, --max-glibc, --arch), on real fixtures.

Expected values come from the fixtures' build recipes (fixtures/manifest.json), not from linkcheck."""

from __future__ import annotations

import pytest

from linkcheck.errors import UsageError
from linkcheck.facts.reader import analyze
from linkcheck.verdict.gates import arch_gate, max_glibc_gate, parse_glibc_version, static_gate

from conftest import FIXTURE_BIN, FIXTURES, load_manifest

MANIFEST = load_manifest()
ELF_FIXTURES = sorted(n for n, f in MANIFEST.items() if f.get("format") == "elf" and "linkage" in f)


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_static_gate_follows_the_recipe(name: str) -> None:
    expected = MANIFEST[name]["linkage"] in ("static", "static-pie")
    assert static_gate(analyze(FIXTURES / MANIFEST[name]["path"])).passed is expected


def test_max_glibc_gate_names_the_symbols_that_need_the_newer_version() -> None:
    analysis = analyze(FIXTURES / MANIFEST["c-glibc-new"]["path"])
    failed = max_glibc_gate(analysis, "2.31")
    assert not failed.passed
    assert "__libc_start_main@GLIBC_2.34" in failed.detail
    assert max_glibc_gate(analysis, "2.34").passed
    assert max_glibc_gate(analysis, "GLIBC_2.36").passed


def test_max_glibc_gate_passes_a_static_binary() -> None:
    assert max_glibc_gate(analyze(FIXTURES / MANIFEST["c-glibc-static"]["path"]), "2.17").passed


@pytest.mark.parametrize("text", ["two", "2", "2.x", "", "GLIBCXX_3.4"])
def test_bad_glibc_version_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_glibc_version(text)


def test_version_comparison_is_numeric_not_textual() -> None:
    assert parse_glibc_version("2.9") < parse_glibc_version("2.17")


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_arch_gate_follows_the_recipe(name: str) -> None:
    facts = MANIFEST[name]
    analysis = analyze(FIXTURES / facts["path"])
    assert arch_gate(analysis, facts["machine"], facts["docker_arch"]).passed
    other = "aarch64" if facts["machine"] != "aarch64" else "x86_64"
    assert not arch_gate(analysis, other, other).passed


def test_static_gate_counts_and_names_the_libraries_in_english() -> None:
    one = static_gate(analyze(str(FIXTURE_BIN / "c-glibc-dynamic")))
    assert not one.passed and one.detail.endswith("and 1 library (libc.so.6)")
    several = static_gate(analyze(str(FIXTURE_BIN / "cxx-glibc")))
    assert "libraries (" in several.detail and "libstdc++.so.6" in several.detail
