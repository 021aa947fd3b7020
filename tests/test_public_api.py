"""The package as a user drives it: the documented calls (after every submodule has been imported, twice,
and through ``from linkcheck import ...``), the scan API on a directory, a wheel and an image archive, and
every example in README, Python and shell, run for real with the exit status README gives."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import linkcheck
from linkcheck.errors import ExitStatus
from linkcheck.model import Severity

from conftest import FIXTURE_BIN, ROOT
from test_archive import docker_save, layer_tar

README = (ROOT / "README.md").read_text()
PUBLIC_FUNCTIONS = ("analyze", "check", "check_matrix", "load_target", "scan_paths")


def import_every_submodule() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(linkcheck.__path__, "linkcheck.")
             if m.name != "linkcheck.__main__"]
    for name in names:
        importlib.import_module(name)
    return names


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def sandbox(where: Path) -> Path:
    """The files README's examples name: glibc programs ``hello``, ``app`` and ``build/hello``, an empty
    root ``rootfs/``, a tree of static programs ``dist/``, a tree with nothing to check ``empty/``, and
    ``image.tar``, a build stage holding a glibc program."""
    glibc = (FIXTURE_BIN / "c-glibc-dynamic").read_bytes()
    for name in ("hello", "app", "build/hello"):
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(glibc)
        (where / name).chmod(0o755)
    (where / "rootfs").mkdir()
    (where / "dist").mkdir()
    for name in ("go-static", "c-musl-static", "c-glibc-static-pie"):
        shutil.copy(FIXTURE_BIN / name, where / "dist" / name)
    (where / "empty").mkdir()
    (where / "empty" / "notes.txt").write_text("no program here\n")
    docker_save(where / "image.tar", [layer_tar([("f", "out/app", glibc)])])
    (where / "fixtures").symlink_to(ROOT / "fixtures")
    return where


# -- the documented calls -----------------------------------------------------------------------


def test_every_public_function_works_twice_after_every_submodule_is_imported() -> None:
    assert len(import_every_submodule()) > 20
    from linkcheck import analyze, check, check_matrix, load_target, scan_paths

    program = str(FIXTURE_BIN / "c-glibc-dynamic")
    for _ in range(2):
        for use in (linkcheck, None):
            a = (use.analyze if use else analyze)(program)
            assert isinstance(a, linkcheck.Analysis) and a.linkage is linkcheck.Linkage.GLIBC_DYNAMIC
            target = (use.load_target if use else load_target)("alpine", "linux/amd64")
            assert isinstance(target, linkcheck.Target) and target.libc is linkcheck.Libc.MUSL
            verdict = (use.check if use else check)(program, target)
            assert verdict.outcome is linkcheck.Outcome.MISSING_INTERPRETER
            matrix = (use.check_matrix if use else check_matrix)(a, ["debian:12-slim", target], "amd64")
            assert [v.runs for v in matrix] == [True, False]
            [result] = (use.scan_paths if use else scan_paths)(program, targets=[target])
            assert isinstance(result, linkcheck.ScanResult) and result.outcome is verdict.outcome
    for name in linkcheck.__all__:
        assert getattr(linkcheck, name) is not None, name
    for name in PUBLIC_FUNCTIONS:
        assert callable(getattr(linkcheck, name)) and name in linkcheck.__all__


def test_no_module_of_the_package_is_named_like_a_public_name() -> None:
    leaves = {name.rsplit(".", 1)[-1] for name in import_every_submodule()}
    assert not leaves & set(linkcheck.__all__)


@pytest.mark.parametrize("what", ["directory", "wheel", "image"])
def test_analyze_refuses_what_holds_many_files_and_names_the_call_to_make(tmp_path: Path, what: str) -> None:
    if what == "directory":
        path = tmp_path
    elif what == "wheel":
        path = tmp_path / "demo-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("demo/__init__.py", "")
    else:
        path = docker_save(tmp_path / "image.tar", [layer_tar([("f", "bin/app", b"#!/bin/sh\n")])])
    for call in (lambda: linkcheck.analyze(path), lambda: linkcheck.check(path, "alpine")):
        with pytest.raises(linkcheck.UsageError) as info:
            call()
        assert "linkcheck.scan_paths(" in str(info.value) and "\n" not in str(info.value)


def test_check_matrix_is_for_the_platform_asked() -> None:
    static_amd64 = str(FIXTURE_BIN / "go-static")
    on_arm = linkcheck.check_matrix(static_amd64, platform="linux/arm64")
    assert on_arm and all(v.outcome is linkcheck.Outcome.WRONG_ARCHITECTURE for v in on_arm)
    assert all(v.runs for v in linkcheck.check_matrix(static_amd64, platform="linux/amd64"))


# -- the scan API: a directory, a wheel, an image archive ---------------------------------------


def test_scan_paths_on_a_directory_with_several_targets(tmp_path: Path) -> None:
    for name in ("go-static", "c-glibc-dynamic"):
        shutil.copy(FIXTURE_BIN / name, tmp_path / name)
    results = {Path(r.path).name: r for r in linkcheck.scan_paths(tmp_path, targets=["alpine", "slim"],
                                                                  platform="linux/amd64")}
    assert sorted(results) == ["c-glibc-dynamic", "go-static"]
    assert [v.target for v in results["go-static"].verdicts] == ["alpine:3.22", "debian:bookworm-slim"]
    assert [v.runs for v in results["c-glibc-dynamic"].verdicts] == [False, True]
    assert results["c-glibc-dynamic"].runs is False and results["go-static"].runs is True


def test_scan_paths_on_a_wheel_gives_the_wheel_then_its_modules(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/_ext.so", (FIXTURE_BIN / "libhello-glibc.so").read_bytes())
    first, module = linkcheck.scan_paths(str(wheel), targets=["alpine", "slim"], platform="linux/amd64")
    assert first.member is None and first.analysis is not None
    assert first.analysis.format is linkcheck.FileFormat.WHEEL
    # pip on alpine takes no manylinux wheel: said once, of the wheel, not under every module.
    [refusal] = [n for n in first.notes if n.severity is Severity.ERROR]
    assert "pip on alpine" in refusal.message
    assert module.member == "demo/_ext.so" and not module.notes
    assert [v.target for v in module.verdicts] == ["alpine:3.22", "debian:bookworm-slim"]


def test_scan_paths_on_an_image_judges_it_against_itself_or_the_targets_named(tmp_path: Path) -> None:
    glibc = (FIXTURE_BIN / "c-glibc-dynamic").read_bytes()
    image = docker_save(tmp_path / "build.tar", [layer_tar([("f", "out/app", glibc)])])
    [alone] = linkcheck.scan_paths(image)
    assert alone.member == "/out/app" and [v.target for v in alone.verdicts] == [str(image)]
    assert alone.outcome is linkcheck.Outcome.MISSING_INTERPRETER  # no loader in the stage itself
    [on_finals] = linkcheck.scan_paths(image, targets=["alpine", "debian:12-slim"], platform="linux/amd64")
    assert [(v.target, v.runs) for v in on_finals.verdicts] == [("alpine:3.22", False),
                                                               ("debian:bookworm-slim", True)]


def test_run_decides_failures_and_the_exit_status_as_the_command_does(tmp_path: Path) -> None:
    shutil.copy(FIXTURE_BIN / "go-static", tmp_path / "go-static")
    shutil.copy(FIXTURE_BIN / "c-glibc-dynamic", tmp_path / "c-glibc-dynamic")
    alpine = linkcheck.load_target("alpine", "linux/amd64")
    run = linkcheck.Run([alpine])
    failed = {Path(c.result.path).name: c.failed for c in run.check(tmp_path)}
    assert failed == {"c-glibc-dynamic": True, "go-static": False}
    assert run.status is ExitStatus.WONT_RUN
    gated = linkcheck.Run(gates=linkcheck.Gates(static=True))
    assert [c.failed for c in gated.check(tmp_path / "go-static")] == [False]
    assert gated.status is ExitStatus.OK
    (tmp_path / "nothing").mkdir()
    empty = linkcheck.Run([alpine])
    [checked] = empty.check(tmp_path / "nothing")
    assert checked.unreadable and "nothing was checked" in (checked.result.error or "")
    assert empty.status is ExitStatus.ERROR
    with pytest.raises(linkcheck.UsageError):
        linkcheck.Gates(max_glibc="two")


# -- README, executed ---------------------------------------------------------------------------


def test_every_python_example_in_readme_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    blocks = code_blocks("python")
    assert len(blocks) >= 2
    monkeypatch.chdir(sandbox(tmp_path))
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - README's own examples
    printed = capsys.readouterr().out
    assert "MISSING_INTERPRETER" in printed and "wrong-architecture" in printed  # what they print
    assert "dist/go-static" not in printed  # static programs run on alpine: nothing to report


def shell_examples() -> list[tuple[str, int]]:
    """Every `linkcheck ...` line of README's ``sh`` blocks with the exit status its comment gives."""
    out = []
    for block in code_blocks("sh"):
        for line in block.splitlines():
            if line.startswith("linkcheck "):
                status = re.search(r"# exit (\d)", line)
                assert status, f"README example without its exit status: {line}"
                out.append((line.split("#")[0].strip(), int(status.group(1))))
    return out


