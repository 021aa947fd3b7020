"""The command as users and build scripts call it: exit statuses, one-line errors, JSON per the schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.errors import ExitStatus

from conftest import FIXTURES, ROOT, load_manifest

SCHEMA = json.loads((ROOT / "linkcheck" / "schema.json").read_text())
MANIFEST = load_manifest()


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def fixture(name: str) -> str:
    return str(FIXTURES / MANIFEST[name]["path"])


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == ExitStatus.ERROR, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def json_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def test_help_explains_the_loader_and_the_exit_statuses() -> None:
    result = run("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for words in ("program interpreter", "no such file or directory", "Exit status", "--target"):
        assert words in text


def test_readme_documents_every_exit_status() -> None:
    readme = (ROOT / "README.md").read_text()
    for status in ExitStatus:
        assert f"| {int(status)} |" in readme, status


@pytest.mark.parametrize("args", [
    ["/no/such/file"],
    ["--max-glibc", "two", "fixtures/bin/c-glibc-dynamic"],
    ["--bogus-option"],
    ["fixtures/bin/c-glibc-dynamic", "--target", "nosuchimage"],
    ["--arch", "vax", "fixtures/bin/c-glibc-dynamic"],
    ["--json", "--jsonl", "fixtures/bin/c-glibc-dynamic"],
])
def test_bad_input_is_one_line_and_status_2(args: list[str]) -> None:
    assert one_line_error(run(*args)).startswith("linkcheck: ")


def test_fifo_is_refused_promptly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "pipe" in one_line_error(run(str(fifo)))


def test_json_document_validates_for_every_fixture() -> None:
    paths = [fixture(n) for n in sorted(MANIFEST) if MANIFEST[n].get("format") != "elf"
             or MANIFEST[n].get("machine")]
    document = json_of(run("--json", *paths))
    assert document["schema"] == 1
    by_path = {f["path"]: f for f in document["files"]}
    for name in sorted(MANIFEST):
        facts = MANIFEST[name]
        if fixture(name) not in by_path:
            continue
        entry = by_path[fixture(name)]
        for key in ("format", "machine", "linkage", "interpreter", "soname", "min_glibc"):
            if key in facts:
                assert entry[key] == facts[key], (name, key)


def test_static_gate_exit_statuses() -> None:
    assert run(fixture("c-glibc-static-pie"), "--static").returncode == ExitStatus.OK
    failed = run(fixture("c-glibc-dynamic"), "--static")
    assert failed.returncode == ExitStatus.WONT_RUN
    assert "/lib64/ld-linux-x86-64.so.2" in failed.stdout


def test_max_glibc_gate_names_symbol() -> None:
    failed = run(fixture("c-glibc-new"), "--max-glibc", "2.31")
    assert failed.returncode == ExitStatus.WONT_RUN
    assert "__libc_start_main@GLIBC_2.34" in failed.stdout
    assert run(fixture("c-glibc-new"), "--max-glibc", "2.36").returncode == ExitStatus.OK


def test_arch_gate() -> None:
    assert run(fixture("go-static-arm64"), "--arch", "linux/arm64").returncode == ExitStatus.OK
    assert run(fixture("go-static"), "--arch", "arm64").returncode == ExitStatus.WONT_RUN


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("objcopy")), reason="needs gcc and objcopy")
def test_tree_scan_names_debug_info_files(tmp_path: Path) -> None:
    # A separate debug-info file is one line saying what it is, not an unreadable or damaged file.
    (tmp_path / "p.c").write_text("int main(void) { return 0; }")
    subprocess.run(["gcc", "-o", str(tmp_path / "prog"), str(tmp_path / "p.c")], check=True)
    subprocess.run(["objcopy", "--only-keep-debug", str(tmp_path / "prog"), str(tmp_path / "prog.debug")],
                   check=True)
    (tmp_path / "p.c").unlink()
    facts = run(str(tmp_path))
    assert facts.returncode == ExitStatus.OK, facts.stdout
    line = next(line for line in facts.stdout.splitlines() if "prog.debug" in line)
    assert "debug-info" in line and "unreadable" not in facts.stdout
    document = json_of(run(str(tmp_path), "--json"))
    debug = next(f for f in document["files"] if f["path"].endswith("prog.debug"))
    assert debug["linkage"] == "debug-info" and "debug info for build ID" in debug["description"]


def test_arch_gate_tells_big_endian_arm_from_armel(tmp_path: Path) -> None:
    # A big-endian ARM program is not armel: a little-endian ARM kernel refuses it.
    from elfwriter import EM_ARM, ET_EXEC, ElfSpec, write

    for order, machine in (("big", "armeb"), ("little", "armel")):
        path = tmp_path / f"prog-{order}"
        path.write_bytes(write(ElfSpec(elf_class=32, endianness=order, machine=EM_ARM, elf_type=ET_EXEC,
                                       dynamic=False)))
        armel = run(str(path), "--arch", "armel")
        expected = ExitStatus.OK if machine == "armel" else ExitStatus.WONT_RUN
        assert armel.returncode == expected, armel.stdout
        assert f"built for {machine}" in armel.stdout
        assert run(str(path), "--arch", "armeb").returncode == (
            ExitStatus.OK if machine == "armeb" else ExitStatus.WONT_RUN)


def test_glibc_binary_on_alpine_explains_the_missing_loader() -> None:
    result = run(fixture("c-glibc-dynamic"), "--target", "alpine", "--platform", "linux/amd64")
    assert result.returncode == ExitStatus.WONT_RUN
    assert "no such file or directory" in result.stdout
    assert "/lib64/ld-linux-x86-64.so.2" in result.stdout
    assert "/lib/ld-musl-x86_64.so.1" in result.stdout


def test_exit_1_when_any_named_target_fails() -> None:
    both = run(fixture("c-glibc-dynamic"), "-t", "debian:bookworm-slim", "-t", "alpine",
               "--platform", "amd64")
    assert both.returncode == ExitStatus.WONT_RUN
    good = run(fixture("c-glibc-dynamic"), "-t", "debian:bookworm-slim", "--platform", "amd64")
    assert good.returncode == ExitStatus.OK


def test_static_binary_runs_on_scratch_json() -> None:
    document = json_of(run(fixture("go-static"), "--target", "scratch", "--platform", "amd64", "--json"))
    (verdict,) = document["files"][0]["verdicts"]
    assert verdict["runs"] is True and verdict["outcome"] == "runs"


def test_matrix_names_smallest_image() -> None:
    result = run(fixture("c-musl-dynamic"), "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.OK
    entry = json_of(result)["files"][0]
    running = {v["target"] for v in entry["verdicts"] if v["runs"]}
    assert entry["smallest_target"] in running
    assert all(not t.startswith(("debian", "ubuntu")) for t in running)


def test_one_bad_file_among_good_ones_still_reports_the_good_ones() -> None:
    result = run("--json", fixture("c-glibc-dynamic"), "/no/such/file")
    assert result.returncode == ExitStatus.ERROR
    document = json_of(result)
    assert [f["path"] for f in document["files"]] == [fixture("c-glibc-dynamic")]
    assert document["errors"][0]["path"] == "/no/such/file"


def test_list_targets_shows_sources() -> None:
    result = run("--list-targets")
    assert result.returncode == 0
    assert "alpine:3.20" in result.stdout and "musl" in result.stdout


def test_directory_scan_reports_each_file_that_would_not_run(tmp_path: Path) -> None:
    for name in ("go-static", "c-glibc-dynamic", "script-bash"):
        (tmp_path / name).write_bytes(Path(fixture(name)).read_bytes())
        (tmp_path / name).chmod(0o755)
    result = run(str(tmp_path), "--target", "alpine:3.20", "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.WONT_RUN
    outcomes = {Path(f["path"]).name: f["verdicts"][0]["outcome"] for f in json_of(result)["files"]}
    # What each recipe makes: a static Go program runs anywhere; glibc's loader and bash are not in alpine.
    assert outcomes == {"go-static": "runs", "c-glibc-dynamic": "missing-interpreter",
                        "script-bash": "missing-interpreter"}


def test_directory_of_static_programs_passes_on_scratch(tmp_path: Path) -> None:
    for name in ("go-static", "c-glibc-static", "c-musl-static"):
        (tmp_path / name).write_bytes(Path(fixture(name)).read_bytes())
    assert run(str(tmp_path), "--target", "scratch", "--platform", "amd64").returncode == ExitStatus.OK


def _dynamic_segment_past_the_end(program: bytes) -> bytes:
    """The program with PT_DYNAMIC moved past the end of the file: the kernel starts it (it never
    reads PT_DYNAMIC), linkcheck cannot read what the loader would."""
    import struct

    data = bytearray(program)
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 2:
            struct.pack_into("<Q", data, phoff + 56 * i + 8, len(data) + 4096)
    return bytes(data)


def test_unreadable_file_inside_a_tree_is_a_finding_not_a_usage_error(tmp_path: Path) -> None:
    program = Path(fixture("c-glibc-dynamic")).read_bytes()
    (tmp_path / "broken").write_bytes(_dynamic_segment_past_the_end(program))
    result = run(str(tmp_path), "--target", "scratch", "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.WONT_RUN
    assert json_of(result)["errors"][0]["path"].endswith("broken")


def test_jsonl_lines_are_schema_file_entries() -> None:
    file_schema = {**SCHEMA["properties"]["files"]["items"], "$schema": SCHEMA["$schema"]}
    result = run("--jsonl", "--target", "slim", "--platform", "amd64",
                 fixture("cxx-glibc"), fixture("go-static"))
    assert result.returncode == ExitStatus.OK
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        jsonschema.validate(json.loads(line), file_schema)


def test_sarif_log_names_the_rule_and_the_file(tmp_path: Path) -> None:
    log = tmp_path / "out.sarif"
    result = run(fixture("rust-glibc"), "--target", "distroless/static", "--platform", "amd64",
                 "--sarif", str(log))
    assert result.returncode == ExitStatus.WONT_RUN
    sarif = json.loads(log.read_text())
    assert sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    rule_ids = {r["ruleId"] for r in run_["results"]}
    assert "missing-interpreter" in rule_ids
    assert any("rust-glibc" in json.dumps(r["locations"]) for r in run_["results"])


def test_real_oci_image_is_judged_against_itself() -> None:
    layout = ROOT.parent / "shared" / "rootfs" / "busybox-1.38.0-glibc-amd64-oci"
    if not layout.is_dir():
        pytest.skip("../shared/rootfs is not present")
    result = run(str(layout), "--json")
    assert result.returncode == ExitStatus.OK
    files = json_of(result)["files"]
    busybox = [f for f in files if f["path"].endswith("!/bin/busybox")]
    assert busybox and busybox[0]["linkage"] == "glibc-dynamic"
    assert all(v["runs"] for v in busybox[0]["verdicts"])


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root to drop to an unprivileged user, and the system python3")
def test_unreadable_file_is_one_line_and_status_2() -> None:
    """As an unprivileged user (root reads files whatever their mode): a file without read permission,
    beside a readable one that the same user checks fine."""
    import tempfile

    import click

    site = Path(click.__file__).resolve().parent.parent
    nobody = 65534

    def drop() -> None:
        os.setgid(nobody)
        os.setgroups([])
        os.setuid(nobody)

    def run_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/usr/bin/python3", "-m", "linkcheck", *args], capture_output=True, text=True,
                              timeout=60, check=False, preexec_fn=drop, cwd="/",
                              env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin"})

    with tempfile.TemporaryDirectory(dir="/tmp") as where:
        os.chmod(where, 0o755)
        readable, secret = Path(where) / "ok", Path(where) / "secret"
        for path, mode in ((readable, 0o644), (secret, 0o000)):
            path.write_bytes(Path(fixture("go-static")).read_bytes())
            path.chmod(mode)
        assert run_as_nobody(str(readable), "--static").returncode == ExitStatus.OK
        refused = one_line_error(run_as_nobody(str(secret), "--static"))
        assert refused == f"linkcheck: {secret}: permission denied"


def test_platform_without_target_shows_the_matrix_of_that_platform() -> None:
    result = run(fixture("go-static"), "--platform", "linux/arm64")
    assert result.returncode == ExitStatus.OK  # no target named: facts, not a failure
    assert "built-in images for linux/arm64" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "alpine:3.22" in line]
    assert rows and all("wrong-architecture" in row for row in rows)
    assert "it runs on none of the built-in images" in result.stdout


def test_an_empty_scan_is_one_line_and_status_2(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("the build put nothing here\n")
    line = one_line_error(run(str(tmp_path), "--target", "alpine"))
    assert line == f"linkcheck: {tmp_path}: no ELF file or script in it: nothing was checked"


def test_a_pure_python_wheel_is_not_an_empty_scan(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/__init__.py", "")
    result = run(str(wheel), "--target", "alpine", "--platform", "amd64")
    assert result.returncode == ExitStatus.OK, result.stderr
    assert "py3-none-any" in result.stdout


def test_an_image_with_targets_judges_each_of_its_files_on_each_target(tmp_path: Path) -> None:
    from test_archive import docker_save, layer_tar

    stage = docker_save(tmp_path / "build.tar", [layer_tar([
        ("f", "out/app", Path(fixture("c-glibc-dynamic")).read_bytes()),
        ("f", "out/tool", Path(fixture("go-static")).read_bytes())])])
    result = run(str(stage), "-t", "alpine", "-t", "debian:12-slim", "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.WONT_RUN
    verdicts = {f["path"].split("!")[1]: [(v["target"], v["runs"]) for v in f["verdicts"]]
                for f in json_of(result)["files"]}
    assert verdicts == {"/out/app": [("alpine:3.22", False), ("debian:bookworm-slim", True)],
                        "/out/tool": [("alpine:3.22", True), ("debian:bookworm-slim", True)]}


def test_an_image_with_no_elf_file_is_a_target_on_the_platform_asked(tmp_path: Path) -> None:
    from test_archive import docker_save, layer_tar

    image = docker_save(tmp_path / "scratch.tar", [layer_tar([("f", "etc/motd", b"hello\n")])], arch="arm64")
    static = run(fixture("go-static-arm64"), "--target", str(image), "--json")
    assert static.returncode == ExitStatus.OK  # arm64 from the image's config
    dynamic = run(fixture("c-glibc-dynamic-aarch64"), "--target", str(image), "--json")
    assert json_of(dynamic)["files"][0]["verdicts"][0]["outcome"] == "missing-interpreter"
    amd64 = run(fixture("go-static"), "--target", str(image), "--json")
    assert json_of(amd64)["files"][0]["verdicts"][0]["outcome"] == "wrong-architecture"
    on_arm = run(fixture("go-static-arm64"), "--target", str(image), "--platform", "linux/arm64")
    assert on_arm.returncode == ExitStatus.OK


def test_quiet_names_each_file_that_would_not_run() -> None:
    result = run("-q", fixture("c-glibc-dynamic"), fixture("rust-glibc"), fixture("go-static"),
                 "--target", "alpine", "--platform", "amd64")
    assert result.returncode == ExitStatus.WONT_RUN
    headers = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert headers == [fixture("c-glibc-dynamic"), fixture("rust-glibc")]


def test_a_tree_row_gives_each_target_its_own_problem(tmp_path: Path) -> None:
    shutil.copy(fixture("c-glibc-dynamic"), tmp_path / "prog")
    result = run(str(tmp_path), "-t", "alpine", "-t", "debian:bullseye-slim", "--platform", "amd64")
    [row] = [line for line in result.stdout.splitlines() if "glibc-dynamic" in line]
    alpine, bullseye = row.split("; ")
    assert "alpine:3.22: missing-interpreter" in alpine and "ld-linux-x86-64.so.2" in alpine
    assert "debian:bullseye-slim: missing-symbol-version" in bullseye and "GLIBC_2.34" in bullseye


def test_a_scan_without_target_does_not_say_anything_would_not_run(tmp_path: Path) -> None:
    for name in ("c-glibc-dynamic", "go-static"):
        shutil.copy(fixture(name), tmp_path / name)
    result = run(str(tmp_path))
    assert result.returncode == ExitStatus.OK
    assert "would not run" not in result.stdout and "2 files read" in result.stdout


def test_a_wheel_finding_is_said_once_not_under_every_module(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name in ("a", "b", "c"):
            zf.writestr(f"demo/_{name}.so", Path(fixture("libhello-glibc.so")).read_bytes())
    result = run(str(wheel), "--target", "alpine", "--platform", "amd64")
    assert result.returncode == ExitStatus.WONT_RUN
    notes = [line.split("  ")[-1] for line in result.stdout.splitlines() if ": pip on alpine" in line]
    assert notes and len(notes) == len(set(notes))  # each said once, of the wheel
    assert "4 files checked" in result.stdout  # the wheel and its 3 modules
    assert "1 of 4 would not run or fail a check" in result.stdout


def test_an_unknown_target_points_at_the_listing_that_exists() -> None:
    line = one_line_error(run(fixture("go-static"), "--target", "nosuchimage"))
    assert "--list-targets" in line and "`linkcheck targets`" not in line
@pytest.mark.parametrize("cut", [40, 100, 1000 // 2])
def test_a_file_the_kernel_refuses_is_a_verdict_not_an_input_error(tmp_path: Path, cut: int) -> None:
    """The first bytes of a program: execve fails with ENOEXEC (tests/test_kernel.py runs it), which
    Docker prints as 'exec format error': won't run, status 1, on every target and in the matrix."""
    path = tmp_path / "cut"
    path.write_bytes(Path(fixture("c-glibc-dynamic")).read_bytes()[:cut])
    result = run(str(path), "--target", "slim", "--platform", "amd64")
    assert result.returncode == ExitStatus.WONT_RUN, result
    assert "exec /app/cut: exec format error" in result.stdout
    matrix = run(str(path))  # no target: the matrix, which never fails the run by itself
    assert matrix.returncode == ExitStatus.OK and "it runs on none of the built-in images" in matrix.stdout
    verdicts = json_of(run(str(path), "--target", "alpine", "--platform", "amd64", "--json"))["files"][0]
    assert verdicts["kernel_refusal"]["errno"] == "ENOEXEC"
    assert verdicts["verdicts"][0]["outcome"] == "not-executable"
    import linkcheck

    verdict = linkcheck.check(path, "alpine")
    assert not verdict.runs and verdict.message == "exec /app/cut: exec format error"


