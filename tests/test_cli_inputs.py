"""An input named on the command line that cannot be read exits 2 with one line on stderr, whatever kind of
input it claims to be; an empty gate or platform value is a usage error, not a gate switched off."""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus

from conftest import ROOT, SHARED_ROOTFS

BUSYBOX_OCI = SHARED_ROOTFS / "busybox-1.38.0-glibc-amd64-oci"
PROGRAM = shutil.which("true") or "/bin/true"
NOBODY = 65534


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)


def one_line_and_2(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == ExitStatus.ERROR, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkcheck: "), done.stderr
    return lines[0]


def xz_layout(dest: Path) -> Path:
    """The real busybox OCI layout, its layer replaced by an xz-compressed one (a compression no
    container runtime reads from a layer, nor linkcheck: zstd and gzip are read)."""
    shutil.copytree(BUSYBOX_OCI, dest)
    index = json.loads((dest / "index.json").read_text())
    entry = index["manifests"][0]
    blob = dest / "blobs" / entry["digest"].replace(":", "/")
    manifest = json.loads(blob.read_text())
    for layer in manifest["layers"]:
        old = dest / "blobs" / layer["digest"].replace(":", "/")
        xz = lzma.compress(gzip.decompress(old.read_bytes()))
        layer_digest = hashlib.sha256(xz).hexdigest()
        (dest / "blobs" / "sha256" / layer_digest).write_bytes(xz)
        layer.update(digest=f"sha256:{layer_digest}", size=len(xz))
    data = json.dumps(manifest).encode()
    digest = hashlib.sha256(data).hexdigest()
    (dest / "blobs" / "sha256" / digest).write_bytes(data)
    entry.update(digest=f"sha256:{digest}", size=len(data))
    (dest / "index.json").write_text(json.dumps(index))
    return dest


def test_unreadable_wheels_and_images_named_on_the_command_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "garbage.whl").write_bytes(b"not a zip")
    (tmp_path / "cut.whl").write_bytes(b"PK\x03\x04" + bytes(40))
    (tmp_path / "garbage.tar").write_text("not a tar\n")
    inputs = [tmp_path / "missing.whl", tmp_path / "garbage.whl", tmp_path / "cut.whl",
              tmp_path / "missing.tar", tmp_path / "garbage.tar"]
    if BUSYBOX_OCI.is_dir():
        whole = tmp_path / "image.tar"
        with tarfile.open(whole, "w") as tar:
            tar.add(BUSYBOX_OCI, arcname=".")
        (tmp_path / "cut.tar").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
        inputs += [tmp_path / "cut.tar", xz_layout(tmp_path / "xz-layout")]
    for path in inputs:
        line = one_line_and_2(run(str(path), "-t", "alpine"))
        assert str(path) in line, line
        done = run(str(path), "--json")  # the same, as the document's one error
        assert done.returncode == ExitStatus.ERROR
        assert [e["path"] for e in json.loads(done.stdout)["errors"]] == [str(path)]


@pytest.mark.parametrize("option", ["--max-glibc", "--arch", "--platform"])
def test_an_empty_gate_or_platform_is_a_usage_error(option: str) -> None:
    line = one_line_and_2(run(PROGRAM, option, ""))
    assert "''" in line or "empty" in line
    # A usage message naming the option and what it expects, not a lookup failure of the empty name.
    assert option in line and "unknown" not in line, line


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the command as another user")
def test_unreadable_files_inside_a_tree_are_not_counted_as_checked() -> None:
    """As an unprivileged user (root reads any file): one program it may not read, one script it may."""
    import click

    site = Path(click.__file__).resolve().parent.parent

    def drop() -> None:
        os.setgid(NOBODY)
        os.setgroups([])
        os.setuid(NOBODY)

    with tempfile.TemporaryDirectory(dir="/tmp") as where:  # pytest's tmp_path is private to root
        os.chmod(where, 0o755)
        secret, script = Path(where) / "secret", Path(where) / "ok.sh"
        secret.write_bytes(Path(PROGRAM).read_bytes())
        secret.chmod(0o000)
        script.write_bytes(b"#!/bin/sh\necho\n")
        done = subprocess.run(["/usr/bin/python3", "-m", "linkcheck", where, "-t", "alpine"],
                              capture_output=True, text=True, timeout=120, check=False, preexec_fn=drop,
                              cwd="/", env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == ExitStatus.WONT_RUN, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{where}: 1 file checked, 1 could not be read"
    assert lines[-1] == "  every file read runs; 1 could not be read"
