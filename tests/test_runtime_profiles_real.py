"""The built-in runtime profiles agree with real runtimes on the facts both have. Where an image is made of
Debian's own packages (gcr.io/distroless/java17-debian12 is Debian 12's openjdk-17-jre-headless,
gcr.io/distroless/python3-debian12 its python3.11), the profile is compared with a debootstrapped bookworm
root holding those packages, read by linkcheck as a directory target and run for real; the Node.js
module version the node:18 and node:20 profiles carry is compared with Debian's node 18 (bookworm) and 20
(trixie): its libnode.so.N and what `node` itself says; and the real CPython 3.11 and 3.13 name their
modules for their own libc. Slow (debootstrap): LINKCHECK_SLOW=1.
"""

from __future__ import annotations

import posixpath

import pytest

from linkcheck.image.runtimes import all_runtime_images, find_runtime_image
from linkcheck.image.target import load_target
from linkcheck.image.tree import DirectoryTree, resolve
from linkcheck.model import RuntimeKind
from linkcheck.verdict.python import triplet_libc

from conftest import slow
from launch import run_in_root
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [slow, pytest.mark.chroot]

ROOT_NAME = "debian-bookworm-runtimes"  # bookworm + openjdk-17-jre-headless, python3, nodejs


def _profile(name: str, kind: RuntimeKind) -> tuple[str, str | None, int, str | None]:
    found = find_runtime_image(name)
    assert found is not None, name
    image = found[0]
    rt = image.runtime
    assert rt.kind is kind
    home = rt.home.replace("{docker_arch}", "amd64") if rt.home else None
    return rt.command.replace("{docker_arch}", "amd64"), home, rt.release, rt.vendor


def test_distroless_java17_is_debians_openjdk_17(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get(ROOT_NAME)
    command, home, release, vendor = _profile("gcr.io/distroless/java17-debian12", RuntimeKind.JAVA)
    measured = load_target(str(root)).runtime(RuntimeKind.JAVA)
    assert measured is not None
    assert (measured.release, measured.command, measured.home, measured.vendor) == \
        (release, command, home, vendor)
    # The image's /usr/bin/java (the profile's program) leads to the same java in the real package.
    found = resolve(DirectoryTree(str(root)), "/usr/bin/java")
    assert found is not None and found[0] == command
    got = run_in_root(root, command, ["java", "-version"], timeout=60)
    assert got.exit_code == 0 and f'version "{release}.' in got.stderr, got.stderr


def test_distroless_python3_is_debians_python3(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get(ROOT_NAME)
    command, _home, release, _vendor = _profile("gcr.io/distroless/python3-debian12", RuntimeKind.PYTHON)
    measured = load_target(str(root)).runtime(RuntimeKind.PYTHON)
    assert measured is not None and (measured.release, measured.command) == (release, command)


@pytest.mark.parametrize("root_name", [ROOT_NAME, "debian-trixie-runtimes"])
def test_python_modules_are_named_for_the_pythons_libc(root_factory: RootFactory,  # noqa: F811
                                                       root_name: str) -> None:
    """The real CPython (3.11 in bookworm, 3.13 in trixie) names the modules it imports for its own libc,
    as linkcheck's python verdict assumes for every built-in python image of that release."""
    root = root_factory.get(root_name)
    target = load_target(str(root))
    python = target.runtime(RuntimeKind.PYTHON)
    assert python is not None
    code = "import sys, sysconfig; print(sys.version_info[1], sysconfig.get_config_var('EXT_SUFFIX'))"
    got = run_in_root(root, python.command, ["python3", "-c", code], timeout=60)
    minor, suffix = got.stdout.split()
    assert int(minor) == python.release
    assert suffix == f".cpython-3{minor}-x86_64-linux-gnu.so" and triplet_libc(f"x{suffix}") is target.libc
    assert any(im.runtime.release == python.release for im in all_runtime_images()
               if im.runtime.kind is RuntimeKind.PYTHON)


@pytest.mark.parametrize("root_name", [ROOT_NAME, "debian-trixie-runtimes"])
def test_node_module_version_of_the_node_profiles_is_nodes_own(root_factory: RootFactory,  # noqa: F811
                                                                root_name: str) -> None:
    """Debian's node 18 (bookworm) and 20 (trixie): the NODE_MODULE_VERSION it links (libnode.so.N) and
    reports is the one every built-in image of that Node.js release carries."""
    root = root_factory.get(root_name)
    measured = load_target(str(root)).runtime(RuntimeKind.NODE)
    assert measured is not None and measured.abi is not None
    got = run_in_root(root, measured.command, ["node", "-p", "process.versions.modules"], timeout=60)
    assert got.exit_code == 0 and int(got.stdout) == measured.abi  # libnode.so.N is what node says
    profiles = [im for im in all_runtime_images()
                if im.runtime.kind is RuntimeKind.NODE and im.runtime.release == measured.release]
    assert profiles, f"no built-in Node.js {measured.release} image"
    for image in profiles:
        assert image.runtime.abi == measured.abi, (image.name, image.runtime.abi)
    assert posixpath.basename(measured.command) in ("node", "nodejs")
