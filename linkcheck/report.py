"""A run, as the ``linkcheck`` command does it, for any tool: inputs -> one ``Checked`` per file (its facts,
a verdict per target, the gates), which of them fail, and the exit status. The command only parses its
options and renders what a ``Run`` yields; another tool can drive the same run and get the same answers.

Public as ``linkcheck.Run`` and ``linkcheck.Gates``::

    run = linkcheck.Run(targets=[linkcheck.load_target("alpine")], gates=linkcheck.Gates(static=True))
    for checked in run.check("dist/"):
        if checked.failed: ...
    run.status  # ExitStatus.OK, WONT_RUN or ERROR, as the command would exit
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from linkcheck.errors import ExitStatus, LinkcheckError, UsageError
from linkcheck.model import Analysis, EnvVar, FileFormat, NeedKind, RuntimeKind, ScanResult, Severity, Target

if TYPE_CHECKING:
    from linkcheck.scan import Progress
    from linkcheck.verdict.gates import GateResult

IMAGE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".oci")


@dataclass(frozen=True)
class Gates:
    """Build gates, judged on every program read: ``static`` (static or static-pie only), ``max_glibc``
    ("2.31": no symbol may need a newer glibc), ``arch`` ("arm64": built for that CPU). A bad value is
    a ``UsageError`` when the gates are made, before any file is read."""

    static: bool = False
    max_glibc: str | None = None
    arch: str | None = None

    def __post_init__(self) -> None:
        # An empty value is refused, not read as "no gate": `--max-glibc "$UNSET"` must not pass silently.
        if self.max_glibc is not None:
            from linkcheck.verdict.gates import parse_glibc_version

            parse_glibc_version(self.max_glibc)
        if self.arch is not None:
            if not self.arch.strip():
                raise UsageError(
                    f"--arch expects an architecture such as amd64 or linux/arm64, not {self.arch!r}")
            from linkcheck.facts.arch import normalize_arch

            normalize_arch(self.arch)

    def __bool__(self) -> bool:
        return self.static or bool(self.max_glibc) or bool(self.arch)

    def judge(self, analysis: Analysis) -> tuple[GateResult, ...]:
        if not self or analysis.format is FileFormat.WHEEL:  # a wheel is judged through its modules
            return ()
        from linkcheck.verdict import gates

        out = []
        if self.static:
            out.append(gates.static_gate(analysis))
        if self.max_glibc:
            out.append(gates.max_glibc_gate(analysis, self.max_glibc))
        if self.arch:
            from linkcheck.facts.arch import normalize_arch

            out.append(gates.arch_gate(analysis, normalize_arch(self.arch), self.arch))
        return tuple(out)


@dataclass(frozen=True)
class Checked:
    """One file of a run, or one input that could not be read (``result.error`` set).

    ``inside`` is the directory, wheel or image named as input that the file was found in (None for a
    file named itself). ``matrix`` holds the built-in images of ``platform`` the file was judged against
    when no target was named: those verdicts inform, they do not fail the run."""

    result: ScanResult
    gates: tuple[GateResult, ...] = ()
    inside: str | None = None
    matrix: tuple[Target, ...] = ()
    platform: str | None = None
    fail_on: frozenset[NeedKind] = frozenset()  # runtime findings of these kinds fail it (--strict)

    @property
    def unreadable(self) -> bool:
        """An input named to the run that could not be read (or held nothing to check): status 2."""
        return self.result.error is not None and self.inside is None

    @property
    def failed(self) -> bool:
        """Would not run on a target named, failed a gate, carries an error finding, or could not be
        read inside a tree (an unreadable file in a tree is a finding about the tree); and, when asked
        (``fail_on``), breaks after start on a target named."""
        r = self.result
        return (r.error is not None
                or not self.matrix and any(not v.runs for v in r.verdicts)
                or not self.matrix and any(f.kind in self.fail_on for v in r.verdicts for f in v.findings)
                or any(not g.passed for g in self.gates)
                or any(n.severity is Severity.ERROR for n in r.notes))

    @property
    def smallest(self) -> str | None:
        """The smallest built-in image of the matrix the file runs on. A runtime matrix comes smallest
        first (``linkcheck.image.runtimes.runtime_targets``): without recorded sizes, its first runner."""
        if self.matrix and all(t.runtimes for t in self.matrix):
            return next((v.target for v in self.result.verdicts if v.runs), None)
        sizes = {t.name: t.size_bytes for t in self.matrix if t.size_bytes is not None}
        running = [v.target for v in self.result.verdicts if v.runs and v.target in sizes]
        return min(running, key=lambda name: sizes[name] or 0) if running else None


@dataclass
class Run:
    """Checks inputs as the command does and keeps the count that decides the exit status (not the
    results: a scan of a million files streams)."""

    targets: Sequence[Target] = ()
    platform: str | None = None  # of the built-in targets, and of the matrix when no target is named
    gates: Gates = field(default_factory=Gates)
    # Where an input lives in the image: None is /app, or /app/node_modules for a directory so named.
    install_dir: str | None = None
    jobs: int | None = None
    # Runtime findings (it starts, then breaks) of these kinds fail a file; none by default.
    fail_on: frozenset[NeedKind] = frozenset()
    progress: Progress | None = None
    env: Sequence[EnvVar] = ()  # set in every target judged against (named, built-in or an image itself)
    files: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)
    unreadable: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        from linkcheck.image.target import with_env

        self._judged = tuple(with_env(t, self.env) for t in self.targets)
        if self.install_dir is not None and not self.install_dir.strip():
            raise UsageError("--install-dir is empty: give the directory the input lives in, in the image "
                             "(/app)")
        if self.platform is not None:  # a bad --platform is a usage error before any file is read
            from linkcheck.facts.arch import platform_machine

            platform_machine(self.platform)

    @property
    def status(self) -> ExitStatus:
        if self.unreadable:
            return ExitStatus.ERROR
        return ExitStatus.WONT_RUN if self.failures else ExitStatus.OK

    def check(self, path: str | os.PathLike[str]) -> Iterator[Checked]:
        """Every file of one input, as it is checked. Never raises for a bad input: it is a ``Checked``
        whose ``result.error`` says why."""
        shown = os.fspath(path)
        if shown.endswith(IMAGE_SUFFIXES) and os.path.isfile(shown) and not is_container(shown):
            # Named as an image archive but neither a tar nor compressed: a corrupt input, not a program.
            checked: Iterator[Checked] = iter([Checked(ScanResult(
                shown, None, f"{shown}: not a readable image archive (neither a tar nor compressed)"))])
        elif is_container(shown):
            checked = self._container(shown)
        else:
            checked = self._file(shown)
        for item in checked:
            self.files += item.result.analysis is not None
            self.failures += item.failed
            self.unreadable += item.unreadable
            yield item

    def _container(self, path: str) -> Iterator[Checked]:
        from linkcheck.scan import scan_paths

        found = 0
        for result in scan_paths(path, targets=tuple(self.targets), jobs=self.jobs, progress=self.progress,
                                 platform=self.platform, env=self.env, install_dir=self.install_dir):
            if result.error is not None and result.path == path and result.member is None:
                yield Checked(result)  # the input itself could not be read
                return
            found += 1
            if not self.targets and not self.gates and result.analysis is not None \
                    and result.analysis.format is FileFormat.CLASS_DIR:
                yield self._class_dir_matrix(path, result)  # one app: judged as a file named itself is
                continue
            gates = self.gates.judge(result.analysis) if result.analysis is not None else ()
            yield Checked(result, gates, inside=path, fail_on=self.fail_on)
        if not found:
            # A build gate whose output went missing must not pass.
            yield Checked(ScanResult(path, None, f"{path}: no ELF file or script in it: nothing was checked"))

    def _file(self, path: str) -> Iterator[Checked]:
        from linkcheck.facts.reader import analyze

        try:
            analysis = analyze(path)
        except LinkcheckError as exc:
            yield Checked(ScanResult(path, None, exc.message))
            return
        gates = self.gates.judge(analysis)
        matrix: tuple[Target, ...] = ()
        targets: Sequence[Target] = self._judged
        if not targets and not gates and (analysis.elf is not None or analysis.script is not None
                                          or analysis.kernel_refusal is not None):
            from linkcheck.image.target import builtin_targets, with_env

            machine = self.platform or analysis.machine
            matrix = targets = tuple(with_env(t, self.env) for t in builtin_targets(machine))
        elif not targets and not gates and analysis.java is not None:
            matrix = targets = self._runtime_matrix(RuntimeKind.JAVA)
        if not targets:  # facts and gates only: no verdict machinery to load
            yield Checked(ScanResult(path, analysis), gates)
            return
        from linkcheck.image.rootfs import host_dir_files
        from linkcheck.verdict.checks import check

        install_dir = self.install_dir or "/app"
        origin = host_dir_files(os.path.dirname(os.path.abspath(path)), install_dir)
        needs = None
        if analysis.elf is not None and targets:
            from linkcheck.facts.needs import read_needs
            from linkcheck.verdict.runtime import kinds_judged

            needs = read_needs(path, analysis.elf, kinds_judged(targets))
        try:
            verdicts = tuple(check(analysis, t, origin_files=origin, install_dir=install_dir,
                                   needs=needs) for t in targets)
        except LinkcheckError as exc:
            yield Checked(ScanResult(path, analysis, exc.message))
            return
        yield Checked(ScanResult(path, analysis, None, verdicts), gates, matrix=matrix,
                      platform=_platform_text(matrix[0]) if matrix else None, fail_on=self.fail_on)


    def _class_dir_matrix(self, path: str, result: ScanResult) -> Checked:
        """A class directory named without a target: its verdict on every built-in Java image."""
        import dataclasses

        from linkcheck.scan import absolute_install_dir, default_install_dir
        from linkcheck.verdict.checks import check

        assert result.analysis is not None
        matrix = self._runtime_matrix(RuntimeKind.JAVA)
        where = absolute_install_dir(self.install_dir or default_install_dir(path))
        verdicts = tuple(check(result.analysis, t, install_dir=where) for t in matrix)
        return Checked(dataclasses.replace(result, verdicts=verdicts), matrix=matrix,
                       platform=_platform_text(matrix[0]) if matrix else None, fail_on=self.fail_on)

    def _runtime_matrix(self, kind: RuntimeKind) -> tuple[Target, ...]:
        """The built-in images with this runtime, for the platform asked (default: this machine's),
        smallest first."""
        from linkcheck.image.runtimes import runtime_targets
        from linkcheck.image.target import with_env

        return tuple(with_env(t, self.env) for t in runtime_targets(kind, self.platform))


def is_container(path: str) -> bool:
    """A directory, a wheel or an image archive: checked file by file."""
    if os.path.isdir(path) or path.endswith(".whl"):
        return True
    if path.endswith(IMAGE_SUFFIXES):
        from linkcheck.image.archive import is_image_archive

        return is_image_archive(path)
    return False


def _platform_text(target: Target) -> str:
    return f"linux/{target.docker_arch}"
