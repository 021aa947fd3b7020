"""Derived facts on the result types: minimum glibc, version ordering, Go build settings, JSON shape."""

from __future__ import annotations

import dataclasses
import json

from linkcheck.model import GoBuildInfo, SymbolImport, VersionNeed, glibc_version_key, version_key

from factories import analysis, elf


def test_min_glibc_is_the_numerically_highest_glibc_version() -> None:
    facts = elf(version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.9", "GLIBC_2.17", "GLIBC_PRIVATE")),
                               VersionNeed("libm.so.6", ("GLIBC_2.2.5",)),
                               VersionNeed("libstdc++.so.6", ("GLIBCXX_3.4.30",))))
    assert facts.min_glibc == "2.17"  # not "2.9", which sorts last as text


def test_min_glibc_is_none_without_glibc_versions() -> None:
    assert elf(version_needs=(VersionNeed("libgcc_s.so.1", ("GCC_3.0",)),)).min_glibc is None


def test_version_keys_stay_in_their_namespace() -> None:
    assert version_key("GLIBCXX_3.4.30", "GLIBCXX_") == (3, 4, 30)
    assert glibc_version_key("GLIBCXX_3.4.30") is None
    assert glibc_version_key("GLIBC_PRIVATE") is None
    assert glibc_version_key("GLIBC_2.") is None


def test_symbols_needing_a_version() -> None:
    facts = elf(imports=(SymbolImport("__libc_start_main", "GLIBC_2.34", "libc.so.6", False),
                         SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False)))
    assert facts.symbols_needing("GLIBC_2.34") == ("__libc_start_main",)


def test_go_settings() -> None:
    info = GoBuildInfo("go1.19.8", "example.com/app",
                       (("CGO_ENABLED", "1"), ("-tags", "netgo,osusergo"), ("GOARCH", "amd64")))
    assert info.cgo_enabled is True
    assert info.tags == ("netgo", "osusergo")
    assert GoBuildInfo("go1.19.8", None, ()).cgo_enabled is None


def test_analysis_json_names_each_symbol_under_its_version() -> None:
    facts = elf(imports=(SymbolImport("__libc_start_main", "GLIBC_2.34", "libc.so.6", False),
                         SymbolImport("frob", None, None, False)))
    out = json.loads(json.dumps(analysis(facts).to_dict()))
    assert out["versioned_symbols"] == {"GLIBC_2.34": ["__libc_start_main"]}
    assert out["version_needs"] == {"libc.so.6": ["GLIBC_2.2.5"]}


def test_results_are_frozen() -> None:
    facts = elf()
    try:
        facts.interpreter = "/x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        return
    raise AssertionError("ElfFacts must be immutable")
