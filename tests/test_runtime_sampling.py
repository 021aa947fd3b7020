"""False positives and false negatives of runtime findings, sampled: real programs of the real roots (and
of this machine) run in those roots, with and without what a finding says they lack, each in a way that
takes the code path the finding is about; linkcheck's finding must be there exactly when the run shows
the failure. Slow (a debootstrap root): LINKCHECK_SLOW=1. The agreement is printed (pytest -s) and
recorded in README ("It starts, then breaks").

Each case's ``broke`` reads the failure the finding describes from the run: for ``users`` the name of
uid 0 missing from the output ("root" in a root that has /etc/passwd); for ``temp-dir`` a failed run; for
``locale`` output other than in a UTF-8 locale (the two bytes of "é" counted as two characters) or a
warning about the locale.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkcheck.facts.needs import read_needs
from linkcheck.facts.reader import analyze
from linkcheck.image.rootfs import target_from_tree
from linkcheck.image.tree import DirectoryTree
from linkcheck.model import EnvOrigin, EnvVar, NeedKind
from linkcheck.verdict.checks import check

from conftest import needs_root, slow
from launch import DEFAULT_PATH, RealOutcome, install, private_proc_works, run_in_root
from roots import RootUnavailable, build_root

pytestmark = [needs_root, slow, pytest.mark.chroot]

E_ACUTE = "\u00e9\n".encode()
BIG_INPUT = b"".join(b"%06d\n" % (i * 7919 % 100000) for i in range(40000))  # 280 kB: sort -S 16K spills


@dataclass(frozen=True)
class Case:
    root: str  # a root of tests/roots.py
    setup: str  # "" or what is taken away: "no-passwd", "no-tmp"
    program: str  # inside the root, or "host:/usr/bin/x" (copied in as /app/x)
    argv: tuple[str, ...]
    kind: NeedKind
    broke: Callable[[RealOutcome], bool]
    env: tuple[tuple[str, str], ...] = ()
    stdin: bytes | None = None


def no_root_name(got: RealOutcome) -> bool:
    return "root" not in got.stdout


def failed(got: RealOutcome) -> bool:
    return got.exit_code != 0


def not_utf8(utf8_output: str) -> Callable[[RealOutcome], bool]:
    def broke(got: RealOutcome) -> bool:
        return got.stdout.strip() != utf8_output or "locale" in got.stderr.lower()
    return broke


def users(root: str, setup: str, program: str, *argv: str) -> Case:
    return Case(root, setup, program, (program, *argv), NeedKind.USERS, no_root_name)


def temp(root: str, setup: str, program: str, *argv: str, stdin: bytes | None = None) -> Case:
    return Case(root, setup, program, (program, *argv), NeedKind.TEMP_DIR, failed, stdin=stdin)


def locale(root: str, lang: str, utf8_output: str, program: str, *argv: str) -> Case:
    """``utf8_output``: what the program prints for "é\\n" in a UTF-8 locale."""
    return Case(root, "", program, (program, *argv), NeedKind.LOCALE, not_utf8(utf8_output),
                (("LANG", lang),), E_ACUTE)


BW = "debian-bookworm"
LENGTH = ("-c", 'read x; echo "${#x}"')  # bash: characters in "é"
CASES = [
    # users: lookups of uid 0's name, in bookworm with and without /etc/passwd
    *(users(BW, setup, *cmd) for setup in ("", "no-passwd") for cmd in (
        ("/usr/bin/whoami",), ("/usr/bin/id", "-un"), ("/usr/bin/stat", "-c", "%U %G", "/"),
        ("/usr/bin/ls", "-ld", "/"), ("/usr/bin/find", "/", "-maxdepth", "0", "-printf", "%u\\n"))),
    *(users("busybox-musl", setup, *cmd) for setup in ("", "no-passwd")
      for cmd in (("/bin/whoami",), ("/bin/id", "-un"), ("/bin/stat", "-c", "%U", "/"))),
    # temporary files: mktemp, and sort spilling to /tmp, with and without /tmp
    *(temp(BW, setup, *cmd) for setup in ("", "no-tmp") for cmd in (
        ("/usr/bin/mktemp",), ("/usr/bin/tempfile",), ("/usr/bin/cat", "/etc/hostname"))),
    *(temp(BW, setup, "/usr/bin/sort", "-S", "16K", stdin=BIG_INPUT) for setup in ("", "no-tmp")),
    *(temp("busybox-musl", setup, "/bin/mktemp") for setup in ("", "no-tmp")),
    # locales: bookworm has C.utf8 only; musl's setlocale takes any name
    *(locale(BW, lang, *cmd) for lang in ("en_US.UTF-8", "C.UTF-8") for cmd in (
        ("2", "/usr/bin/wc", "-m"), ("1", "/usr/bin/bash", *LENGTH), ("1", "/usr/bin/grep", "-c", "^.$"),
        ("\u00e9", "/usr/bin/sed", "-n", "/^.$/p"))),
    locale("alpine-3.20.3-x86_64", "en_US.UTF-8", "2", "/usr/bin/wc", "-m"),
    # this machine's programs in a root of this machine's libraries (no /etc/passwd, /tmp or locales);
    # programs needing more than the C library would not start there
    users("glibc-host", "", "host:/usr/bin/whoami"),
    temp("glibc-host", "", "host:/usr/bin/mktemp"),
    temp("glibc-host", "", "host:/usr/bin/sort", "-S", "16K", stdin=BIG_INPUT),
    locale("glibc-host", "C.UTF-8", "2", "host:/usr/bin/wc", "-m"),
]


class Roots:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.built: dict[tuple[str, str], Path] = {}

    def get(self, name: str, setup: str) -> Path:
        if (name, setup) not in self.built:
            root = self.base / f"{name}+{setup or 'as-is'}"
            try:
                build_root(name, root)
            except RootUnavailable as exc:
                pytest.skip(f"root {name}: {exc}")
            if setup == "no-passwd":
                for rel in ("etc/passwd", "etc/group"):
                    (root / rel).unlink(missing_ok=True)
            elif setup == "no-tmp":
                shutil.rmtree(root / "tmp", ignore_errors=True)
            self.built[(name, setup)] = root
        return self.built[(name, setup)]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Roots:
    if not private_proc_works():
        pytest.skip("cannot mount /proc in a private mount namespace here")
    return Roots(tmp_path_factory.mktemp("sampling"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.root}{'-' + c.setup if c.setup else ''}-"
                         f"{c.kind.value}-{os.path.basename(c.program)}-{'-'.join(v for _, v in c.env)}")
def test_finding_is_there_exactly_when_the_real_run_breaks(roots: Roots, case: Case) -> None:
    root = roots.get(case.root, case.setup)
    program = case.program
    if program.startswith("host:"):
        host = Path(program.removeprefix("host:"))
        if not host.is_file():
            pytest.skip(f"{host} is not on this machine")
        program = install(root, host, f"/app/{host.name}")
    env = {"PATH": DEFAULT_PATH, **dict(case.env)}
    got = run_in_root(root, program, list(case.argv), timeout=60, env=env, stdin=case.stdin)
    analysis = analyze(root / program.lstrip("/"))
    assert analysis.elf is not None
    target = target_from_tree(DirectoryTree(str(root)), str(root), machine_hint="x86_64")
    target = dataclasses.replace(target, env=tuple(EnvVar(k, v, EnvOrigin.OPTION) for k, v in case.env))
    verdict = check(analysis, target, needs=read_needs(root / program.lstrip("/"), analysis.elf))
    assert verdict.runs, verdict.explanation
    predicted = case.kind in {f.kind for f in verdict.findings}
    broke = case.broke(got)
    print(f"{case.root:<22} {case.setup or '-':<9} {' '.join(case.argv)[:40]:<40} {case.kind.value:<8} "
          f"predicted={predicted!s:<5} broke={broke}")
    assert predicted == broke, (got.exit_code, got.stdout[-300:], got.stderr[-300:], verdict.findings)
