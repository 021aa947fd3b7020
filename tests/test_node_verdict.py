"""verdict.node: an addon is judged as node's require() loads it (real loads: tests/test_node_runs.py).
The addons here are compiled on this machine: one against its Node.js headers (not Node-API), one that
exports napi_register_module_v1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linkcheck.api import scan_paths
from linkcheck.errors import ExitStatus
from linkcheck.facts.reader import analyze
from linkcheck.image.target import load_target
from linkcheck.model import Outcome
from linkcheck.verdict.checks import check
from linkcheck.verdict.node import addon_abis, is_node_api

from conftest import ROOT

NODE_HEADERS = Path("/usr/include/node")


def _compile(tmp: Path, name: str, source: str, *flags: str) -> Path:
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    (tmp / f"{name}.cc").write_text(source)
    out = tmp / f"{name}.node"
    subprocess.run([compiler, "-shared", "-fPIC", *flags, "-o", str(out), str(tmp / f"{name}.cc")],
                   check=True)
    return out


def test_addon_for_another_node_abi_is_refused_with_nodes_words(tmp_path: Path) -> None:
    if not (NODE_HEADERS / "node.h").exists():
        pytest.skip("no Node.js headers in /usr/include/node")
    addon = _compile(tmp_path, "abi", "#include <node.h>\nNODE_MODULE_INIT() {}\n", f"-I{NODE_HEADERS}")
    elf = analyze(addon).elf
    assert elf is not None
    (built,) = addon_abis(elf)
    other = "node:18-bookworm-slim" if built != 108 else "node:22-bookworm-slim"
    verdict = check(analyze(addon), load_target(other, "amd64"), install_dir="/app/build")
    assert verdict.outcome is Outcome.NODE_MODULE_VERSION
    assert verdict.message.startswith("Error: The module '/app/build/abi.node'\n"
                                      "was compiled against a different Node.js version using\n"
                                      f"NODE_MODULE_VERSION {built}. This version of Node.js requires\n")
    same = {108: 18, 115: 20, 127: 22, 137: 24}.get(built)
    if same is not None:
        assert check(analyze(addon), load_target(f"node:{same}-bookworm-slim", "amd64")).runs


def test_node_api_addon_loads_on_every_node(tmp_path: Path) -> None:
    addon = _compile(tmp_path, "napi", 'extern "C" void* napi_register_module_v1(void* e, void* x) '
                                       "{ return x; }\n")
    elf = analyze(addon).elf
    assert elf is not None and is_node_api(elf) and addon_abis(elf) == ()
    for image in ("node:18-bookworm-slim", "node:24-bookworm-slim", "gcr.io/distroless/nodejs22-debian12"):
        verdict = check(analyze(addon), load_target(image, "amd64"))
        assert verdict.runs and any("Node-API" in n for n in verdict.notes), (image, verdict.notes)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


def _glibc_addon_tree(tmp: Path) -> Path:
    """node_modules/pkg/build/Release/pkg.node, a glibc addon: its thread_local needs glibc's loader
    (__tls_get_addr), which musl images lack."""
    release = tmp / "node_modules/pkg/build/Release"
    release.mkdir(parents=True)
    built = _compile(tmp, "pkg", "#include <gnu/libc-version.h>\nstatic thread_local int depth;\n"
                     'extern "C" const char* version(void) { ++depth; return gnu_get_libc_version(); }\n'
                     'extern "C" void* napi_register_module_v1(void* e, void* x) { return x; }\n')
    built.rename(release / "pkg.node")
    return tmp / "node_modules"


def test_a_node_modules_directory_lives_in_app_node_modules(tmp_path: Path) -> None:
    tree = _glibc_addon_tree(tmp_path)
    result = _cli(str(tree), "--target", "node:20-alpine", "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.WONT_RUN, result.stderr
    (entry,) = json.loads(result.stdout)["files"]
    message = entry["verdicts"][0]["message"]
    assert "(needed by /app/node_modules/pkg/build/Release/pkg.node)" in message, message


def test_install_dir_says_where_a_directory_lives_in_the_image(tmp_path: Path) -> None:
    tree = _glibc_addon_tree(tmp_path)
    result = _cli(str(tree), "--install-dir", "/srv/web/node_modules/", "--target", "node:20-alpine",
                  "--platform", "amd64", "--json")
    message = json.loads(result.stdout)["files"][0]["verdicts"][0]["message"]
    assert "(needed by /srv/web/node_modules/pkg/build/Release/pkg.node)" in message, message
    # The same through the library call.
    (found,) = scan_paths(tree, targets=[load_target("node:20-alpine", "amd64")], install_dir="/opt/nm")
    assert "(needed by /opt/nm/pkg/build/Release/pkg.node)" in found.verdicts[0].message


def test_an_empty_install_dir_is_a_usage_error(tmp_path: Path) -> None:
    tree = _glibc_addon_tree(tmp_path)
    result = _cli(str(tree), "--install-dir", "", "--target", "node:20-alpine")
    assert result.returncode == ExitStatus.ERROR
    assert result.stderr.strip().count("\n") == 0 and "--install-dir" in result.stderr, result.stderr