def test_a_file_that_cannot_be_opened_stays_status_2(tmp_path: Path) -> None:
    path = tmp_path / "gone"
    assert one_line_error(run(str(path), "--target", "alpine")).endswith("no such file or directory")


# -- it starts, then breaks -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def go_afterstart(tmp_path_factory: pytest.TempPathFactory) -> str:
    from runtime_fixtures import runtime_fixtures

    d = tmp_path_factory.mktemp("afterstart")
    shutil.copyfile(runtime_fixtures() / "go-afterstart", d / "go-afterstart")
    return str(d / "go-afterstart")


def test_runtime_findings_are_shown_under_the_verdict_and_keep_the_status(go_afterstart: str) -> None:
    result = run(go_afterstart, "--target", "scratch")
    assert result.returncode == ExitStatus.OK, result.stderr
    assert "on scratch: starts, then breaks" in result.stdout
    assert "x509: certificate signed by unknown authority" in result.stdout
    assert "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/" in result.stdout


@pytest.mark.parametrize(("args", "status"), [
    (["--target", "scratch", "--strict"], ExitStatus.WONT_RUN),
    (["--target", "gcr.io/distroless/static-debian12", "--strict"], ExitStatus.OK),
    (["--target", "alpine:3.20", "--fail-on", "users"], ExitStatus.OK),
    (["--target", "alpine:3.20", "--fail-on", "time-zones"], ExitStatus.WONT_RUN),
    (["--strict"], ExitStatus.OK),  # no target named: the built-in matrix informs, never fails
])
def test_strict_and_fail_on_make_runtime_findings_fail(go_afterstart: str, args: list[str],
                                                       status: ExitStatus) -> None:
    assert run(go_afterstart, *args).returncode == status


