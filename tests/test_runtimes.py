"""image.runtimes: runtime profiles (data with sources, on a base OS profile, loaded one family at a time)
and runtimes read from root filesystems (the JRE's release file, where `java` on PATH leads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linkcheck.errors import TargetError
from linkcheck.image import runtimes
from linkcheck.image.runtimes import (
    RUNTIME_FACTS,
    all_runtime_images,
    detect_java,
    java_release_of,
    parse_release_file,
    parse_runtime_profile,
)
from linkcheck.image.target import find_profile_image, list_profiles, load_target
from linkcheck.image.tree import DirectoryTree
from linkcheck.model import Libc, RuntimeKind

from conftest import ROOT

WANTED = [f"eclipse-temurin:{n}-{k}-noble" for n in (8, 11, 17, 21, 25) for k in ("jre", "jdk")] + [
    f"eclipse-temurin:{n}-jre-alpine-3.22" for n in (8, 11, 17, 21, 25)] + [
    f"amazoncorretto:{n}-alpine3.22" for n in (8, 11, 17, 21)] + [
    f"amazoncorretto:{v}{s}" for v in ("8u492", "11.0.31", "17.0.19", "21.0.11") for s in ("", "-al2023")] + [
    "openjdk:8-jre-alpine", "openjdk:11-jre", "openjdk:11-jre-slim", "gcr.io/distroless/java17-debian12",
    "gcr.io/distroless/java21-debian12"] + [
    f"node:{n}-{v}" for n in (18, 20, 22, 24) for v in ("bookworm", "bookworm-slim")] + [
    "node:18-alpine3.21", "node:20-alpine3.22", "node:22-alpine3.22", "node:24-alpine3.22",
    "gcr.io/distroless/nodejs20-debian12", "gcr.io/distroless/nodejs22-debian12"] + [
    f"python:3.{m}-{v}" for m in (9, 10, 11, 12, 13)
    for v in ("slim-bookworm", "slim-trixie", "bookworm", "alpine3.22")] + [
    "gcr.io/distroless/python3-debian12"]
# NODE_MODULE_VERSION of each Node.js release line (nodejs/node doc/abi_version_registry.json).
NODE_ABI = {18: 108, 20: 115, 22: 127, 24: 137}


def test_every_runtime_image_builds_on_an_os_profile_and_cites_its_facts() -> None:
    images = all_runtime_images()
    assert sorted(WANTED) == sorted(im.name for im in images)
    for im in images:
        assert find_profile_image(im.base) is not None, im.base
        assert {s.fact for s in im.sources} == set(RUNTIME_FACTS)
        assert all(s.where and s.how in ("measured", "documented", "inferred") for s in im.sources)
        assert str(im.runtime.release) in im.name or im.family == "distroless-python"
        if im.runtime.kind is RuntimeKind.NODE:
            assert im.runtime.abi == NODE_ABI[im.runtime.release]
        elif im.runtime.kind is RuntimeKind.PYTHON:
            assert im.runtime.command.endswith(f"/python3.{im.runtime.release}")
        else:
            assert im.runtime.kind is RuntimeKind.JAVA and im.runtime.abi is None
        assert im.runtime.command.startswith(im.runtime.home or "/"), im.name
        # The command is on the image's PATH (its directory or a program listed), except distroless
        # nodejs, whose entrypoint names /nodejs/bin/node.
        dirs = {os.path.dirname(p) for p in (im.runtime.command, *im.programs)}
        assert dirs & set(im.path_env) or im.family == "distroless-nodejs", im.name


def test_moving_tags_say_what_they_stood_for_and_when() -> None:
    target = load_target("eclipse-temurin:17-jre", "amd64")
    assert target.name == "eclipse-temurin:17-jre"
    assert "stood for eclipse-temurin:17.0.20_8-jre-resolute on 2026-08-21" in target.description
    runtime = target.runtime(RuntimeKind.JAVA)
    assert runtime is not None and runtime.release == 17 and runtime.max_class_major == 61


def test_runtime_target_is_its_base_plus_the_runtime() -> None:
    base = load_target("ubuntu:24.04", "amd64")
    temurin = load_target("eclipse-temurin:21-jre-noble", "amd64")
    assert (temurin.libc, temurin.libc_version) == (base.libc, base.libc_version)
    assert temurin.loaders == base.loaders
    assert temurin.path_env[0] == "/opt/java/openjdk/bin"
    assert temurin.files.is_executable("/opt/java/openjdk/bin/java")
    assert not base.files.exists("/opt/java/openjdk/bin/java")
    alpine = load_target("eclipse-temurin:17-jre-alpine-3.22", "amd64")
    assert alpine.libc is Libc.MUSL


def test_per_architecture_paths_follow_the_platform() -> None:
    arm = load_target("gcr.io/distroless/java17-debian12", "arm64")
    runtime = arm.runtime(RuntimeKind.JAVA)
    assert runtime is not None and runtime.command == "/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
    assert arm.machine == "aarch64" and arm.files.is_executable("/usr/bin/java")


def test_naming_one_runtime_image_reads_one_family_file(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = runtimes._read_json

    def spy(name: str) -> object:
        read.append(name)
        return real(name)

    monkeypatch.setattr(runtimes, "_read_json", spy)
    load_target("amazoncorretto:17-alpine3.22", "amd64")
    assert read == ["index.json", "amazoncorretto.json"]


def test_bad_runtime_profile_is_one_line_naming_file_and_key() -> None:
    good = json.loads((ROOT / "linkcheck/image/runtime_profiles/openjdk.json").read_text())
    parse_runtime_profile(good, "openjdk.json")
    bad = json.loads(json.dumps(good))
    bad["images"][0]["runtime"]["colour"] = "blue"
    with pytest.raises(TargetError, match=r"^runtime profile x\.json: images\[0\]\.runtime\.colour: unknown"):
        parse_runtime_profile(bad, "x.json")
    bad = json.loads(json.dumps(good))
    del bad["images"][0]["sources"]["runtime"]
    with pytest.raises(TargetError, match=r"sources\.runtime: missing"):
        parse_runtime_profile(bad, "x.json")


def test_list_targets_groups_images_by_family() -> None:
    families = [p.family for p in list_profiles()]
    # Each family's images are listed together.
    assert len(set(families)) == len([f for i, f in enumerate(families) if i == 0 or families[i - 1] != f])
    out = subprocess.run([sys.executable, "-m", "linkcheck", "--list-targets"], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert "\neclipse-temurin:\n" in out
    assert ("  eclipse-temurin:17-jre-noble (eclipse-temurin:17-jre as of 2026-08-21): java 17.0.20+8, "
            "amd64,arm64, glibc 2.39, 263.9 MB") in out


@pytest.mark.parametrize(("text", "release"), [("17.0.19", 17), ("1.8.0_392", 8), ("21", 21),
                                                ("25-ea", 25), ("11.0.14", 11), ("junk", None)])
def test_java_release_of_a_version(text: str, release: int | None) -> None:
    assert java_release_of(text) == release


def _jre(root: Path, home: str, version: str, link: str | None = "/usr/bin/java") -> None:
    bindir = root / home.lstrip("/") / "bin"
    bindir.mkdir(parents=True)
    (bindir / "java").write_bytes(b"\x7fELF")
    (bindir / "java").chmod(0o755)
    (root / home.lstrip("/") / "release").write_text(f'IMPLEMENTOR="Debian"\nJAVA_VERSION="{version}"\n')
    if link:
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        (root / "etc/alternatives").mkdir(parents=True, exist_ok=True)
        os.symlink("/etc/alternatives/java", root / link.lstrip("/"))
        os.symlink(f"{home}/bin/java", root / "etc/alternatives/java")


def test_java_on_path_is_followed_to_its_release_file(tmp_path: Path) -> None:
    """Debian's layout: /usr/bin/java -> /etc/alternatives/java -> the JRE."""
    _jre(tmp_path, "/usr/lib/jvm/java-17-openjdk-amd64", "17.0.19")
    java = detect_java(DirectoryTree(str(tmp_path)), ("/usr/local/bin", "/usr/bin"))
    assert java is not None and (java.version, java.release, java.vendor) == ("17.0.19", 17, "Debian")
    assert java.command == "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"


