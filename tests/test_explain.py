"""Message, explanation and fix builders: each pinned to the wording the real tool prints."""

from __future__ import annotations

import dataclasses

import pytest

from linkcheck.image.target import builtin_catalogue
from linkcheck.model import CatalogueImage, Language, Libc, Toolchain
from linkcheck.verdict import explain
from linkcheck.verdict.explain import Shell

from factories import DictFiles, elf, empty_target, glibc_target, musl_target

BUILTIN = builtin_catalogue()


@pytest.mark.parametrize(
    ("files", "shell"),
    [
        (["/bin/bash", "/bin/sh"], Shell.BASH),
        (["/bin/busybox", "/bin/sh"], Shell.ASH),
        (["/bin/sh"], Shell.DASH),
        ([], Shell.NONE),
    ],
)
def test_shell_of_picks_what_the_image_has(files: list[str], shell: Shell) -> None:
    assert explain.shell_of(dataclasses.replace(glibc_target(), files=DictFiles(existing=files))) is shell


def test_bash_before_glibc_236_is_older_bash() -> None:
    files = DictFiles(existing=["/bin/bash"])
    old = dataclasses.replace(glibc_target(libc_version="2.35"), files=files)
    assert explain.shell_of(old) is Shell.OLD_BASH
    assert explain.shell_not_found(Shell.OLD_BASH, "/app/x") == "bash: /app/x: No such file or directory"
    line = explain.shell_bad_interpreter(Shell.OLD_BASH, "/app/run.sh", "/bin/sh\r")
    assert line == "bash: /app/run.sh: /bin/sh^M: bad interpreter: No such file or directory"
    new = dataclasses.replace(glibc_target(libc_version="2.36"), files=files)
    assert explain.shell_of(new) is Shell.BASH


def test_shell_not_found_wording() -> None:
    assert explain.shell_not_found(Shell.ASH, "/app/x") == "sh: /app/x: not found"
    assert explain.shell_not_found(Shell.DASH, "/app/x") == "sh: 1: /app/x: not found"
    bash = explain.shell_not_found(Shell.BASH, "/app/x")
    assert bash == "bash: /app/x: cannot execute: required file not found"


def test_missing_script_interpreter_in_bash_52_is_required_file_not_found() -> None:
    line = explain.shell_bad_interpreter(Shell.BASH, "/app/run.sh", "/bin/bash\r")
    assert line == "bash: /app/run.sh: cannot execute: required file not found"
    dash = explain.shell_bad_interpreter(Shell.DASH, "/app/run.sh", "/bin/bash")
    assert dash == "sh: 1: /app/run.sh: not found"


def test_env_wording_busybox_and_coreutils() -> None:
    busybox = explain.env_not_found("/usr/bin/env", "bash", True)
    assert busybox == "env: can't execute 'bash': No such file or directory"
    coreutils = explain.env_not_found("/usr/bin/env", "bash", False)
    assert coreutils == "/usr/bin/env: 'bash': No such file or directory"


def test_loader_lines() -> None:
    assert explain.musl_missing_library("libz.so.1", "No such file or directory", "/app/x") == (
        "Error loading shared library libz.so.1: No such file or directory (needed by /app/x)")
    assert explain.glibc_missing_version("/app/x", "/lib/libc.so.6", "GLIBC_2.34", "/app/x") == (
        "/app/x: /lib/libc.so.6: version `GLIBC_2.34' not found (required by /app/x)")
    assert explain.glibc_undefined_symbol("/app/x", "/app/x", "f", "GLIBC_2.4").endswith(
        "undefined symbol: f, version GLIBC_2.4")


def test_highest_compares_numbers_not_text() -> None:
    versions = ["GLIBC_2.2.5", "GLIBC_2.9", "GLIBC_2.10", "GLIBCXX_3.4.30", "GLIBC_PRIVATE"]
    assert explain.highest(versions, "GLIBC_") == "GLIBC_2.10"
    assert explain.highest(versions, "GLIBCXX_") == "GLIBCXX_3.4.30"
    assert explain.highest(versions, "CXXABI_") is None


