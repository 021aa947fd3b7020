"""The built-in image profiles: valid, sourced, complete, consistent with independent measurements."""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from linkcheck.errors import TargetError
from linkcheck.image.target import FACTS, SOURCE_KINDS, load_profile_file, load_target
from linkcheck.model import Libc, Outcome, Target, version_key

from conftest import FIXTURE_BIN, ROOT, SHARED_ROOTFS, slow

PROFILES = ROOT / "linkcheck" / "image" / "profiles"
FAMILIES = ("scratch", "busybox", "alpine", "alpine-legacy", "debian", "ubuntu", "distroless", "amazonlinux")
RESEARCH = ROOT.parent / "shared" / "images" / "images.json"
IMAGES = (
    ["scratch", "busybox:glibc", "busybox:musl", "busybox:uclibc"]
    + [f"alpine:3.{n}" for n in range(18, 23)]
    + [f"debian:{s}-slim" for s in ("bullseye", "bookworm", "trixie")]
    + [f"ubuntu:{v}" for v in ("20.04", "22.04", "24.04")]
    + [f"gcr.io/distroless/{k}-debian12" for k in ("static", "base", "cc")]
    + ["alpine:3.9", "amazonlinux:2", "amazonlinux:2023"]  # derived (scripts/derive_profiles.py)
)


def all_targets() -> list[Target]:
    return [t for family in FAMILIES for t in load_profile_file(PROFILES / f"{family}.json")]


def highest(versions: tuple[str, ...] | list[str], namespace: str) -> tuple[int, ...] | None:
    keys = [k for k in (version_key(v, namespace + "_") for v in versions) if k is not None]
    return max(keys) if keys else None


def find_library(t: Target, soname: str) -> tuple[str, tuple[str, ...]] | None:
    """Where the loader would find ``soname`` in the profile's search dirs, and its versions."""
    for d in t.search_dirs:
        lib = t.files.library(posixpath.join(d.path, soname))
        if lib is not None:
            return lib.path, lib.version_definitions
    return None


def test_one_file_per_family_and_nothing_else() -> None:
    assert sorted(p.stem for p in PROFILES.glob("*.json")) == sorted([*FAMILIES, "index"])


def test_the_name_index_says_what_the_family_files_say() -> None:
    """`--target NAME` parses only the family file the index names: a stale index would miss an image."""
    from linkcheck.image.target import _builtin_images, profile_index

    index = json.loads((PROFILES / "index.json").read_text())
    assert index == profile_index(_builtin_images()), "run scripts/make_profile_index.py"


def test_a_name_parses_only_its_own_family_file() -> None:
    from linkcheck.image import target

    target._family_images.cache_clear()
    target._builtin_images.cache_clear()
    load_target("alpine", "linux/amd64")
    load_target("gcr.io/distroless/cc-debian12:nonroot", "linux/arm64")
    assert target._family_images.cache_info().currsize == 2  # alpine.json and distroless.json
    assert target._builtin_images.cache_info().currsize == 0


def test_every_image_and_architecture_present() -> None:
    have = {(t.name, t.docker_arch) for t in all_targets()}
    assert have == {(name, arch) for name in IMAGES for arch in ("amd64", "arm64")}


def test_runtime_files_are_known_with_a_source_where_measured_or_documented() -> None:
    """Ubuntu's and trixie's were neither measured nor derived from a root of the same package set:
    unknown, so no runtime findings there."""
    unknown = {"debian:trixie-slim", "ubuntu:20.04", "ubuntu:22.04", "ubuntu:24.04", "alpine:3.9",
               "amazonlinux:2", "amazonlinux:2023"}
    for image in IMAGES:
        for arch in ("amd64", "arm64"):
            t = load_target(image, arch)
            sources = {s.fact for s in t.sources}
            assert (t.runtime_files is None) == (image in unknown) == ("runtime_files" not in sources)