def test_the_first_java_on_path_wins(tmp_path: Path) -> None:
    _jre(tmp_path, "/usr/lib/jvm/java-11", "11.0.21")
    _jre(tmp_path, "/opt/java/openjdk", "21.0.5", link=None)
    tree = DirectoryTree(str(tmp_path))
    java = detect_java(tree, ("/opt/java/openjdk/bin", "/usr/bin"))
    assert java is not None and java.release == 21
    java = detect_java(tree, ("/usr/bin", "/opt/java/openjdk/bin"))
    assert java is not None and java.release == 11


def test_jdk8_jre_layout_reads_the_jdk_release(tmp_path: Path) -> None:
    jre_bin = tmp_path / "opt/jdk8/jre/bin"
    jre_bin.mkdir(parents=True)
    (jre_bin / "java").write_bytes(b"\x7fELF")
    (jre_bin / "java").chmod(0o755)
    (tmp_path / "opt/jdk8/release").write_text('JAVA_VERSION="1.8.0_392"\n')
    java = detect_java(DirectoryTree(str(tmp_path)), ("/opt/jdk8/jre/bin",))
    assert java is not None and java.release == 8 and java.home == "/opt/jdk8"


def test_a_java_that_is_not_executable_is_not_a_runtime(tmp_path: Path) -> None:
    _jre(tmp_path, "/usr/lib/jvm/x", "17", link=None)
    (tmp_path / "usr/lib/jvm/x/bin/java").chmod(0o644)
    assert detect_java(DirectoryTree(str(tmp_path)), ("/usr/lib/jvm/x/bin",)) is None


