"""The ``linkcheck`` command: arguments -> library -> render -> exit status. No decisions here."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import click

from linkcheck import __version__
from linkcheck.errors import ExitStatus, LinkcheckError, UsageError
from linkcheck.model import NeedKind

if TYPE_CHECKING:
    from linkcheck.model import Target
    from linkcheck.report import Checked, Run
    from linkcheck.scan import ScanResult

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
  linkcheck stage.tar -t distroless/cc   a build stage's files, on the final base
  linkcheck ./hello --platform linux/arm64   the built-in arm64 images
  linkcheck pkg.whl --target alpine      a wheel's tags and extension modules
  linkcheck ./dist -t slim --sarif out.sarif --jsonl
  linkcheck --list-targets               the built-in images and their sources

\b
Exit status: 0 it runs on every target named and every gate passed;
1 it would not run on a target named, a gate failed (with --strict or
--fail-on KIND: or it starts there, then breaks), or a file inside a
directory, wheel or image is unreadable; 2 usage error, unreadable input,
or a directory, wheel or image with nothing to check (one line on stderr).
"""


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1)
@click.option("--target", "-t", "targets", multiple=True, metavar="IMAGE|DIR|ARCHIVE",
              help="Judge against this image (repeatable): a built-in name (alpine, alpine:3.18, slim, "
                   "distroless/cc ...), a root filesystem directory, an image archive, or an image in a "
                   "registry (ghcr.io/owner/app:1, localhost:5000/base@sha256:...; docker://NAME pulls "
                   "even a built-in name).")
@click.option("--platform", metavar="OS/ARCH",
              help="Platform of the built-in targets, as docker's --platform (default: this machine's).")
@click.option("--offline", is_flag=True,
              help="Pull nothing: images by reference come from the cache only (built-in data as ever).")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST[:PORT]",
              help="Speak plain HTTP to this registry (repeatable; this machine's are always allowed).")
@click.option("--env", "-e", "env", multiple=True, metavar="KEY=VALUE",
              help="Set a variable in every target's environment (repeatable), as docker run -e: "
                   "LD_LIBRARY_PATH and LD_PRELOAD enter the loader's search, LD_BIND_NOW its "
                   "binding, PATH the #!/usr/bin/env lookup.")
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
@click.option("--install-dir", metavar="DIR",
              help="Where the file or directory lives in the image, for messages and $ORIGIN (default: "
                   "/app; /app/node_modules for a directory called node_modules).")
@click.option("--quiet", "-q", is_flag=True, help="Print only what would not run, and errors.")
@click.option("--strict", is_flag=True,
              help="Also fail (status 1) when a program starts on a target named but then breaks there "
                   "(runtime findings: missing CA bundle, zoneinfo, /etc/passwd, dlopen()ed library, /tmp).")
@click.option("--fail-on", "fail_on", multiple=True, metavar="KIND",
              type=click.Choice([k.value for k in NeedKind]),
              help="Fail (status 1) on runtime findings of this kind only (repeatable).")
@click.option("--list-targets", is_flag=True, help="List the built-in targets with their libc and sources.")
@click.version_option(version=__version__, prog_name="linkcheck")
def command(paths: tuple[str, ...], targets: tuple[str, ...], platform: str | None, offline: bool,
            insecure: tuple[str, ...], env: tuple[str, ...], gate_static: bool, max_glibc: str | None,
            gate_arch: str | None, as_json: bool, as_jsonl: bool,
            sarif_path: str | None, jobs: int | None, install_dir: str | None, quiet: bool, strict: bool,
            fail_on: tuple[str, ...], list_targets: bool) -> None:
    if list_targets:
        _print_targets(as_json)
        raise SystemExit(ExitStatus.OK)
    if not paths:
        raise UsageError("no PATH given (try 'linkcheck --help')")
    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl exclude each other")
    if platform is not None and not platform.strip():
        raise UsageError(f"--platform expects a platform such as linux/arm64, not {platform!r}")
    from linkcheck.report import Gates, Run

    gates = Gates(static=gate_static, max_glibc=max_glibc, arch=gate_arch)  # bad values: before any work
    strict_kinds = (k for k in NeedKind if not k.is_note)  # notes fail only when named
    kinds = frozenset(strict_kinds) if strict else frozenset(NeedKind(k) for k in fail_on)
    from linkcheck.image.target import parse_env

    env_vars = parse_env(env)  # a malformed --env is a usage error before any work
    run = Run(_load_targets(targets, platform, offline, insecure), platform=platform, gates=gates,
              install_dir=install_dir, jobs=jobs, fail_on=kinds, env=env_vars)
    output = "json" if as_json else "jsonl" if as_jsonl else "text"
    try:
        _check_all(run, paths, output, quiet, sarif_path)
    except BrokenPipeError:
        # Output piped into `head -1`: stop quietly, with the status of what was checked so far.
        _drop_stdout()
    raise SystemExit(run.status)