def venv_bin() -> str:
    return str(Path(sys.executable).parent)


@pytest.mark.parametrize(("command", "status"), shell_examples())
def test_readme_shell_example_gives_its_documented_exit_status(tmp_path: Path, command: str, status: int
                                                               ) -> None:
    result = subprocess.run(["bash", "-c", command], cwd=sandbox(tmp_path), capture_output=True, text=True,
                            timeout=120, check=False,
                            env={**os.environ, "PATH": f"{venv_bin()}:{os.environ.get('PATH', '')}"})
    assert result.returncode == status, (command, result.stdout[-2000:], result.stderr)
    assert "Traceback" not in result.stderr
    if status == ExitStatus.ERROR:
        assert len(result.stderr.strip().splitlines()) == 1


def test_readme_verdict_transcript_is_what_the_command_prints() -> None:
    """The ``text`` block showing a session: the same command prints the same lines and exit status."""
    [session] = [b for b in code_blocks("text") if b.startswith("$ linkcheck ")]
    lines = session.splitlines()
    command = lines[0][2:]
    status_at = lines.index("$ echo $?")
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False, env={**os.environ, "PATH": f"{venv_bin()}:{os.environ['PATH']}"})
    assert result.stdout.splitlines() == lines[1:status_at]
    assert result.returncode == int(lines[status_at + 1])


