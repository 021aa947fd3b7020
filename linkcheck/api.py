"""The documented entry points, re-exported by ``linkcheck``. Each imports the modules it needs when
called, so that ``import linkcheck`` (and the command's start-up) pays only for what a call uses; no
module of the package is named like one of them, so none can shadow them once imported."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Sequence
from typing import TYPE_CHECKING

from linkcheck.errors import UsageError
from linkcheck.model import Analysis, Target, Verdict

if TYPE_CHECKING:
    from linkcheck.image.reference import RegistryOptions
    from linkcheck.scan import Progress, ScanResult


def analyze(path: str | os.PathLike[str]) -> Analysis:
    """Facts about the one file at ``path``, read statically. Raises ``NotFoundError``, ``InputError``,
    ``FormatError``; ``UsageError`` for a directory, wheel or image archive, which hold many files:
    ``linkcheck.scan_paths`` reads those."""
    shown = os.fspath(path)
    _refuse_many(shown)
    from linkcheck.facts.reader import analyze as read

    return read(shown)


def check(path_or_analysis: str | os.PathLike[str] | Analysis, target: str | Target,
          platform: str | None = None) -> Verdict:
    """What happens when the file is started on ``target`` (a ``Target``, or a name, directory or
    archive for ``load_target`` with ``platform``). Files beside it count as copied with it to /app."""
    analysis = _analysis_of(path_or_analysis)
    return _check_all(analysis, [_target_of(target, platform)])[0]


def check_matrix(path_or_analysis: str | os.PathLike[str] | Analysis,
                 targets: Sequence[str | Target] | None = None,
                 platform: str | None = None) -> tuple[Verdict, ...]:
    """``check`` on several targets; by default every built-in image for ``platform`` (default: the
    file's machine, else this machine's)."""
    analysis = _analysis_of(path_or_analysis)
    if targets is None:
        from linkcheck.facts.arch import platform_machine
        from linkcheck.image.target import builtin_targets

        chosen: list[Target] = list(builtin_targets(platform_machine(platform) if platform is not None
                                                    else analysis.machine))
    else:
        chosen = [_target_of(t, platform) for t in targets]
    return _check_all(analysis, chosen)


def load_target(name_or_path: str, platform: str | None = None, *,
                registry: RegistryOptions | None = None) -> Target:
    """A built-in image by name ("alpine", "debian:12-slim", "distroless/cc" ...), a root filesystem
    directory, an image archive, or an image in a registry by reference ("ghcr.io/owner/app:1",
    "docker://alpine:3.20"); ``platform`` as ``docker run --platform`` (default: this machine).
    ``registry`` (``linkcheck.image.reference.RegistryOptions``): offline, insecure hosts, cache."""
    from linkcheck.image.target import load_target as load

    return load(name_or_path, platform, registry=registry)


def scan_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    targets: Sequence[str | Target] = (),
    jobs: int | None = None,
    platform: str | None = None,
    progress: Progress | None = None,
    install_dir: str | None = None,
) -> Generator[ScanResult, None, None]:
    """Every program, library and script in ``paths`` (a directory, image archive, wheel or file, or
    several), as an iterator of ``ScanResult`` in a stable order, each with a verdict per target.
    Without targets a directory's files get facts only and an image's files are judged against the image
    itself. Unreadable inputs and files are results with ``error`` set; see ``linkcheck.scan``. Stopping
    early (``close()``, or leaving a ``for`` loop and dropping the generator) ends the worker processes.
    ``install_dir``: where each input lives in the image (default /app; /app/node_modules for a
    directory called node_modules), as messages and $ORIGIN see it."""
    from linkcheck.scan import scan_paths as scan

    return scan(paths, targets=targets, jobs=jobs, platform=platform, progress=progress,
                install_dir=install_dir)


def _refuse_many(path: str) -> None:
    if os.path.isdir(path):
        raise UsageError(f"{path}: a directory, not one file: linkcheck.scan_paths({path!r}) checks every "
                         "program and library in it")
    if path.endswith(".whl") and os.path.isfile(path):
        raise UsageError(f"{path}: a wheel, not one executable: linkcheck.scan_paths({path!r}) reads its "
                         "tags and extension modules")
    from linkcheck.report import IMAGE_SUFFIXES

    if path.endswith(IMAGE_SUFFIXES):
        from linkcheck.image.archive import is_image_archive

        if is_image_archive(path):
            raise UsageError(f"{path}: an image archive, not one executable: linkcheck.scan_paths({path!r})"
                             f" checks its files, linkcheck.load_target({path!r}) makes it a target")


def _analysis_of(path_or_analysis: str | os.PathLike[str] | Analysis) -> Analysis:
    return path_or_analysis if isinstance(path_or_analysis, Analysis) else analyze(path_or_analysis)


def _target_of(target: str | Target, platform: str | None) -> Target:
    return target if isinstance(target, Target) else load_target(target, platform)


def _check_all(analysis: Analysis, targets: Sequence[Target]) -> tuple[Verdict, ...]:
    from linkcheck.image.rootfs import host_dir_files
    from linkcheck.verdict.checks import check as decide

    host_dir = os.path.dirname(os.path.abspath(analysis.path))
    origin = host_dir_files(host_dir, "/app") if os.path.isdir(host_dir) else None
    needs = None  # what it reads after start: read again from the file, only here (analyze never does)
    if analysis.elf is not None and targets and os.path.isfile(analysis.path):
        from linkcheck.facts.needs import read_needs
        from linkcheck.verdict.runtime import kinds_judged

        needs = read_needs(analysis.path, analysis.elf, kinds_judged(targets))
    return tuple(decide(analysis, t, origin_files=origin, needs=needs) for t in targets)