def test_every_fact_has_a_source() -> None:
    for t in all_targets():
        optional = ["runtime_files"] if t.runtime_files is not None else []
        # musl's own symbols, where measured for the image's musl version, come after the profile's facts.
        musl = t.libc is Libc.MUSL and t.files.library(t.loaders[0]) is not None and \
            t.files.library(t.loaders[0]).exports is not None  # type: ignore[union-attr]
        optional += ["musl_symbols"] if musl else []
        assert [s.fact for s in t.sources] == list(FACTS) + optional, t.name
        for s in t.sources:
            assert s.how in SOURCE_KINDS and s.where.strip(), (t.name, s)
            assert s.date is None or re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", s.date)


def test_glibc_version_is_the_highest_node_of_the_glibc_libraries() -> None:
    # images.md rule 1: the union over libc.so.6, libm.so.6, libpthread.so.0 ...
    for t in all_targets():
        if t.libc is not Libc.GLIBC:
            continue
        best = None
        for soname in ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"):
            found = find_library(t, soname)
            if found is not None:
                key = highest(found[1], "GLIBC")
                best = key if best is None or (key is not None and key > best) else best
        assert best is not None and t.libc_version == ".".join(map(str, best)), t.name


def test_loaders_are_libraries_and_match_the_libc() -> None:
    for t in all_targets():
        for loader in t.loaders:
            assert t.files.is_executable(loader), (t.name, loader)
            assert t.files.library(loader) is not None, (t.name, loader)
        if t.libc is Libc.GLIBC:
            canonical = {"x86_64": "/lib64/ld-linux-x86-64.so.2", "aarch64": "/lib/ld-linux-aarch64.so.1"}
            assert canonical[t.machine] in t.loaders, t.name
        elif t.libc is Libc.MUSL:
            assert f"/lib/ld-musl-{t.machine}.so.1" in t.loaders, t.name
        else:
            assert t.loaders == () and t.search_dirs == (), t.name


def test_glibc_images_have_libc_and_libm_in_their_search_dirs() -> None:
    for t in all_targets():
        if t.libc is Libc.GLIBC:
            for soname in ("libc.so.6", "libm.so.6", "libpthread.so.0"):
                assert find_library(t, soname) is not None, (t.name, soname)


def test_cxx_runtime_where_documented() -> None:
    with_cxx = {
        "debian:bullseye-slim",
        "debian:bookworm-slim",
        "debian:trixie-slim",
        "ubuntu:20.04",
        "ubuntu:22.04",
        "ubuntu:24.04",
        "gcr.io/distroless/cc-debian12",
        "amazonlinux:2",
        "amazonlinux:2023",
    }
    for t in all_targets():
        for soname in ("libstdc++.so.6", "libgcc_s.so.1"):
            assert (find_library(t, soname) is not None) == (t.name in with_cxx), (t.name, soname)


@pytest.mark.skipif(not RESEARCH.is_file(), reason="shared/images/images.json is absent")
def test_agrees_with_the_researched_facts() -> None:
    """The independently researched maxima and soname sets (shared/images/images.json, measured with
    readelf by someone else) agree with the profiles, for the images both measured."""
    research = {r["image"]: r for r in json.loads(RESEARCH.read_text())["images"]}
    sonames_of = {"libc.so.6": "GLIBC", "libstdc++.so.6": "GLIBCXX", "libgcc_s.so.1": "GCC"}
    for name in (
        "debian:bullseye-slim",
        "debian:bookworm-slim",
        "debian:trixie-slim",
        "busybox:glibc",
        "gcr.io/distroless/base-debian12",
        "gcr.io/distroless/cc-debian12",
    ):
        rec = research[name]
        for arch, key in (("amd64", "max_symbol_versions"), ("arm64", "max_symbol_versions_aarch64")):
            if key not in rec:
                continue
            t = load_target(name, arch)
            maxima = rec[key]
            assert t.libc_version == maxima["GLIBC"], (name, arch)
            for soname, ns in sonames_of.items():
                found = find_library(t, soname)
                if ns in maxima and ns != "GLIBC":
                    assert found is not None
                    assert highest(found[1], ns) == version_key(f"{ns}_{maxima[ns]}", ns + "_"), (
                        name,
                        arch,
                        ns,
                    )
        t = load_target(name, "amd64")
        names = {lib for lib in rec["sonames"]}
        have = {posixpath.basename(p) for d in t.search_dirs for p in _lib_paths(t, d.path)}
        assert names <= have | {"ld-linux-x86-64.so.2"}, (name, names - have)