def test_fail_on_an_unknown_kind_is_a_usage_error(go_afterstart: str) -> None:
    assert "--fail-on" in one_line_error(run(go_afterstart, "--fail-on", "network"))


def test_runtime_findings_in_json_follow_the_schema(go_afterstart: str) -> None:
    document = json_of(run(go_afterstart, "--target", "alpine:3.20", "--json"))
    findings = document["files"][0]["verdicts"][0]["findings"]
    assert [(f["kind"], f["reader"], f["confidence"]) for f in findings] == [("time-zones", "go", "high")]
    assert findings[0]["evidence"] == ["Go function time.LoadLocation"]
    assert "/usr/share/zoneinfo" in findings[0]["lacks"]
    assert "RUN apk add --no-cache tzdata" in findings[0]["fixes"]


def test_runtime_findings_in_a_tree_scan_and_sarif(go_afterstart: str, tmp_path: Path) -> None:
    sarif = tmp_path / "out.sarif"
    result = run(os.path.dirname(go_afterstart), "--target", "scratch", "--sarif", str(sarif))
    assert result.returncode == ExitStatus.OK, result.stderr
    assert "scratch: starts, then breaks: ca-certificates, time-zones, users, temp-dir" in result.stdout
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {(r["ruleId"], r["level"]) for r in results} == {
        ("breaks-ca-certificates", "warning"), ("breaks-time-zones", "warning"), ("breaks-users", "warning"),
        ("breaks-temp-dir", "warning")}


