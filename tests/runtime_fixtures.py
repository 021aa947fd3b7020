"""The "it starts, then breaks" fixtures, built by fixtures/afterstart.sh once per machine into a cache
outside the clone (keyed by the sources and the recipe), since the Go TLS client is larger than the
committed fixtures may be."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES

CACHE = Path("/var/tmp")
SOURCES = ("afterstart.sh", "src/afterstart.c", "src/dlopen-z.c", "src/locale.c", "src/openssl-client.c",
           "src/openssl-stub.c", "src/resolve.c", "src/go/afterstart/main.go",
           "src/go/go.mod")
NAMES = ("go-afterstart", "go-afterstart-tzdata", "c-afterstart-static", "c-dlopen-z", "c-locale",
         "c-locale-musl", "c-openssl", "c-openssl-musl", "c-resolve", "c-resolve-musl")


def _key() -> str:
    h = hashlib.sha256()
    for rel in SOURCES:
        h.update(rel.encode() + b"\0" + (FIXTURES / rel).read_bytes())
    return h.hexdigest()[:16]


def runtime_fixtures() -> Path:
    """The directory holding NAMES; pytest.skip when the toolchains are missing."""
    out = CACHE / f"linkcheck-afterstart-{_key()}"
    if all((out / n).is_file() for n in NAMES):
        return out
    for tool in ("go", "gcc", "musl-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/test.sh installs golang-go, gcc and musl-tools)")
    partial = out.with_name(out.name + f".partial{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    proc = subprocess.run(["bash", str(FIXTURES / "afterstart.sh"), str(partial)], capture_output=True,
                          text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.fail(f"fixtures/afterstart.sh failed: {proc.stderr[-2000:]}")
    try:
        partial.rename(out)
    except OSError:  # another session built it first
        shutil.rmtree(partial, ignore_errors=True)
    return out


@pytest.fixture(scope="session")
def afterstart_bin() -> Path:
    return runtime_fixtures()