def test_release_file_lines() -> None:
    assert parse_release_file('JAVA_VERSION="25.0.3"\nIMPLEMENTOR="Eclipse Adoptium"\nnoise\n') == {
        "JAVA_VERSION": "25.0.3", "IMPLEMENTOR": "Eclipse Adoptium"}


def test_node_alpine_adds_the_libraries_node_needs() -> None:
    """node's musl build needs libstdc++ and libgcc_s, which docker-node adds to alpine: an addon that
    needs libgcc_s.so.1 loads on node:22-alpine3.22 but not on alpine:3.22."""
    node = load_target("node:22-alpine3.22", "amd64")
    assert node.files.library("/usr/lib/libgcc_s.so.1") is not None
    assert load_target("alpine:3.22", "amd64").files.library("/usr/lib/libgcc_s.so.1") is None
    runtime = node.runtime(RuntimeKind.NODE)
    assert runtime is not None and (runtime.version, runtime.abi) == ("22.22.2", 127)


def test_node_read_from_official_layout(tmp_path: Path) -> None:
    """The official tarball's layout: PREFIX/bin/node beside PREFIX/include/node/node_version.h."""
    (tmp_path / "usr/local/bin").mkdir(parents=True)
    (tmp_path / "usr/local/include/node").mkdir(parents=True)
    node = tmp_path / "usr/local/bin/node"
    node.write_bytes(b"\x7fELF")
    node.chmod(0o755)
    (tmp_path / "usr/local/include/node/node_version.h").write_text(
        "#define NODE_MAJOR_VERSION 20\n#define NODE_MINOR_VERSION 18\n#define NODE_PATCH_VERSION 1\n"
        "#define NODE_MODULE_VERSION 115\n")
    found = runtimes.detect_node(DirectoryTree(str(tmp_path)), ("/usr/local/bin", "/usr/bin"))
    assert found is not None and (found.version, found.release, found.abi) == ("20.18.1", 20, 115)
