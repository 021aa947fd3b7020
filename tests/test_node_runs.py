"""Node.js addons against real loads: real npm packages that ship prebuilt addons for both libcs (rollup,
lightningcss) and esbuild's static binary, `require()`d by Debian bookworm's node 18 and dlopen()ed by
the real alpine root's musl loader (no musl node is available here: a small musl-gcc program makes the
same dlopen(RTLD_LAZY) call node's process.dlopen makes and prints dlerror(), which node puts after
"Error: "). An addon not built on Node-API, compiled here against this machine's Node.js headers, is
`require()`d by node 18 for its NODE_MODULE_VERSION message.

The npm packages are installed once into /var/tmp/linkcheck-npm/ (keyed by the package list) with npm's
own configuration. Slow (debootstrap, npm): LINKCHECK_SLOW=1.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linkcheck.facts.reader import analyze
from linkcheck.image.target import load_target
from linkcheck.model import Outcome, RuntimeKind
from linkcheck.verdict.checks import check
from linkcheck.verdict.node import addon_abis

from conftest import slow
from launch import run_in_root
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [slow, pytest.mark.chroot]

PACKAGES = ("@rollup/rollup-linux-x64-gnu@4.68.8", "@rollup/rollup-linux-x64-musl@4.68.8",
            "lightningcss-linux-x64-gnu@1.33.0", "lightningcss-linux-x64-musl@1.33.0",
            "@esbuild/linux-x64@0.28.2")
NPM_CACHE = Path("/var/tmp/linkcheck-npm")
NODE_HEADERS = Path("/usr/include/node")
PROBE = """#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    if (!dlopen(argv[1], RTLD_LAZY)) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
    return 0;
}
"""


def node_modules() -> Path:
    """The packages installed with npm (whatever os/libc they declare), once per package list."""
    key = hashlib.sha256("\n".join(PACKAGES).encode()).hexdigest()[:16]
    where = NPM_CACHE / key
    if not (where / ".complete").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed")
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        got = subprocess.run([npm, "install", "--no-save", "--force", "--ignore-scripts", "--no-audit",
                              "--no-fund", "--prefix", str(where), *PACKAGES],
                             capture_output=True, text=True, timeout=600, check=False)
        if got.returncode != 0:
            pytest.skip(f"npm install failed: {got.stderr.strip()[-300:]}")
        (where / ".complete").touch()
    return where / "node_modules"


def addons(tree: Path) -> list[Path]:
    return sorted(tree.rglob("*.node"))


def _copy_into(root: Path, tree: Path) -> Path:
    dest = root / "app/node_modules"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(tree, dest, symlinks=True)
    return dest


def test_require_in_debian_node_matches_verdicts(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    tree = _copy_into(root, node_modules())
    target = load_target(str(root))
    assert target.runtime(RuntimeKind.NODE) is not None
    seen = set()
    for addon in addons(tree):
        in_root = "/" + str(addon.relative_to(root))
        verdict = check(analyze(addon), target, install_dir=os.path.dirname(in_root))
        real = run_in_root(root, "/usr/bin/node", ["node", "-e", f"require({in_root!r})"], timeout=60)
        seen.add(real.exit_code == 0)
        assert verdict.runs == (real.exit_code == 0), f"{in_root}: {verdict.message!r} vs {real.stderr!r}"
        if not verdict.runs:
            assert verdict.message in real.stderr.splitlines(), f"{verdict.message!r} not in {real.stderr!r}"
    assert seen == {True, False}  # the gnu builds load, the musl builds do not


def test_dlopen_in_real_alpine_matches_verdicts(root_factory: RootFactory, tmp_path: Path) -> None:  # noqa: F811
    musl_gcc = shutil.which("musl-gcc")
    if musl_gcc is None:
        pytest.skip("musl-gcc is not installed (apt-get install musl-tools)")
    root = root_factory.get("alpine-3.20.3-x86_64")
    tree = _copy_into(root, node_modules())
    (tmp_path / "probe.c").write_text(PROBE)
    subprocess.run([musl_gcc, "-o", str(root / "app/probe"), str(tmp_path / "probe.c")], check=True)
    target = load_target(str(root))
    outcomes = set()
    for addon in addons(tree):
        in_root = "/" + str(addon.relative_to(root))
        verdict = check(analyze(addon), target, install_dir=os.path.dirname(in_root))
        real = run_in_root(root, "/app/probe", ["probe", in_root])
        outcomes.add(verdict.outcome)
        # The probe is not node: an addon whose libraries all load then stops at the first Node-API
        # symbol node itself would have provided (musl binds every symbol at dlopen).
        loads = real.exit_code == 0 or re.fullmatch(
            rf"Error relocating {re.escape(in_root)}: napi_\w+: symbol not found\n", real.stderr) is not None
        assert verdict.runs == loads, f"{in_root}: {verdict.message!r} vs {real.stderr!r}"
        if not verdict.runs:
            assert verdict.message == "Error: " + real.stderr.strip()
    assert Outcome.MISSING_LIBRARY in outcomes


def test_node_alpine_names_every_glibc_addon_with_nodes_message() -> None:
    """`linkcheck node_modules --target node:20-alpine`: every gnu build is named, with the musl
    loader's words for its first missing library as node prints them; the musl builds and esbuild's
    static binary run."""
    tree = node_modules()
    target = load_target("node:20-alpine", "amd64")
    for addon in addons(tree):
        verdict = check(analyze(addon), target, install_dir="/app/node_modules/" + str(
            addon.parent.relative_to(tree)))
        if "-gnu" in addon.name:
            assert verdict.outcome is Outcome.MISSING_LIBRARY
            assert re.fullmatch(r"Error: Error loading shared library ld-linux-x86-64\.so\.2: No such file "
                                r"or directory \(needed by /app/node_modules/.*\.node\)", verdict.message)
        else:
            assert verdict.runs, verdict.message
    esbuild = tree / "@esbuild/linux-x64/bin/esbuild"
    assert check(analyze(esbuild), target).runs


def test_module_version_mismatch_is_nodes_own_message(root_factory: RootFactory,  # noqa: F811
                                                      tmp_path: Path) -> None:
    gxx = shutil.which("g++")
    if gxx is None or not (NODE_HEADERS / "node.h").exists():
        pytest.skip("needs g++ and Node.js headers in /usr/include/node")
    root = root_factory.get("debian-bookworm-runtimes")
    (tmp_path / "abi.cc").write_text("#include <node.h>\nNODE_MODULE_INIT() {}\n")
    addon = root / "app/abi.node"
    addon.parent.mkdir(exist_ok=True)
    subprocess.run([gxx, "-shared", "-fPIC", f"-I{NODE_HEADERS}", "-o", str(addon), str(tmp_path / "abi.cc")],
                   check=True)
    target = load_target(str(root))
    node = target.runtime(RuntimeKind.NODE)
    assert node is not None and node.abi is not None
    built = addon_abis(analyze(addon).elf)  # type: ignore[arg-type]
    if built == (node.abi,):
        pytest.skip("this machine's Node.js headers are for the root's own Node.js")
    verdict = check(analyze(addon), target, install_dir="/app")
    real = run_in_root(root, "/usr/bin/node", ["node", "-e", "require('/app/abi.node')"], timeout=60)
    assert real.exit_code != 0 and verdict.outcome is Outcome.NODE_MODULE_VERSION
    assert verdict.message in real.stderr, f"{verdict.message!r}\n---\n{real.stderr}"
