"""A file truncated by another process while linkcheck holds what it read of it: the reader runs in a child
process (a fault there, SIGBUS, kills only the child), says when it has read, waits while this process
truncates the file, then touches every page of what it read. Used by tests/test_tree.py and
tests/test_archive.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import sys
{setup}
sys.stdout.write("read\\n"); sys.stdout.flush()
sys.stdin.readline()  # the file is truncated now
pages = sum(buf[i] for i in range(0, len(buf), 4096))
print(len(buf), pages)
"""


def touch_after_truncation(setup: str, victim: Path, to: int = 0) -> tuple[int, str]:
    """Run ``setup`` (Python that leaves the bytes it read in ``buf``) in a child; once it has read,
    truncate ``victim`` to ``to`` bytes, then let the child touch every page of ``buf``. (returncode,
    stdout): -7 (SIGBUS) when the bytes read still depended on the file."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(setup=setup)], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    said = child.stdout.readline()
    assert said == "read\n", said + (child.stderr.read() if child.stderr else "")
    os.truncate(victim, to)
    out, err = child.communicate("go\n", timeout=120)
    return child.returncode, out + err