def _check_all(run: Run, paths: tuple[str, ...], output: str, quiet: bool, sarif_path: str | None) -> None:
    documents: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    kept: list[ScanResult] = []  # only when a SARIF log is asked for
    for path in paths:
        progress = _ProgressBar(path) if output == "text" and sys.stderr.isatty() else None
        run.progress = progress
        rows: list[tuple[str, str, str]] = []
        container: str | None = None
        files = failing = unreadable = 0
        judged = False  # verdicts or gates: without, a scan reads facts only
        try:
            for checked in run.check(path):
                if sarif_path is not None:
                    kept.append(checked.result)
                _record(checked, output, documents, errors)
                if checked.inside is None:
                    if output == "text":
                        _say_file(checked, quiet)
                    continue
                container = checked.inside
                # A file that could not be read was not checked: counted apart.
                lost = checked.result.analysis is None and checked.result.error is not None
                unreadable += lost
                files += not lost
                failing += checked.failed and not lost
                judged = judged or bool(checked.result.verdicts or checked.gates)
                if output == "text" and (checked.failed or not quiet):
                    from linkcheck.output import render

                    rows += render.scan_rows(checked.result, checked.gates)
        finally:
            if progress is not None:
                progress.done()
        if container is not None and output == "text":
            from linkcheck.output import render

            click.echo("\n".join(render.terminal_lines(
                render.describe_scan(container, rows, files, failing, judged, unreadable))))
    if sarif_path is not None:
        _write_sarif(sarif_path, kept)
    if output == "json":
        from linkcheck.output.escape import dumps
        from linkcheck.output.render import json_document

        click.echo(dumps(json_document(documents, errors, __version__), indent=2))
    sys.stdout.flush()


def _load_targets(names: tuple[str, ...], platform: str | None, offline: bool,
                  insecure: tuple[str, ...]) -> list[Target]:
    if not names:
        return []
    from linkcheck.image.reference import RegistryOptions
    from linkcheck.image.target import load_target, pulled_from

    registry = RegistryOptions(offline=offline, insecure=insecure)
    loaded = [load_target(name, platform=platform, registry=registry) for name in names]
    for target in loaded:
        origin = pulled_from(target)
        if origin is not None:  # say where an image by reference was read: the registry or the cache
            click.echo(f"linkcheck: {target.name}: {origin}", err=True)
    return loaded


def _record(checked: Checked, output: str, documents: list[dict[str, Any]], errors: list[dict[str, str]]
            ) -> None:
    """The machine-readable outputs: one document per file, one entry per error."""
    if output == "text":
        return
    from linkcheck.output.escape import dumps

    result = checked.result
    if result.error is not None:
        entry = {"path": result.path, "error": result.error}
        if output == "jsonl":
            click.echo(dumps(entry))
        else:
            errors.append(entry)
        return
    if result.analysis is None:
        return
    from linkcheck.output.render import file_document

    document = file_document(result.analysis, result.verdicts, checked.gates, checked.smallest,
                             checked.platform)
    document["path"] = result.path
    document["warnings"] = document["warnings"] + [str(n) for n in result.notes]
    if output == "jsonl":
        click.echo(dumps(document))
    else:
        documents.append(document)


def _say_file(checked: Checked, quiet: bool) -> None:
    """A file named itself: its facts, gates and verdicts (with -q: only what fails, under its name)."""
    from linkcheck.output import render

    result = checked.result
    if result.error is not None:
        _say_error(result.error)
        return
    analysis = result.analysis
    assert analysis is not None
    if quiet and not checked.failed:
        return
    lines = [analysis.path] if quiet else render.describe_analysis(analysis)
    lines += render.describe_gates(checked.gates)
    if checked.matrix:
        lines += render.describe_matrix(result.verdicts, checked.matrix, checked.platform)
    else:
        for verdict in result.verdicts:
            if not (quiet and verdict.runs):
                lines += render.describe_verdict(verdict)
    click.echo("\n".join(render.terminal_lines(lines)))


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


def _print_targets(as_json: bool) -> None:
    from linkcheck.image.target import list_profiles

    profiles = list_profiles()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in profiles], indent=2))
        return
    family = None
    for p in profiles:
        if p.family != family:
            family = p.family
            click.echo(f"{family}:")
        click.echo(f"  {p.describe()}")


def _say_error(message: str) -> None:
    """One line on stderr, whatever bytes the message carries from a hostile file name."""
    from linkcheck.output.render import terminal_lines

    click.echo("linkcheck: " + " ".join(" ".join(terminal_lines([message])).split()), err=True)


class _Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived. Not an Exception (nothing may swallow it) and not a
    KeyboardInterrupt (click would turn that into its Abort, status 1): it unwinds every ``finally`` and
    ``with`` on its way out, which stops the scan workers and closes the image's temporary file."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _on_signal(signum: int, _frame: object) -> None:
    for other in _SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(other, signal.SIG_IGN)
    raise _Interrupted(signum)


def _drop_stdout() -> None:
    """The reader of stdout is gone (``| head -1``): what is still buffered goes nowhere, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become one line on stderr and exit status 2, never a traceback. A signal exits
    128 + its number (Ctrl-C: 130) once the workers are stopped; a closed stdout exits quietly with the
    status the work done so far implies."""
    # Names are escaped to printable text, but a locale without UTF-8 (latin-1, ASCII) cannot encode
    # every printable character: show those as escapes instead of failing half-way through a report.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    for signum in _SIGNALS:  # before click runs, so that click never sees a KeyboardInterrupt
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(signum, _on_signal)
    try:
        try:
            command.main(args=argv, prog_name="linkcheck", standalone_mode=False)
        finally:
            sys.stdout.flush()  # here, not at exit: a closed pipe must be seen while it can be handled
    except _Interrupted as stop:
        raise SystemExit(128 + stop.signum) from None
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
    except BrokenPipeError:
        # Output piped into `head` before any status was decided: not an error of ours.
        _drop_stdout()
        raise SystemExit(ExitStatus.OK) from None
