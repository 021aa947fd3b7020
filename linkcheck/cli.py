"""The ``linkcheck`` command: arguments -> library -> render -> exit status. No decisions here."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from linkcheck.errors import ExitStatus, LinkcheckError, UsageError

if TYPE_CHECKING:
    from linkcheck.gates import GateResult
    from linkcheck.model import Analysis, Target, Verdict

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
    failed: bool = False


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
@click.option("--install-dir", default="/app", show_default=True,
              help="Directory the file is copied to in the image (for messages and $ORIGIN).")
@click.option("--quiet", "-q", is_flag=True, help="Print only verdicts that fail, and errors.")
@click.option("--list-targets", is_flag=True, help="List the built-in targets with their libc and sources.")
@click.version_option(package_name="elf-linkcheck", prog_name="linkcheck")
def command(paths: tuple[str, ...], targets: tuple[str, ...], platform: str | None, gate_static: bool,
            max_glibc: str | None, gate_arch: str | None, as_json: bool, install_dir: str, quiet: bool,
            list_targets: bool) -> None:
    if list_targets:
        _print_targets(as_json)
        raise SystemExit(ExitStatus.OK)
    if not paths:
        raise UsageError("no PATH given (try 'linkcheck --help')")
    loaded = _load_targets(targets, platform)
    report = Report()
    for path in paths:
        try:
            _check_one(path, loaded, report, platform=platform, gate_static=gate_static,
                       max_glibc=max_glibc, gate_arch=gate_arch, install_dir=install_dir,
                       show_text=not as_json, quiet=quiet)
        except LinkcheckError as err:
            report.errors.append({"path": path, "error": err.message})
            if not as_json:
                click.echo(f"linkcheck: {err.message}", err=True)
    if as_json:
        from linkcheck import __version__
        from linkcheck.render import json_document

        click.echo(json.dumps(json_document(report.files, report.errors, __version__), indent=2))
    if report.errors:
        raise SystemExit(ExitStatus.ERROR)
    raise SystemExit(ExitStatus.WONT_RUN if report.failed else ExitStatus.OK)


def _load_targets(names: tuple[str, ...], platform: str | None) -> list[Target]:
    if not names:
        return []
    from linkcheck.target import load_target

    return [load_target(name, platform=platform) for name in names]


def _check_one(path: str, targets: list[Target], report: Report, *, platform: str | None, gate_static: bool,
               max_glibc: str | None, gate_arch: str | None, install_dir: str, show_text: bool,
               quiet: bool) -> None:
    from linkcheck import render
    from linkcheck.analyze import analyze

    analysis = analyze(path)
    gates = _gates(analysis, gate_static, max_glibc, gate_arch)
    matrix_targets: list[Target] = []
    if targets:
        verdicts = _verdicts(analysis, targets, path, install_dir)
    elif gates or analysis.elf is None and analysis.script is None:
        verdicts = []
    else:
        from linkcheck.target import builtin_targets

        machine = analysis.machine or _host_machine(platform)
        matrix_targets = list(builtin_targets(machine))
        verdicts = _verdicts(analysis, matrix_targets, path, install_dir)
    smallest = _smallest(verdicts, matrix_targets)
    if targets and any(not v.runs for v in verdicts) or any(not g.passed for g in gates):
        report.failed = True
    report.files.append(render.file_document(analysis, verdicts, gates, smallest))
    if not show_text:
        return
    lines: list[str] = []
    failing = [v for v in verdicts if not v.runs] + [g for g in gates if not g.passed]
    if quiet and not failing:
        return
    if not quiet:
        lines += render.describe_analysis(analysis)
    lines += render.describe_gates(gates)
    if matrix_targets:
        lines += render.describe_matrix(verdicts, matrix_targets)
    else:
        for verdict in verdicts:
            if quiet and verdict.runs:
                continue
            lines += render.describe_verdict(verdict)
    click.echo("\n".join(lines))


def _verdicts(analysis: Analysis, targets: list[Target], path: str, install_dir: str) -> list[Verdict]:
    from linkcheck.checks import check
    from linkcheck.rootfs import host_dir_files

    origin = host_dir_files(os.path.dirname(os.path.abspath(path)), install_dir)
    return [check(analysis, t, origin_files=origin, install_dir=install_dir) for t in targets]


def _gates(analysis: Analysis, gate_static: bool, max_glibc: str | None,
           gate_arch: str | None) -> list[GateResult]:
    from linkcheck import gates

    out = []
    if gate_static:
        out.append(gates.static_gate(analysis))
    if max_glibc:
        out.append(gates.max_glibc_gate(analysis, max_glibc))
    if gate_arch:
        from linkcheck.arch import normalize_arch

        out.append(gates.arch_gate(analysis, normalize_arch(gate_arch), gate_arch))
    return out


def _smallest(verdicts: list[Verdict], targets: list[Target]) -> str | None:
    sizes = {t.name: t.size_bytes for t in targets if t.size_bytes is not None}
    running = [v.target for v in verdicts if v.runs and v.target in sizes]
    return min(running, key=lambda name: sizes[name]) if running else None


def _host_machine(platform: str | None) -> str:
    from linkcheck.target import host_machine

    if platform:
        from linkcheck.arch import normalize_arch

        return str(normalize_arch(platform))
    return str(host_machine())


def _print_targets(as_json: bool) -> None:
    from linkcheck.target import list_profiles

    profiles = list_profiles()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in profiles], indent=2))
        return
    for p in profiles:
        click.echo(p.describe())


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become one line on stderr and exit status 2, never a traceback."""
    try:
        command.main(args=argv, prog_name="linkcheck", standalone_mode=False)
    except SystemExit:
        raise
    except click.exceptions.Exit as done:
        raise SystemExit(done.exit_code) from None
    except click.ClickException as err:
        click.echo(f"linkcheck: {' '.join(err.format_message().split())}", err=True)
        raise SystemExit(ExitStatus.ERROR) from None
    except click.exceptions.Abort:
        raise SystemExit(ExitStatus.ERROR) from None
    except LinkcheckError as err:
        click.echo(f"linkcheck: {err.message}", err=True)
        raise SystemExit(ExitStatus.ERROR) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        # Output piped into `head`: not an error of ours.
        sys.stderr.close()
        raise SystemExit(ExitStatus.OK) from None