def test_namespace_of() -> None:
    assert explain.namespace_of("GLIBCXX_3.4.30") == "GLIBCXX_"
    assert explain.namespace_of("GCC_12.0.0") == "GCC_"
    assert explain.namespace_of("OPENSSL_3.0.0") == "OPENSSL_"


@pytest.mark.parametrize(
    ("machine", "libc", "triple"),
    [
        ("x86_64", Libc.MUSL, "x86_64-unknown-linux-musl"),
        ("aarch64", Libc.GLIBC, "aarch64-unknown-linux-gnu"),
        ("armhf", Libc.MUSL, "armv7-unknown-linux-musleabihf"),
        ("i386", Libc.GLIBC, "i686-unknown-linux-gnu"),
        ("s390x", Libc.GLIBC, None),
    ],
)
def test_rust_target(machine: str, libc: Libc, triple: str | None) -> None:
    assert explain.rust_target(machine, libc) == triple


def test_package_hint_by_package_manager() -> None:
    alpine = musl_target()
    debian = glibc_target(existing=["/usr/bin/apt-get"])
    distroless = glibc_target()
    assert explain.package_hint("libgcc_s.so.1", alpine) is not None
    assert "apk add --no-cache libgcc" in (explain.package_hint("libgcc_s.so.1", alpine) or "")
    assert "apt-get install -y libstdc++6" in (explain.package_hint("libstdc++.so.6", debian) or "")
    # No apt-get in the image: name the package, do not tell to run a tool that is not there.
    hint = explain.package_hint("libssl.so.3", distroless) or ""
    assert "libssl3" in hint and "apt-get" not in hint
    assert explain.package_hint("libunheard.so.9", debian) is None
    assert explain.package_hint("libz.so.1", empty_target()) is None


def test_version_fixes_name_a_new_enough_image() -> None:
    fixes = explain.version_fixes("GLIBC_2.38", "GLIBC_2.36", elf(), glibc_target(libc_version="2.36"),
                                  BUILTIN)
    assert any("<= 2.36" in f for f in fixes)
    newer = [f for f in fixes if "newer image" in f]
    assert newer == ["or run it on a newer image: ubuntu:24.04"]  # 2.39 is the first known >= 2.38
    fixes = explain.version_fixes("GLIBCXX_3.4.31", "GLIBCXX_3.4.30", elf(), glibc_target(), BUILTIN)
    assert any("-static-libstdc++" in f for f in fixes)
    assert any("ubuntu:24.04" in f for f in fixes)


def test_loader_fixes_per_toolchain() -> None:
    go = explain.loader_fixes(elf(toolchain=Toolchain(Language.GO)), empty_target(), BUILTIN)
    assert go[0].endswith("CGO_ENABLED=0 go build")
    cxx = explain.loader_fixes(elf(needed=("libstdc++.so.6", "libc.so.6")), empty_target(), BUILTIN)
    assert any("gcr.io/distroless/cc-debian12" in f for f in cxx)
    c = explain.loader_fixes(elf(), empty_target(), BUILTIN)
    assert any("gcr.io/distroless/base-debian12" in f for f in c)
    assert not any("gcompat" in f for f in c)
    on_alpine = explain.loader_fixes(elf(), musl_target(), BUILTIN)
    assert any("gcompat" in f and "Error relocating" in f for f in on_alpine)


def test_arch_fixes_name_the_target_platform() -> None:
    fixes = explain.arch_fixes(elf(machine="aarch64", docker_arch="arm64"), glibc_target(), "aarch64")
    assert "aarch64" not in fixes[0] and "x86_64-linux-gnu-gcc" in fixes[0]
    assert any("--platform linux/amd64" in f for f in fixes)
    assert any("--platform linux/arm64" in f for f in fixes)


def test_coreutils_env_escapes_carriage_return_and_hints_at_dash_s() -> None:
    assert explain.env_not_found("/usr/bin/env", "sh\r", False).splitlines() == [
        "/usr/bin/env: 'sh\\r': No such file or directory",
        "/usr/bin/env: use -[v]S to pass options in shebang lines",
    ]