# -- the installed package ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv where linkcheck is installed as users get it: a wheel built from this tree, installed by
    pip, not editable (click is taken from this environment: nothing is downloaded)."""
    import click

    where = tmp_path_factory.mktemp("installed")
    wheels = where / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                            str(ROOT)], capture_output=True, text=True, timeout=600, check=False)
    if build.returncode != 0:
        pytest.fail(f"the package does not build: {build.stderr[-2000:]}")
    [wheel] = wheels.glob("elf_linkcheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("licenses/LICENSE") for n in names), "the wheel carries the license"
    assert "linkcheck/image/profiles/index.json" in names and "linkcheck/py.typed" in names
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    site = subprocess.run([str(venv / "bin/python"), "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # click from here, appended after the venv's own packages (so the installed linkcheck comes first).
    (Path(site) / "click-from-tests.pth").write_text(str(Path(click.__file__).parent.parent) + "\n")
    return venv


def test_the_installed_package_is_the_one_used_and_says_its_version(installed: Path) -> None:
    py = str(installed / "bin/python")
    where = subprocess.run([py, "-c", "import linkcheck, importlib.metadata as m; print(linkcheck.__file__); "
                            "print(linkcheck.__version__, m.version('elf-linkcheck'))"],
                           capture_output=True, text=True, check=True, cwd="/").stdout.split("\n")
    assert where[0].startswith(str(installed)), where  # not this source tree
    version, metadata = where[1].split()
    assert version == metadata == linkcheck.__version__  # one place: linkcheck.__version__
    said = subprocess.run([str(installed / "bin/linkcheck"), "--version"], capture_output=True, text=True,
                          check=True).stdout
    assert linkcheck.__version__ in said


def test_readme_examples_run_on_the_installed_package(installed: Path, tmp_path: Path) -> None:
    box = sandbox(tmp_path)
    env = {**os.environ, "PATH": f"{installed / 'bin'}:{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    for command, status in shell_examples():
        result = subprocess.run(["bash", "-c", command], cwd=box, capture_output=True, text=True, timeout=120,
                                check=False, env=env)
        assert result.returncode == status, (command, result.stderr)
    printed = ""
    for block in code_blocks("python"):
        result = subprocess.run([str(installed / "bin/python"), "-c", block], cwd=box, capture_output=True,
                                text=True, timeout=120, check=False, env=env)
        assert result.returncode == 0, result.stderr
        printed += result.stdout
    assert "MISSING_INTERPRETER" in printed and "wrong-architecture" in printed


def test_check_gives_runtime_findings_beside_runs(tmp_path: Path) -> None:
    from runtime_fixtures import runtime_fixtures

    program = tmp_path / "go-afterstart"
    shutil.copyfile(runtime_fixtures() / "go-afterstart", program)
    verdict = linkcheck.check(str(program), "alpine:3.20")
    assert verdict.runs
    assert [f.kind.value for f in verdict.findings] == ["time-zones"]
    run = linkcheck.Run(targets=[linkcheck.load_target("alpine:3.20")],
                        fail_on=frozenset(f.kind for f in verdict.findings))
    assert [c.failed for c in run.check(program)] == [True]
    assert run.status is ExitStatus.WONT_RUN
