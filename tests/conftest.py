"""Shared paths and skips for the test suite."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_BIN = FIXTURES / "bin"
MANIFEST = FIXTURES / "manifest.json"
# Real image root filesystems, provided beside the project (see ../shared/rootfs/README.md); a git
# worktree elsewhere names them with LINKCHECK_SHARED_ROOTFS.
SHARED_ROOTFS = Path(os.environ.get("LINKCHECK_SHARED_ROOTFS") or ROOT.parent / "shared" / "rootfs")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
slow = pytest.mark.skipif(os.environ.get("LINKCHECK_SLOW") != "1", reason="slow; set LINKCHECK_SLOW=1")


def load_manifest() -> dict[str, dict[str, Any]]:
    """fixture name -> expected facts, as the build recipe made them (fixtures/manifest.json)."""
    data: dict[str, Any] = json.loads(MANIFEST.read_text())
    fixtures: dict[str, dict[str, Any]] = data["fixtures"]
    return fixtures


def snapshot_tree(path: Path) -> dict[str, tuple[int, int, int, bytes | str]]:
    """Every entry under ``path``: mode, size, mtime and content (a FIFO is never opened), to show that
    nothing was written."""
    out: dict[str, tuple[int, int, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            content: bytes | str = ""
            if stat.S_ISREG(st.st_mode):
                content = Path(p).read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns, content)
    return out