def test_locale_finding_follows_env_in_text_json_and_sarif(tmp_path: Path) -> None:
    from runtime_fixtures import runtime_fixtures

    program = str(runtime_fixtures() / "c-locale")
    missing = ("--target", "debian:bookworm-slim", "--env", "LANG=en_US.UTF-8")
    text = run(program, *missing)
    assert text.returncode == ExitStatus.OK, text.stderr
    assert "then breaks: locale en_US.UTF-8 (high confidence)" in text.stdout
    assert "why:    imports setlocale; LANG=en_US.UTF-8 (--env)" in text.stdout
    finding = json_of(run(program, *missing, "--json"))["files"][0]["verdicts"][0]["findings"][0]
    assert (finding["kind"], finding["subject"]) == ("locale", "en_US.UTF-8")
    assert "or set LANG=C.UTF-8, which the image has (/usr/lib/locale/C.utf8)" in finding["fixes"]
    sarif = tmp_path / "out.sarif"
    assert run(program, *missing, "--sarif", str(sarif), "--strict").returncode == ExitStatus.WONT_RUN
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("breaks-locale", "warning")]
    # The image has C.utf8, which serves C.UTF-8: nothing to say.
    served = run(program, "--target", "debian:bookworm-slim", "--env", "LANG=C.UTF-8", "--strict")
    assert served.returncode == ExitStatus.OK and "then breaks" not in served.stdout


