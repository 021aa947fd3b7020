"""load_target: built-in names and platforms, directories, archives, and the errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkcheck.errors import LinkcheckError, TargetError
from linkcheck.facts.arch import host_machine
from linkcheck.image.target import (
    ProfileFiles,
    builtin_targets,
    list_profiles,
    load_target,
)
from linkcheck.model import Libc


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alpine", "alpine:3.22"),
        ("alpine:latest", "alpine:3.22"),
        ("alpine:3.20.3", "alpine:3.20"),
        ("docker.io/library/alpine:3.19", "alpine:3.19"),
        ("library/debian:12-slim", "debian:bookworm-slim"),
        ("slim", "debian:bookworm-slim"),
        ("debian", "debian:bookworm-slim"),
        ("debian:12-slim", "debian:bookworm-slim"),
        ("debian:11-slim", "debian:bullseye-slim"),
        ("debian:trixie", "debian:trixie-slim"),
        ("ubuntu", "ubuntu:24.04"),
        ("ubuntu:jammy", "ubuntu:22.04"),
        ("busybox", "busybox:glibc"),
        ("busybox:musl", "busybox:musl"),
        ("scratch", "scratch"),
        ("distroless/static", "gcr.io/distroless/static-debian12"),
        ("distroless/base", "gcr.io/distroless/base-debian12"),
        ("distroless/cc", "gcr.io/distroless/cc-debian12"),
        ("gcr.io/distroless/cc-debian12:nonroot", "gcr.io/distroless/cc-debian12"),
        ("ALPINE:3.21", "alpine:3.21"),
        ("busybox:1.38.0-glibc", "busybox:glibc"),
        ("debian:12.8-slim", "debian:bookworm-slim"),
        ("debian:bookworm-20241111-slim", "debian:bookworm-slim"),
        ("ubuntu:noble-20240801", "ubuntu:24.04"),
    ],
)
def test_short_names_resolve(name: str, expected: str) -> None:
    assert load_target(name, "amd64").name == expected


@pytest.mark.parametrize("name", [
    "mirror.example:5000/library/alpine:3.19",  # another registry's "alpine" can be anything
    "localhost:5000/alpine:3.20",
    "alpine@sha256:" + "0" * 64,  # a digest pins one build; the profile was measured from another
    "docker://alpine:3.20",  # skopeo's prefix: the registry even for a built-in name
    "ghcr.io/owner/app:1",
])
def test_references_that_are_not_built_in_data_are_pulled(name: str, tmp_path: Path) -> None:
    from linkcheck.errors import NotCachedError
    from linkcheck.image.reference import RegistryOptions

    with pytest.raises(NotCachedError):  # --offline, empty cache: it went to the registry path
        load_target(name, "amd64", registry=RegistryOptions(offline=True, cache_dir=str(tmp_path)))


@pytest.mark.parametrize("platform", ["linux/arm64", "arm64", "aarch64", "linux/arm64/v8", "LINUX/ARM64"])
def test_platform_picks_the_architecture(platform: str) -> None:
    t = load_target("alpine:3.20", platform)
    assert t.machine == "aarch64" and t.docker_arch == "arm64"
    assert t.loaders == ("/lib/ld-musl-aarch64.so.1",)


def test_default_platform_is_the_host() -> None:
    if host_machine() not in ("x86_64", "aarch64"):
        pytest.skip("built-in profiles cover amd64 and arm64 only")
    assert load_target("debian").machine == host_machine()


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(TargetError) as info:
        load_target("alpnie:3.20", "amd64")
    message = str(info.value)
    assert "alpine:3.20" in message and "\n" not in message


def test_unsupported_architecture_is_a_target_error() -> None:
    with pytest.raises(TargetError) as info:
        load_target("alpine", "riscv64")
    assert "amd64" in str(info.value) and "arm64" in str(info.value)


def test_unknown_platform_is_a_linkcheck_error() -> None:
    with pytest.raises(LinkcheckError):
        load_target("alpine", "vax")
    with pytest.raises(LinkcheckError):
        load_target("alpine", "linux/vax")


def test_amd64_variants_are_amd64() -> None:
    assert load_target("alpine", "linux/amd64/v3").machine == "x86_64"


def test_profile_files_answer_from_the_profile() -> None:
    t = load_target("debian:bookworm-slim", "amd64")
    assert isinstance(t.files, ProfileFiles)
    lib = t.files.library("/lib/x86_64-linux-gnu/libc.so.6")
    assert lib is not None and lib.soname == "libc.so.6" and lib.exports is None
    assert lib.machine == "x86_64" and lib.elf_class == 64
    assert "GLIBC_2.34" in lib.version_definitions and "GLIBC_2.37" not in lib.version_definitions
    assert t.files.is_executable("/lib64/ld-linux-x86-64.so.2")
    assert t.files.library("/lib64/ld-linux-x86-64.so.2") is not None  # resolve reads the interpreter
    assert t.files.is_executable("/bin/sh") and t.files.exists("/usr/bin/env")
    assert not t.files.exists("/usr/bin/python3")
    assert t.files.library("/lib/x86_64-linux-gnu/libnothing.so.1") is None


def test_alpine_has_no_glibc_loader_and_no_libstdcxx() -> None:
    t = load_target("alpine", "amd64")
    assert t.libc is Libc.MUSL
    assert not t.files.exists("/lib64/ld-linux-x86-64.so.2")
    assert all(t.files.library(f"{d.path}/libstdc++.so.6") is None for d in t.search_dirs)


def test_builtin_targets_per_machine() -> None:
    arm = builtin_targets("arm64")
    assert arm and all(t.machine == "aarch64" for t in arm)
    # The OS images; the runtime images (eclipse-temurin ...) are listed but not in the default matrix.
    os_images = [p for p in list_profiles() if p.runtime is None]
    assert len(arm) == len(os_images)
    assert {t.name for t in builtin_targets("amd64")} == {p.name for p in os_images}


def _musl_root(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "lib/ld-musl-x86_64.so.1").write_bytes(b"not really")
    return root


def test_directory_target(tmp_path: Path) -> None:
    root = _musl_root(tmp_path / "root")
    t = load_target(str(root))
    assert t.name == str(root) and t.libc is Libc.MUSL and t.machine == "x86_64"
    with pytest.raises(TargetError) as info:
        load_target(str(root), "arm64")
    assert "x86_64" in str(info.value)


def test_directory_named_like_a_builtin_needs_dot_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _musl_root(tmp_path / "alpine")
    monkeypatch.chdir(tmp_path)
    assert load_target("alpine", "amd64").name == "alpine:3.22"
    assert load_target("./alpine").name == "./alpine"


def test_missing_path_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as info:
        load_target(str(tmp_path / "nope"))
    assert "no such" in str(info.value)


def test_archive_is_read_for_its_loaders_and_config(tmp_path: Path) -> None:
    from test_archive import docker_save, layer_tar

    archive = docker_save(tmp_path / "image.tar",
                          [layer_tar([("f", "lib/ld-musl-x86_64.so.1", b"not really")])])
    t = load_target(str(archive))
    assert t.libc is Libc.MUSL and t.name == str(archive) and t.path_env[-1] == "/bin"


def test_a_fifo_is_not_a_target(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(TargetError):
        load_target(str(tmp_path / "pipe"))


def test_a_root_without_loader_shell_or_libc_is_for_the_platform_asked_else_this_machine(tmp_path: Path
                                                                                          ) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_target(str(empty)).machine == host_machine()
    on_arm = load_target(str(empty), "linux/arm64")
    assert (on_arm.machine, on_arm.libc, on_arm.loaders) == ("aarch64", Libc.NONE, ())
    dangling = tmp_path / "dangling"
    (dangling / "lib64").mkdir(parents=True)
    (dangling / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    assert load_target(str(dangling), "linux/arm64").machine == "aarch64"


def test_builtin_targets_for_a_machine_without_profiles() -> None:
    assert builtin_targets("unknown-4711") == ()
    assert builtin_targets("riscv64") == ()


def test_profile_info_lines() -> None:
    infos = {p.name: p for p in list_profiles()}
    line = infos["alpine:3.20"].describe()
    assert "alpine:3.20" in line and "musl 1.2.5" in line and "\n" not in line
    d = infos["debian:bookworm-slim"].to_dict()
    assert d["libc"] == "glibc" and d["libc_version"] == "2.36" and "slim" in d["aliases"]
    assert {s["fact"] for s in d["sources"]} >= {"libc_version", "libraries"}


def test_an_unknown_name_is_hinted_within_its_own_repository() -> None:
    with pytest.raises(TargetError) as typo:
        load_target("alpne:3.20")
    assert "did you mean alpine:3.20" in str(typo.value)
    with pytest.raises(TargetError) as other:
        load_target("ruby:3.3-slim")  # no ruby profile (python:3.12-slim is one now)
    assert "debian" not in str(other.value) and "--list-targets" in str(other.value)
    assert "docker save" in str(other.value)


def test_a_profile_without_the_machine_asked_names_the_ones_it_has() -> None:
    with pytest.raises(TargetError) as info:
        load_target("alpine", "linux/s390x")
    assert "no built-in profile for s390x (profiles exist for amd64, arm64)" in str(info.value)


def test_a_target_path_that_is_a_loop_of_links_says_so(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "gone").symlink_to("nowhere")
    with pytest.raises(TargetError, match=r"/a: a loop of symbolic links$"):
        load_target(str(tmp_path / "a"))
    with pytest.raises(TargetError, match=r"/gone: a symbolic link to 'nowhere', which does not exist$"):
        load_target(str(tmp_path / "gone"))


# -- the container's environment ---------------------------------------------------------------------

def _glibc_image_files(with_lib_at: str) -> dict[str, bytes]:
    """The host's glibc loader and libc in Debian's places, and the fixtures' libfixture.so at
    ``with_lib_at``: a tiny glibc image where only LD_LIBRARY_PATH leads to libfixture.so."""
    from conftest import FIXTURE_BIN

    files = {}
    for name in ("ld-linux-x86-64.so.2", "libc.so.6"):
        host = next((Path(d) / name for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
                     if (Path(d) / name).is_file()), None)
        if host is None:
            pytest.skip(f"host {name} not found (an x86-64 Debian host is assumed)")
        files[f"lib/x86_64-linux-gnu/{name}"] = host.read_bytes()
    files["lib64/ld-linux-x86-64.so.2"] = files["lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"]
    files[f"{with_lib_at.strip('/')}/libfixture.so"] = (FIXTURE_BIN / "lib/libfixture.so").read_bytes()
    return files


def _docker_save(path: Path, files: dict[str, bytes], env: list[str]) -> Path:
    import io
    import json
    import tarfile

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": env},
              "rootfs": {"type": "layers", "diff_ids": []}}
    outer = {"cfg.json": json.dumps(config).encode(), "l0/layer.tar": layer.getvalue(),
             "manifest.json": json.dumps([{"Config": "cfg.json", "Layers": ["l0/layer.tar"]}]).encode()}
    with tarfile.open(path, "w") as tf:
        for name, data in outer.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_the_image_configs_env_is_the_targets_and_env_options_come_after(tmp_path: Path) -> None:
    """An image whose config sets LD_LIBRARY_PATH (CUDA, vendor SDK images): the loader finds the
    library there, and the replay says the directory came from the image config. --env set later wins."""
    from linkcheck.facts.reader import analyze
    from linkcheck.image.target import parse_env, with_env
    from linkcheck.model import EnvOrigin, Outcome
    from linkcheck.verdict.checks import check

    from conftest import FIXTURE_BIN

    archive = _docker_save(tmp_path / "img.tar", _glibc_image_files("/opt/vendor/lib"),
                           ["PATH=/usr/bin:/bin", "LD_LIBRARY_PATH=/opt/vendor/lib", "NOT_A_VARIABLE"])
    target = load_target(str(archive))
    var = target.getenv("LD_LIBRARY_PATH")
    assert var is not None and (var.value, var.origin) == ("/opt/vendor/lib", EnvOrigin.IMAGE_CONFIG)
    assert target.getenv("NOT_A_VARIABLE") is None and target.path_env == ("/usr/bin", "/bin")
    alone = tmp_path / "app"
    alone.mkdir()
    import shutil

    shutil.copy(FIXTURE_BIN / "c-runpath", alone / "c-runpath")  # without the lib/ its RUNPATH names
    program = analyze(str(alone / "c-runpath"))
    verdict = check(program, target)
    assert verdict.runs, verdict.explanation
    [fixture] = [lib for lib in verdict.loaded if lib.name == "libfixture.so"]
    assert fixture.path == "/opt/vendor/lib/libfixture.so"
    overridden = with_env(target, parse_env(["LD_LIBRARY_PATH=/nowhere"]))
    verdict = check(program, overridden)
    assert verdict.outcome is Outcome.MISSING_LIBRARY
    [step] = [s for s in verdict.problems[0].search if s.directory == "/nowhere"]
    assert step.reason == "LD_LIBRARY_PATH (--env)"
    without = _docker_save(tmp_path / "plain.tar", _glibc_image_files("/opt/vendor/lib"), ["PATH=/bin"])
    assert check(program, load_target(str(without))).outcome is Outcome.MISSING_LIBRARY


def test_env_options_read_as_docker_run_e_reads_them() -> None:
    from linkcheck.errors import UsageError
    from linkcheck.image.target import parse_env, with_env
    from linkcheck.model import EnvOrigin

    got = parse_env(["A=1", "B", "C", "D=x=y", "E="], host_env={"B": "from host"})
    assert [(v.name, v.value, v.origin) for v in got] == [
        ("A", "1", EnvOrigin.OPTION), ("B", "from host", EnvOrigin.OPTION), ("D", "x=y", EnvOrigin.OPTION),
        ("E", "", EnvOrigin.OPTION)]
    with pytest.raises(UsageError):
        parse_env(["=oops"])
    alpine = load_target("alpine:3.20", "amd64")
    moved = with_env(alpine, parse_env(["PATH=/opt/bin::/usr/bin", "PATH=/x"]))
    assert moved.path_env == ("/x",) and alpine.path_env != ("/x",)  # the last one wins
    assert moved.files is alpine.files