def _lib_paths(t: Target, directory: str) -> list[str]:
    files = t.files
    mapping = getattr(files, "libraries", {})
    return [p for p in mapping if posixpath.dirname(p) == directory]


def fixture_verdicts(target: Target) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each runnable fixture's verdict on ``target``: outcome and the subjects of its problems."""
    from linkcheck import check

    out = {}
    for path in sorted(FIXTURE_BIN.iterdir()):
        if path.is_file() and path.name != "truncated-elf":
            verdict = check(path, target)
            out[path.name] = (verdict.outcome.value, tuple(p.subject for p in verdict.problems))
    return out


@pytest.mark.parametrize(
    ("image", "profile"),
    [
        ("alpine-3.20.3-x86_64.tar.gz", "alpine:3.20"),
        ("busybox-1.38.0-glibc-amd64-oci", "busybox:glibc"),
        ("busybox-latest-musl-amd64.tar.gz", "busybox:musl"),
        ("busybox-latest-uclibc-amd64.tar.gz", "busybox:uclibc"),
    ],
)
def test_profile_gives_the_verdicts_the_real_image_gives(image: str, profile: str) -> None:
    """Every fixture judged against the profile and against the real image (read from its archive)
    gets the same outcome and the same problems: the profile holds what the verdicts need."""
    if not (SHARED_ROOTFS / image).exists():
        pytest.skip(f"shared image {image} (../shared/rootfs) is absent")
    real = load_target(str(SHARED_ROOTFS / image))
    built_in = load_target(profile, "amd64")
    assert set(real.loaders) == set(built_in.loaders)
    assert real.libc is built_in.libc and real.libc_version == built_in.libc_version
    assert [(d.path, d.kind) for d in real.search_dirs] == [(d.path, d.kind) for d in built_in.search_dirs]
    assert fixture_verdicts(real) == fixture_verdicts(built_in)
    assert real.runtime_files == built_in.runtime_files


# -- strict validation --------------------------------------------------------------------------------


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


def _base() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PROFILES / "alpine.json").read_text())
    return data


def _mutations() -> list[tuple[str, Any]]:
    def unknown_top(d: Any) -> None:
        d["extra"] = 1

    def unknown_platform_key(d: Any) -> None:
        d["images"][0]["platforms"][0]["shells"] = []

    def wrong_type(d: Any) -> None:
        d["images"][0]["platforms"][0]["loaders"] = "/lib/ld-musl-x86_64.so.1"

    def bad_libc(d: Any) -> None:
        d["images"][0]["platforms"][0]["libc"] = "glibc-ish"

    def missing_source(d: Any) -> None:
        del d["images"][0]["platforms"][0]["sources"]["libraries"]

    def bad_how(d: Any) -> None:
        d["images"][0]["platforms"][0]["sources"]["libc"]["how"] = "guessed"

    def relative_path(d: Any) -> None:
        d["images"][0]["platforms"][0]["libraries"][0]["paths"] = ["lib/libz.so.1"]

    def bool_size(d: Any) -> None:
        d["images"][0]["platforms"][0]["size_bytes"] = True

    def wrong_format(d: Any) -> None:
        d["format"] = "linkcheck-profiles/0"

    def unprobed_runtime_file(d: Any) -> None:
        d["images"][0]["platforms"][0]["runtime_files"] = ["/etc/shadow"]

    def runtime_files_without_source(d: Any) -> None:
        del d["images"][0]["platforms"][0]["sources"]["runtime_files"]

    return [
        ("runtime_files", unprobed_runtime_file),
        ("runtime_files", runtime_files_without_source),
        ("extra", unknown_top),
        ("shells", unknown_platform_key),
        ("loaders", wrong_type),
        ("libc", bad_libc),
        ("libraries", missing_source),
        ("how", bad_how),
        ("paths", relative_path),
        ("size_bytes", bool_size),
        ("format", wrong_format),
    ]


