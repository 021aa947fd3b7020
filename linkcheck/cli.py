"""The ``linkcheck`` command: arguments -> library -> render -> exit status. No decisions here."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from linkcheck.errors import ExitStatus, LinkcheckError, UsageError

if TYPE_CHECKING:
    from linkcheck.model import Analysis, Target, Verdict
    from linkcheck.scan import ScanResult
    from linkcheck.verdict.gates import GateResult

HELP = """Tell whether compiled programs will start on a container image, without running them.

\b
A dynamically linked program does not start by itself: the kernel first
starts its "program interpreter" (the dynamic loader named in the file,
e.g. /lib64/ld-linux-x86-64.so.2 for glibc, /lib/ld-musl-x86_64.so.1 for
musl), which then finds the shared libraries the program needs. If the
image lacks that loader, `docker run` says "exec /app/x: no such file or
directory" although the file is there. linkcheck reads PATH (an ELF
program or library, a #! script, a jar, a directory, a wheel, an image
archive), predicts what happens on each --target, names the exact error,
why, and how to fix it.

\b
Examples:
  linkcheck ./hello                      facts + which built-in images it runs on
  linkcheck ./hello --target alpine      exit 1 if it will not start there
  linkcheck ./app -t distroless/cc -t debian:bullseye-slim --json
  linkcheck ./hello --target ./rootfs    a root filesystem directory as target
  linkcheck ./hello --static             gate: fail unless statically linked
  linkcheck ./hello --max-glibc 2.31     gate: fail if it needs a newer glibc
  linkcheck ./dist --target slim         every ELF file and script in a tree
  linkcheck image.tar                    a docker save / OCI image, against itself
  linkcheck pkg.whl --target alpine      a wheel's tags and extension modules
  linkcheck ./dist -t slim --sarif out.sarif --jsonl
  linkcheck --list-targets               the built-in images and their sources

