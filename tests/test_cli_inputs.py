"""An input named on the command line that cannot be read exits 2 with one line on stderr, whatever kind of
input it claims to be; an empty gate or platform value is a usage error, not a gate switched off."""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus

from conftest import ROOT, SHARED_ROOTFS

BUSYBOX_OCI = SHARED_ROOTFS / "busybox-1.38.0-glibc-amd64-oci"
PROGRAM = shutil.which("true") or "/bin/true"


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


def test_unreadable_files_inside_a_tree_are_not_counted_as_checked(tmp_path: Path) -> None:
    (tmp_path / "cut").write_bytes(b"\x7fELF\x02\x01\x01")  # ELF magic, then nothing
    (tmp_path / "ok.sh").write_bytes(b"#!/bin/sh\necho\n")
    done = run(str(tmp_path), "-t", "alpine")
    assert done.returncode == ExitStatus.WONT_RUN
    lines = done.stdout.splitlines()
    assert lines[0] == f"{tmp_path}: 1 file checked, 1 could not be read"
    assert lines[-1] == "  every file read runs; 1 could not be read"