@pytest.mark.parametrize(("key", "mutate"), _mutations(), ids=[k for k, _ in _mutations()])
def test_invalid_profile_is_a_one_line_target_error(tmp_path: Path, key: str, mutate: Any) -> None:
    data = copy.deepcopy(_base())
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(TargetError) as info:
        load_profile_file(path)
    message = str(info.value)
    assert "\n" not in message and "broken.json" in message and key in message


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(TargetError, match="bad.json"):
        load_profile_file(path)
    with pytest.raises(TargetError, match="absent.json"):
        load_profile_file(tmp_path / "absent.json")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(TargetError, match="deep.json"):
        load_profile_file(deep)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(TargetError, match="latin.json"):
        load_profile_file(latin)


# -- against a fresh debootstrap ------------------------------------------------------------------------


def debian_mirror() -> str | None:
    """The Debian archive this machine's apt uses (one-line or deb822 sources), read at run time."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in (".list", ".sources", ""):
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        for line in text.splitlines():
            m = re.match(r"\s*(?:URIs:|deb\s+(?:\[[^\]]*\]\s+)?)\s*(\S+)", line)
            if m and "security" not in m.group(1) and "debian" in m.group(1):
                return m.group(1)
    return None


@slow
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("debootstrap") is None, reason="needs root and debootstrap"
)
@pytest.mark.parametrize("suite", ["bullseye", "bookworm", "trixie"])
def test_debian_profile_agrees_with_a_fresh_debootstrap(tmp_path: Path, suite: str) -> None:
    from linkcheck.image.rootfs import target_from_tree
    from linkcheck.image.tree import DirectoryTree

    mirror = debian_mirror()
    if mirror is None:
        pytest.skip("no Debian mirror in the apt sources")
    root = tmp_path / suite
    merged = "--no-merged-usr" if suite == "bullseye" else "--merged-usr"
    run = subprocess.run(
        ["debootstrap", "--variant=minbase", merged, "--arch=amd64", suite, str(root), mirror],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if run.returncode != 0:
        # The mirror or the network, not linkcheck: nothing to compare against.
        pytest.skip(f"debootstrap {suite} failed: {(run.stdout + run.stderr)[-300:]}")
    fresh = target_from_tree(DirectoryTree(root), suite)
    profile = load_target(f"debian:{suite}-slim", "amd64")
    assert fixture_verdicts(fresh) == fixture_verdicts(profile)
    assert set(fresh.loaders) == set(profile.loaders)
    assert fresh.libc_version == profile.libc_version
    assert [d.path for d in fresh.search_dirs] == [d.path for d in profile.search_dirs]
    for soname, ns in (
        ("libc.so.6", "GLIBC"),
        ("libm.so.6", "GLIBC"),
        ("libstdc++.so.6", "GLIBCXX"),
        ("libstdc++.so.6", "CXXABI"),
        ("libgcc_s.so.1", "GCC"),
    ):
        want = find_library(profile, soname)
        got = find_library(fresh, soname)
        assert want is not None and got is not None, soname
        assert want[0] == got[0], soname
        assert highest(got[1], ns) == highest(want[1], ns), (soname, ns)


# -- the measuring script ---------------------------------------------------------------------------------


@pytest.mark.skipif(
    not Path("/lib/x86_64-linux-gnu/libc.so.6").is_file(), reason="needs a Debian x86_64 host glibc"
)
def test_measure_script_entry_validates_and_lists_what_the_root_has(tmp_path: Path) -> None:
    import sys

    from linkcheck.image.target import PROFILE_FORMAT, parse_profile

    root = tmp_path / "root"
    lib = root / "lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name in ("ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6"):
        shutil.copyfile(f"/lib/x86_64-linux-gnu/{name}", lib / name)
    (root / "lib64").mkdir()
    (root / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (root / "bin").mkdir()
    (root / "bin/tool").write_text("#!/bin/sh\n")
    (root / "bin/tool").chmod(0o755)
    (root / "bin/readme").write_text("not executable\n")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/measure_rootfs.py"),
            "measure",
            str(root),
            "--where",
            "a test root",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entry = json.loads(out)
    assert entry["machine"] == "x86_64" and entry["libc"] == "glibc"
    assert entry["runtime_files"] == ["/etc/passwd"]
    assert set(entry["loaders"]) == {
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    }
    sonames = {e["soname"]: e for e in entry["libraries"]}
    assert set(sonames) == {"ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6"}
    assert "/lib64/ld-linux-x86-64.so.2" in sonames["ld-linux-x86-64.so.2"]["paths"]
    assert "GLIBC_2.2.5" in sonames["libc.so.6"]["versions"]
    assert entry["programs"] == ["/bin/tool"]
    assert entry["size_bytes"] == sum(
        p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()
    )
    del entry["notes"]
    document = {
        "format": PROFILE_FORMAT,
        "family": "test",
        "description": "a test",
        "images": [{"name": "t", "aliases": [], "description": "t", "platforms": [entry]}],
    }
    (image,) = parse_profile(document, "test.json")
    assert image.targets[0].libc_version == entry["libc_version"]


def test_built_in_musl_images_know_musls_symbols_as_a_root_does(tmp_path: Path) -> None:
    """A glibc library loaded by musl (a manylinux wheel, a glibc Node addon on alpine) fails on symbols
    glibc has and musl lacks; the built-in alpine images know musl's symbols (measured, with a source)
    and judge it as the real alpine root does."""
    from linkcheck.facts.reader import analyze
    from linkcheck.verdict.checks import check

    root = SHARED_ROOTFS / "alpine-3.20.3-x86_64.tar.gz"
    if not root.exists():
        pytest.skip("the shared alpine root is absent")
    built_in, real = load_target("alpine:3.20", "amd64"), load_target(str(root))
    loader = "/lib/ld-musl-x86_64.so.1"
    # Every built-in alpine's musl has its list, equal to its real root's where that root is at hand.
    for image, rootfs in (("alpine:3.18", "alpine-3.18.9"), ("alpine:3.19", "alpine-3.19.4"),
                          ("alpine:3.20", "alpine-3.20.3"), ("alpine:3.21", None), ("alpine:3.22", None)):
        listed = load_target(image, "amd64").files.library(loader).exports  # type: ignore[union-attr]
        assert listed is not None, image
        older = SHARED_ROOTFS / f"{rootfs}-x86_64.tar.gz"
        if rootfs is not None and older.exists():
            assert listed == load_target(str(older)).files.library(loader).exports, image  # type: ignore[union-attr]
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    source = tmp_path / "fortified.c"
    source.write_text("#include <stdio.h>\nvoid say(int n) { printf(\"%d\\n\", n); }\n")
    built = tmp_path / "libfortified.so"
    subprocess.run(["gcc", "-O2", "-D_FORTIFY_SOURCE=2", "-shared", "-fPIC", "-o", str(built), str(source)],
                   check=True)
    library = analyze(built)
    assert "__printf_chk" in {s.name for s in library.elf.imports}  # type: ignore[union-attr]
    verdicts = [check(library, t) for t in (built_in, real)]
    assert [(p.kind, p.subject) for p in verdicts[0].problems] == [(Outcome.MISSING_SYMBOL, "__printf_chk")]
    assert [(p.kind, p.subject) for p in verdicts[1].problems] == [(Outcome.MISSING_SYMBOL, "__printf_chk")]
    assert verdicts[0].message == "Error relocating /app/libfortified.so: __printf_chk: symbol not found"


def test_derived_profiles_are_what_the_derive_script_writes(tmp_path: Path) -> None:
    """amazonlinux.json and alpine-legacy.json are not edited by hand: scripts/derive_profiles.py writes them
    from the measured profiles, so a change to those (or to the script) shows here."""
    subprocess.run([sys.executable, str(ROOT / "scripts/derive_profiles.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("amazonlinux.json", "alpine-legacy.json"):
        assert (tmp_path / name).read_text() == (PROFILES / name).read_text(), name