\b
Exit status: 0 it runs on every target named and every gate passed;
1 it would not run on a target named, or a gate failed;
2 usage error or unreadable input (one line on stderr).
"""


@dataclass
class Report:
    """What the command found, accumulated for rendering and the exit status."""

    files: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    results: list[ScanResult] = field(default_factory=list)  # kept only when a SARIF log is asked for
    failed: bool = False  # something would not run, or a gate failed: status 1
    unreadable: bool = False  # an input named on the command line could not be read: status 2


@dataclass(frozen=True)
class Options:
    targets: list[Target]
    platform: str | None
    gate_static: bool
    max_glibc: str | None
    gate_arch: str | None
    install_dir: str
    output: str  # "text", "json" or "jsonl"
    quiet: bool
    jobs: int | None
    keep_results: bool


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1)
@click.option("--target", "-t", "targets", multiple=True, metavar="IMAGE|DIR|ARCHIVE",
              help="Judge against this image (repeatable): a built-in name (alpine, alpine:3.18, slim, "
                   "distroless/cc ...), a root filesystem directory, or an image archive.")
@click.option("--platform", metavar="OS/ARCH",
              help="Platform of the built-in targets, as docker's --platform (default: this machine's).")
@click.option("--static", "gate_static", is_flag=True, help="Gate: fail unless static or static-pie.")
@click.option("--max-glibc", metavar="VERSION", help="Gate: fail if it needs a glibc newer than VERSION.")
@click.option("--arch", "gate_arch", metavar="ARCH",
              help="Gate: fail unless built for ARCH (arm64, x86_64 ...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (see schema.json).")
@click.option("--jsonl", "as_jsonl", is_flag=True,
              help="Print one JSON object per file as it is checked (for big scans).")
@click.option("--sarif", "sarif_path", metavar="FILE",
              help="Also write a SARIF 2.1.0 log to FILE (code-scanning annotations).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for directories and images (default: the CPUs available).")
@click.option("--install-dir", default="/app", show_default=True,
              help="Directory the file is copied to in the image (for messages and $ORIGIN).")
@click.option("--quiet", "-q", is_flag=True, help="Print only what would not run, and errors.")
@click.option("--list-targets", is_flag=True, help="List the built-in targets with their libc and sources.")
@click.version_option(package_name="elf-linkcheck", prog_name="linkcheck")
def command(paths: tuple[str, ...], targets: tuple[str, ...], platform: str | None, gate_static: bool,
            max_glibc: str | None, gate_arch: str | None, as_json: bool, as_jsonl: bool,
            sarif_path: str | None, jobs: int | None, install_dir: str, quiet: bool,
            list_targets: bool) -> None:
    if list_targets:
        _print_targets(as_json)
        raise SystemExit(ExitStatus.OK)
    if not paths:
        raise UsageError("no PATH given (try 'linkcheck --help')")
    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl exclude each other")
    if max_glibc:
        from linkcheck.verdict.gates import parse_glibc_version

        parse_glibc_version(max_glibc)  # a bad value is a usage error before any work
    if gate_arch:
        from linkcheck.facts.arch import normalize_arch

        normalize_arch(gate_arch)
    options = Options(
        targets=_load_targets(targets, platform), platform=platform, gate_static=gate_static,
        max_glibc=max_glibc, gate_arch=gate_arch, install_dir=install_dir,
        output="json" if as_json else "jsonl" if as_jsonl else "text", quiet=quiet, jobs=jobs,
        keep_results=sarif_path is not None)
    report = Report()
    for path in paths:
        try:
            if _is_container(path):
                _check_container(path, options, report)
            else:
                _check_file(path, options, report)
        except LinkcheckError as err:
            _record_error(path, err.message, options, report)
    if sarif_path is not None:
        _write_sarif(sarif_path, report.results)
    if options.output == "json":
        from linkcheck import __version__
        from linkcheck.output.escape import dumps
        from linkcheck.output.render import json_document

        click.echo(dumps(json_document(report.files, report.errors, __version__), indent=2))
    if report.unreadable:
        raise SystemExit(ExitStatus.ERROR)
    raise SystemExit(ExitStatus.WONT_RUN if report.failed else ExitStatus.OK)


def _load_targets(names: tuple[str, ...], platform: str | None) -> list[Target]:
    if not names:
        return []
    from linkcheck.image.target import load_target

    return [load_target(name, platform=platform) for name in names]


def _is_container(path: str) -> bool:
    """A directory, a wheel or an image archive: scanned file by file."""
    if os.path.isdir(path) or path.endswith(".whl"):
        return True
    if path.endswith((".tar", ".tar.gz", ".tgz", ".oci")):
        from linkcheck.image.archive import is_image_archive

        return is_image_archive(path)
    return False


def _record_error(path: str, message: str, options: Options, report: Report,
                  inside: str | None = None) -> None:
    """An input that could not be read; ``inside`` names the tree, wheel or image it was found in."""
    report.errors.append({"path": path, "error": message})
    if inside is not None:
        report.failed = True
    else:
        report.unreadable = True
    if options.output == "jsonl":
        from linkcheck.output.escape import dumps

        click.echo(dumps({"path": path, "error": message}))
    elif options.output == "text" and inside is None:
        _say_error(message)
    if options.keep_results:
        from linkcheck.scan import ScanResult

        report.results.append(ScanResult(path, None, message))


def _check_file(path: str, options: Options, report: Report) -> None:
    from linkcheck.facts.reader import analyze
    from linkcheck.output import render

    analysis = analyze(path)
    gates = _gates(analysis, options)
    matrix_targets: list[Target] = []
    if options.targets:
        verdicts = _verdicts(analysis, options.targets, path, options.install_dir)
    elif gates or analysis.elf is None and analysis.script is None:
        verdicts = []
    else:
        from linkcheck.image.target import builtin_targets

        machine = analysis.machine or _host_machine(options.platform)
        matrix_targets = list(builtin_targets(machine))
        verdicts = _verdicts(analysis, matrix_targets, path, options.install_dir)
    smallest = _smallest(verdicts, matrix_targets)
    failing = [v for v in verdicts if not v.runs] if options.targets else []
    if failing or any(not g.passed for g in gates):
        report.failed = True
    _emit(render.file_document(analysis, verdicts, gates, smallest), options, report)
    if options.keep_results:
        from linkcheck.scan import ScanResult

        report.results.append(ScanResult(path, analysis, verdicts=tuple(verdicts)))
    if options.output != "text" or options.quiet and not failing and all(g.passed for g in gates):
        return
    lines: list[str] = [] if options.quiet else render.describe_analysis(analysis)
    lines += render.describe_gates(gates)
    if matrix_targets:
        lines += render.describe_matrix(verdicts, matrix_targets)
    else:
        for verdict in verdicts:
            if not (options.quiet and verdict.runs):
                lines += render.describe_verdict(verdict)
    click.echo("\n".join(render.terminal_lines(lines)))


def _emit(document: dict[str, Any], options: Options, report: Report) -> None:
    if options.output == "jsonl":
        from linkcheck.output.escape import dumps

        click.echo(dumps(document))
    elif options.output == "json":
        report.files.append(document)


def _check_container(path: str, options: Options, report: Report) -> None:
    """A directory, wheel or image archive: every ELF file and script in it, against each target (an
    image archive is judged against itself)."""
    from linkcheck.output import render
    from linkcheck.scan import scan_paths

    progress = _ProgressBar(path) if options.output == "text" and sys.stderr.isatty() else None
    passes: list[Target | None] = list(options.targets) or [None]
    merged: dict[str, list[ScanResult]] = {}
    try:
        for target in passes:
            for result in scan_paths([path], target=target, jobs=options.jobs, progress=progress,
                                     platform=options.platform):
                merged.setdefault(result.path, []).append(result)
    finally:
        if progress is not None:
            progress.done()
    rows: list[tuple[str, str, str]] = []
    for shown, results in merged.items():
        first = results[0]
        if first.analysis is None:
            if first.error is not None:
                # One unreadable file inside a tree is a finding about the tree (status 1), not an
                # input this command could not read (status 2).
                _record_error(shown, first.error, options, report, inside=path)
                rows.append((shown, "unreadable", first.error))
            continue
        verdicts = tuple(v for r in results for v in r.verdicts)
        gates = _gates(first.analysis, options)
        wheel_errors = [n for n in first.notes if n.startswith("error:")]
        if any(not v.runs for v in verdicts) or any(not g.passed for g in gates) or wheel_errors:
            report.failed = True
        document = render.file_document(first.analysis, verdicts, gates, None)
        document["path"] = shown
        document["warnings"] = document["warnings"] + list(first.notes)
        _emit(document, options, report)
        if options.keep_results:
            report.results.append(dataclasses.replace(first, verdicts=verdicts))
        bad = [v for v in verdicts if not v.runs]
        if options.quiet and not bad and not wheel_errors and all(g.passed for g in gates):
            continue
        result_text = ", ".join(f"{v.target}: {v.outcome.value}" for v in bad) or (
            "runs" if verdicts else "-")
        problems = "; ".join(p.detail for v in bad[:1] for p in v.problems[:2])
        if problems:
            result_text += f" ({problems})"
        rows.append((shown, first.analysis.linkage.value, result_text))
        rows += [(shown, "", note) for note in first.notes]
        rows += [(shown, "", f"gate {g.gate}: FAILED: {g.detail}") for g in gates if not g.passed]
    if options.output == "text":
        click.echo("\n".join(render.terminal_lines(render.describe_scan(path, rows, len(merged)))))


class _ProgressBar:
    """A one-line progress indicator on stderr, for scans that take more than a moment (TTY only)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if done % 64 and done != total:
            return
        self.shown = True
        click.echo(f"\rscanning {self.label}: {done}/{total} files", err=True, nl=False)

    def done(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


def _write_sarif(path: str, results: list[ScanResult]) -> None:
    from linkcheck import __version__
    from linkcheck.output.sarif import write_sarif

    try:
        write_sarif(path, results, __version__)
    except OSError as err:
        raise UsageError(f"--sarif {path}: cannot write ({err.strerror or err})") from None


def _verdicts(analysis: Analysis, targets: list[Target], path: str, install_dir: str) -> list[Verdict]:
    from linkcheck.image.rootfs import host_dir_files
    from linkcheck.verdict.checks import check

    origin = host_dir_files(os.path.dirname(os.path.abspath(path)), install_dir)
    return [check(analysis, t, origin_files=origin, install_dir=install_dir) for t in targets]


def _gates(analysis: Analysis, options: Options) -> list[GateResult]:
    from linkcheck.verdict import gates

    out = []
    if options.gate_static:
        out.append(gates.static_gate(analysis))
    if options.max_glibc:
        out.append(gates.max_glibc_gate(analysis, options.max_glibc))
    if options.gate_arch:
        from linkcheck.facts.arch import normalize_arch

        out.append(gates.arch_gate(analysis, normalize_arch(options.gate_arch), options.gate_arch))
    return out


def _smallest(verdicts: list[Verdict], targets: list[Target]) -> str | None:
    sizes = {t.name: t.size_bytes for t in targets if t.size_bytes is not None}
    running = [v.target for v in verdicts if v.runs and v.target in sizes]
    return min(running, key=lambda name: sizes[name]) if running else None


def _host_machine(platform: str | None) -> str:
    from linkcheck.image.target import host_machine

    if platform:
        from linkcheck.facts.arch import normalize_arch

        return str(normalize_arch(platform))
    return str(host_machine())


def _print_targets(as_json: bool) -> None:
    from linkcheck.image.target import list_profiles

    profiles = list_profiles()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in profiles], indent=2))
        return
    for p in profiles:
        click.echo(p.describe())


def _say_error(message: str) -> None:
    """One line on stderr, whatever bytes the message carries from a hostile file name."""
    from linkcheck.output.render import terminal_lines

    click.echo("linkcheck: " + " ".join(" ".join(terminal_lines([message])).split()), err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become one line on stderr and exit status 2, never a traceback."""
    # Names are escaped to printable text, but a locale without UTF-8 (latin-1, ASCII) cannot encode
    # every printable character: show those as escapes instead of failing half-way through a report.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        command.main(args=argv, prog_name="linkcheck", standalone_mode=False)
    except SystemExit:
        raise
    except click.exceptions.Exit as done:
        raise SystemExit(done.exit_code) from None
    except click.ClickException as err:
        _say_error(err.format_message())
        raise SystemExit(ExitStatus.ERROR) from None
    except click.exceptions.Abort:
        raise SystemExit(ExitStatus.ERROR) from None
    except LinkcheckError as err:
        _say_error(err.message)
        raise SystemExit(ExitStatus.ERROR) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        # Output piped into `head`: not an error of ours.
        sys.stderr.close()
        raise SystemExit(ExitStatus.OK) from None
