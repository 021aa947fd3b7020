"""Shared paths and skips for the test suite."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_BIN = FIXTURES / "bin"
MANIFEST = FIXTURES / "manifest.json"
# Real image root filesystems, provided beside the project (see ../shared/rootfs/README.md).
SHARED_ROOTFS = ROOT.parent / "shared" / "rootfs"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
slow = pytest.mark.skipif(os.environ.get("LINKCHECK_SLOW") != "1", reason="slow; set LINKCHECK_SLOW=1")


def load_manifest() -> dict[str, dict[str, Any]]:
    """fixture name -> expected facts, as the build recipe made them (fixtures/manifest.json)."""
    data: dict[str, Any] = json.loads(MANIFEST.read_text())
    fixtures: dict[str, dict[str, Any]] = data["fixtures"]
    return fixtures