def test_busybox_env_only_without_dpkg() -> None:
    assert explain.busybox_env(DictFiles(existing=["/bin/busybox"]))
    assert not explain.busybox_env(DictFiles(existing=["/bin/busybox", "/var/lib/dpkg/status"]))
    assert not explain.busybox_env(DictFiles(existing=["/usr/bin/env"]))


def test_go_with_cgo_on_alpine_can_build_on_golang_alpine() -> None:
    go = elf(toolchain=Toolchain(Language.GO))
    fixes = explain.loader_fixes(go, musl_target(name="alpine:3.20"), BUILTIN)
    assert any("golang:<version>-alpine" in f and "alpine:3.20" in f for f in fixes)
    assert not any("golang:" in f for f in explain.loader_fixes(elf(toolchain=Toolchain(Language.GO)),
                                                                 empty_target(), BUILTIN))


def test_a_newer_image_of_the_same_distribution_comes_first() -> None:
    bullseye = glibc_target(name="debian:bullseye-slim", libc_version="2.31")
    fixes = explain.version_fixes("GLIBC_2.34", "GLIBC_2.30", elf(), bullseye, BUILTIN)
    assert "or run it on a newer image: debian:bookworm-slim" in fixes  # not ubuntu:22.04, older but foreign
    focal = glibc_target(name="ubuntu:20.04", libc_version="2.31")
    fixes = explain.version_fixes("GLIBC_2.34", None, elf(), focal, BUILTIN)
    assert "or run it on a newer image: ubuntu:22.04" in fixes


def test_the_newer_image_named_really_has_the_version() -> None:
    """The suggestion comes from the profiles' data, so the image named must pass the same check."""
    from linkcheck.image.target import load_target

    for version in ("GLIBC_2.32", "GLIBC_2.35", "GLIBC_2.38", "GLIBC_2.41"):
        fixes = explain.version_fixes(version, None, elf(), glibc_target(name="debian:bullseye-slim"),
                                      BUILTIN)
        [named] = [f.rsplit(": ", 1)[1] for f in fixes if "newer image" in f]
        have = load_target(named, platform="amd64").libc_version
        assert have is not None
        assert tuple(map(int, have.split("."))) >= tuple(map(int, version[len("GLIBC_"):].split(".")))


def test_the_images_suggested_come_only_from_the_catalogue_passed_in() -> None:
    """A verdict is a function of the catalogue it is given: another catalogue, other suggestions;
    an empty one, none."""
    mine = (CatalogueImage("registry.example/base:2", "x86_64", Libc.GLIBC, "2.40", "GLIBCXX_3.4.33"),
            CatalogueImage("registry.example/arm:9", "aarch64", Libc.GLIBC, "2.99"))
    fixes = explain.version_fixes("GLIBC_2.38", "GLIBC_2.36", elf(), glibc_target(libc_version="2.36"), mine)
    assert "or run it on a newer image: registry.example/base:2" in fixes
    fixes = explain.version_fixes("GLIBC_2.38", "GLIBC_2.36", elf(), glibc_target(libc_version="2.36"), ())
    assert not any("newer image" in f for f in fixes)


def test_emulation_is_not_said_of_a_program_for_the_hosts_own_machine() -> None:
    arm = elf(machine="aarch64", docker_arch="arm64")
    assert any("under emulation" in f for f in explain.arch_fixes(arm, glibc_target(), "x86_64"))
    assert not any("emulation" in f for f in explain.arch_fixes(arm, glibc_target(), "aarch64"))


def test_a_musl_program_is_sent_to_the_newest_alpine_or_the_target_itself() -> None:
    musl = elf(libc=Libc.MUSL, interpreter="/lib/ld-musl-x86_64.so.1")
    newest = max((c.name for c in BUILTIN if c.name.startswith("alpine:")),
                 key=lambda n: tuple(int(x) for x in n.split(":")[1].split(".")))
    assert any(f"({newest})" in f for f in explain.loader_fixes(musl, glibc_target(), BUILTIN))
    on = explain.loader_fixes(musl, musl_target(name="alpine:3.19"), BUILTIN)
    assert any("(alpine:3.19)" in f for f in on) and not any(f"({newest})" in f for f in on)