def test_musl_dns_note_is_a_note_that_only_fail_on_dns_fails(tmp_path: Path) -> None:
    from runtime_fixtures import runtime_fixtures

    program = str(runtime_fixtures() / "c-resolve-musl")
    text = run(program, "--target", "alpine:3.20", "--strict")
    assert text.returncode == ExitStatus.OK, text.stderr
    assert "on alpine:3.20: runs" in text.stdout
    assert "note: dns musl 1.2.5 (differs from glibc)" in text.stdout
    assert run(program, "--target", "alpine:3.20", "--fail-on", "dns").returncode == ExitStatus.WONT_RUN
    sarif = tmp_path / "out.sarif"
    run(program, "--target", "alpine:3.20", "--sarif", str(sarif))
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("breaks-dns", "note")]
    document = json_of(run(program, "--target", "alpine:3.20", "--json"))
    finding = document["files"][0]["verdicts"][0]["findings"][0]
    assert (finding["kind"], finding["subject"], finding["lacks"]) == ("dns", "musl 1.2.5", [])


def test_wheel_python_loading_a_library_by_name_is_a_note(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "yamlload-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("yamlload/__init__.py", 'import ctypes\nctypes.CDLL("libyaml-0.so.2")\n')
        zf.writestr("yamlload-1.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    result = run(str(wheel), "--target", "debian:bookworm-slim", "--strict")
    assert result.returncode == ExitStatus.OK, result.stderr  # a note: --strict does not count it
    assert "note: yamlload/__init__.py may load libyaml-0.so.2 at run time" in result.stdout


def test_json_says_which_platform_a_matrix_is_for() -> None:
    matrix = json_of(run(fixture("go-static"), "--platform", "linux/arm64", "--json"))["files"][0]
    assert matrix["matrix_platform"] == "linux/arm64"
    assert {v["outcome"] for v in matrix["verdicts"]} == {"wrong-architecture"}
    named = json_of(run(fixture("go-static"), "--target", "alpine", "--json"))["files"][0]
    assert named["matrix_platform"] is None




def test_env_option_applies_to_a_built_in_target(tmp_path: Path) -> None:
    """--env PATH=... (as docker run -e) is the PATH env(1) searches for `#!/usr/bin/env sh`."""
    script = tmp_path / "run.sh"
    script.write_text("#!/usr/bin/env sh\necho hi\n")
    script.chmod(0o755)
    assert run(str(script), "-t", "alpine:3.20", "--platform", "linux/amd64").returncode == ExitStatus.OK
    moved = run(str(script), "-t", "alpine:3.20", "--platform", "linux/amd64", "--env", "PATH=/nowhere",
                "--json")
    assert moved.returncode == ExitStatus.WONT_RUN
    [verdict] = json_of(moved)["files"][0]["verdicts"]
    assert verdict["outcome"] == "missing-interpreter" and "/nowhere" in verdict["explanation"]


def test_malformed_env_option_is_a_usage_error() -> None:
    result = run(fixture("c-glibc-static"), "--env", "=x")
    assert result.returncode == ExitStatus.ERROR
    assert "--env" in one_line_error(result)
