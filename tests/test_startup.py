"""The command's start-up imports only what the call needs (issue 8): checking one program against a
built-in image loads no scanning, registry, image-archive or language-runtime code. Speed itself is
measured by benchmarks/startup.py, never timed here; what is pinned is which modules a call loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURE_BIN

# Runs the command in a fresh interpreter and prints, last, the modules it loaded (its own output and
# exit status are the command's).
_PROBE = """
import json, sys
from linkcheck.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""

# Modules that only other inputs or options need: a tree or archive scan, a registry pull, an image
# archive, a language runtime (Java, Node, Python), a wheel, SARIF, the after-start checks' wording.
RARE = (
    "linkcheck.scan",
    "linkcheck.image.archive",
    "linkcheck.image.registry",
    "linkcheck.image.distribution",
    "linkcheck.image.cache",
    "linkcheck.image.runtimes",
    "linkcheck.facts.wheel",
    "linkcheck.facts.venv",
    "linkcheck.verdict.java",
    "linkcheck.verdict.node",
    "linkcheck.verdict.python",
    "linkcheck.output.sarif",
    "traceback",
)


def loaded(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    names: list[str] = json.loads(result.stdout.splitlines()[-1])
    return set(names)


def test_one_program_on_a_built_in_image_loads_no_scan_registry_or_runtime_code() -> None:
    modules = loaded(str(FIXTURE_BIN / "c-glibc-dynamic"), "--target", "alpine")
    assert "linkcheck.verdict.checks" in modules  # it did judge the file
    assert sorted(modules.intersection(RARE)) == []


def test_the_matrix_of_built_in_images_loads_no_scan_registry_or_runtime_code() -> None:
    modules = loaded(str(FIXTURE_BIN / "c-glibc-dynamic"))
    assert "linkcheck.verdict.checks" in modules
    assert sorted(modules.intersection(RARE)) == []


@pytest.mark.parametrize(("args", "needed"), [
    # Positive controls: the same probe sees these modules when a call does need them.
    ([str(FIXTURE_BIN)], "linkcheck.scan"),
    ([str(FIXTURE_BIN / "hello17.jar"), "--target", "eclipse-temurin:17-jre"], "linkcheck.image.runtimes"),
    ([str(FIXTURE_BIN / "hello17.jar"), "--target", "eclipse-temurin:17-jre"], "linkcheck.verdict.java"),
    ([str(FIXTURE_BIN / "c-glibc-dynamic"), "--target", "localhost:1/none:1", "--offline"],
     "linkcheck.image.registry"),
])
def test_the_probe_sees_a_module_a_call_needs(args: list[str], needed: str) -> None:
    assert needed in loaded(*args)
