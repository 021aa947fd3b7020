"""Real root filesystems to run fixtures in with chroot, built once per test session.

Every root is made of real files: the host's own glibc and libraries, Debian's musl loader, the static
busybox from busybox-static, the official image layers from ``conftest.SHARED_ROOTFS``, or a
debootstrap minbase (slow tests only, cached under /var/tmp/linkcheck-roots/). Nothing here is built
inside the repository.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import struct
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_ROOTFS
from launch import private_proc_works

HOST_MULTIARCH = "x86_64-linux-gnu"
HOST_LIBDIRS = (Path("/lib") / HOST_MULTIARCH, Path("/usr/lib") / HOST_MULTIARCH)
BUSYBOX = Path("/bin/busybox")
MUSL_LOADER = Path("/lib/ld-musl-x86_64.so.1")
GLIBC_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1")
CXX_LIBS = ("libgcc_s.so.1", "libstdc++.so.6")
GLIBC_LOADER = "ld-linux-x86-64.so.2"
DEBIAN_CACHE = Path("/var/tmp/linkcheck-roots")

# Roots made here from host files; then real image roots from SHARED_ROOTFS; then debootstrap ones.
BUILT_ROOTS = ("scratch", "glibc-host", "glibc-host-nocxx", "glibc-host-decoys", "musl", "busybox-static",
               "musl-glibc-link")
IMAGE_ROOTS = {
    "alpine-3.20.3-x86_64": "alpine-3.20.3-x86_64.tar.gz",
    "busybox-musl": "busybox-latest-musl-amd64.tar.gz",
    "busybox-uclibc": "busybox-latest-uclibc-amd64.tar.gz",
    "busybox-glibc": "busybox-1.38.0-glibc-amd64-oci",
}
# Older alpine releases (musl 1.2.4 and 1.2.4_git20230717), for the tests of musl's per-version symbols
# only (not the whole fixture matrix): alpinelinux/docker-alpine's v3.18 and v3.19 minirootfs tarballs.
OLDER_ALPINE_ROOTS = {
    "alpine-3.18.9-x86_64": "alpine-3.18.9-x86_64.tar.gz",
    "alpine-3.19.4-x86_64": "alpine-3.19.4-x86_64.tar.gz",
}
# The usual hack for glibc programs on a musl image: glibc's loader path as a symlink to musl's.
HACKED_IMAGE_ROOTS = {"alpine-glibc-link": "alpine-3.20.3-x86_64"}
DEBIAN_ROOTS = {"debian-bookworm": "bookworm", "debian-bullseye": "bullseye"}
# Debian roots with language runtimes from Debian's own packages (slow: hundreds of MB each). One root
# carries several runtimes, so a fresh machine debootstraps bookworm once for Java, Node and Python.
RUNTIME_ROOTS = {
    "debian-bookworm-runtimes": ("bookworm", ("nodejs", "openjdk-17-jre-headless", "python3")),
    "debian-bullseye-jre11": ("bullseye", ("openjdk-11-jre-headless",)),
    # Node.js 20 and CPython 3.13 from Debian 13, to check the node:20 and python:3.13 profiles' facts.
    "debian-trixie-runtimes": ("trixie", ("nodejs", "python3")),
}
ALL_ROOTS = BUILT_ROOTS + tuple(IMAGE_ROOTS) + tuple(HACKED_IMAGE_ROOTS) + tuple(DEBIAN_ROOTS)


class RootUnavailable(Exception):
    """The root cannot be built on this machine (a reason fit for pytest.skip)."""


def _host_lib(name: str) -> Path:
    for d in HOST_LIBDIRS:
        p = d / name
        if p.exists():
            return p.resolve()
    raise RootUnavailable(f"host library {name} not found in {', '.join(map(str, HOST_LIBDIRS))}")


def _need_busybox() -> None:
    if not BUSYBOX.is_file():
        raise RootUnavailable("no static /bin/busybox (apt-get install busybox-static)")
    if has_interp(BUSYBOX):
        raise RootUnavailable("/bin/busybox is not static (install busybox-static)")


def has_interp(path: Path) -> bool:
    """Whether a 64-bit little-endian ELF file has a PT_INTERP program header (read by hand)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return True  # not the x86-64 busybox these roots expect: treat as unusable
        phoff = struct.unpack_from("<Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    return any(struct.unpack_from("<I", table, i * phentsize)[0] == 3
               for i in range(min(phnum, len(table) // max(phentsize, 1))))


def _merged_usr(root: Path) -> None:
    """Debian 12's layout: /bin, /sbin, /lib, /lib64 are symlinks into /usr."""
    for d in ("usr/bin", "usr/sbin", f"usr/lib/{HOST_MULTIARCH}", "usr/lib64", "etc", "tmp", "app"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for link, to in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.symlink(to, root / link)


def _add_busybox(root: Path, bindir: str = "bin") -> None:
    _need_busybox()
    (root / bindir).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / bindir / "busybox")
    os.symlink("busybox", root / bindir / "sh")
    env_dir = root / "usr/bin"
    env_dir.mkdir(parents=True, exist_ok=True)
    if not (env_dir / "env").exists():
        os.symlink("/bin/busybox", env_dir / "env")


def build_scratch(root: Path) -> None:
    root.mkdir(parents=True)


def build_glibc_host(root: Path, *, cxx: bool = True) -> None:
    """The host's glibc loader and core libraries in Debian's merged-/usr multiarch layout."""
    root.mkdir(parents=True)
    _merged_usr(root)
    libdir = root / "usr/lib" / HOST_MULTIARCH
    names = GLIBC_LIBS + (CXX_LIBS if cxx else ())
    for name in (*names, GLIBC_LOADER):
        shutil.copy2(_host_lib(name), libdir / name)
    os.symlink(f"/lib/{HOST_MULTIARCH}/{GLIBC_LOADER}", root / "usr/lib64" / GLIBC_LOADER)
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n\n")
    conf_d = root / "etc/ld.so.conf.d"
    conf_d.mkdir()
    (conf_d / "libc.conf").write_text("# libc default configuration\n/usr/local/lib\n")
    (conf_d / f"{HOST_MULTIARCH}.conf").write_text(
        f"# Multiarch support\n/usr/local/lib/{HOST_MULTIARCH}\n"
        f"/lib/{HOST_MULTIARCH}\n/usr/lib/{HOST_MULTIARCH}\n"
    )
    _add_busybox(root, "usr/bin")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    if os.path.exists(ldconfig):
        # The image's own /etc/ld.so.cache, as Debian's images have one.
        subprocess.run([ldconfig, "-r", str(root)], check=True, capture_output=True)


def build_glibc_host_decoys(root: Path) -> None:
    """glibc-host, plus files in /usr/local/lib (searched first) that share a library's name but are
    not for this loader: an aarch64 ELF as libstdc++.so.6, an i386 ELF as libgcc_s.so.1 and a text
    file as libm.so.6. ld.so.cache is rebuilt over them, as ldconfig in an image would."""
    build_glibc_host(root)
    local = root / "usr/local/lib"
    local.mkdir(parents=True, exist_ok=True)
    bin_dir = ROOT / "fixtures/bin"
    for fixture, name in (("c-glibc-dynamic-aarch64", "libstdc++.so.6"), ("c-glibc-i386", "libgcc_s.so.1")):
        if not (bin_dir / fixture).is_file():
            raise RootUnavailable(f"fixture {fixture} is missing")
        shutil.copy2(bin_dir / fixture, local / name)
    (local / "libm.so.6").write_text("not a library\n")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    if os.path.exists(ldconfig):
        subprocess.run([ldconfig, "-r", str(root)], check=True, capture_output=True)


def build_musl(root: Path) -> None:
    """Debian's musl loader (which is also its libc) and a static busybox; no glibc at all."""
    if not MUSL_LOADER.exists():
        raise RootUnavailable(f"no {MUSL_LOADER} (apt-get install musl)")
    root.mkdir(parents=True)
    (root / "lib").mkdir()
    shutil.copy2(MUSL_LOADER.resolve(), root / "lib" / MUSL_LOADER.name)
    _add_busybox(root)


def link_glibc_loader_to_musl(root: Path) -> None:
    """/lib64/ld-linux-x86-64.so.2 -> /lib/ld-musl-x86_64.so.1, as people do to start glibc programs
    on musl images (USERS.md, item 9)."""
    lib64 = root / "lib64"
    lib64.mkdir(exist_ok=True)
    os.symlink("/lib/ld-musl-x86_64.so.1", lib64 / "ld-linux-x86-64.so.2")


def build_musl_glibc_link(root: Path) -> None:
    build_musl(root)
    link_glibc_loader_to_musl(root)


def build_busybox_static(root: Path) -> None:
    root.mkdir(parents=True)
    _need_busybox()
    (root / "bin").mkdir()
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    os.symlink("busybox", root / "bin/sh")


def _safe_member(member: tarfile.TarInfo) -> bool:
    """Our own checks, for Pythons without tarfile's "data" filter: nothing outside the destination."""
    name = member.name
    if name.startswith("/") or ".." in Path(name).parts:
        raise RootUnavailable(f"unsafe path in layer: {name!r}")
    if member.isdev() or member.isfifo():
        return False
    if member.islnk():
        link = member.linkname
        if link.startswith("/") or ".." in Path(link).parts:
            raise RootUnavailable(f"unsafe hard link in layer: {name!r} -> {link!r}")
    return member.isfile() or member.isdir() or member.issym() or member.islnk()


def extract_layer(fileobj: object, dest: Path) -> None:
    """Untar one (already decompressed or gzip) layer into dest: keep symlinks, skip device nodes,
    refuse anything that would land outside dest. Whiteouts are not expected in single-layer images."""
    with tarfile.open(fileobj=fileobj, mode="r:*") as tar:  # type: ignore[call-overload]
        members = [m for m in tar.getmembers() if _safe_member(m)]
        if hasattr(tarfile, "data_filter"):
            # "data" refuses absolute symlinks; image roots are full of them (/bin/sh -> /bin/busybox,
            # which resolves inside the root after chroot). "tar" keeps them and still stops escapes
            # through member paths; our own checks above cover the rest.
            tar.extractall(dest, members=members, filter="tar")
            return
        top = os.path.realpath(dest)
        for m in members:
            # Never write through a symlink that leads out of dest (an earlier member may be one).
            parent = os.path.realpath(dest / Path(m.name).parent)
            if os.path.commonpath([top, parent]) != top:
                raise RootUnavailable(f"layer member escapes the root: {m.name!r}")
            tar.extract(m, dest, set_attrs=not m.issym())


def build_image(root: Path, source: Path) -> None:
    root.mkdir(parents=True)
    if source.is_dir():
        index = json.loads((source / "index.json").read_text())
        manifests = [
            m for m in index["manifests"] if m.get("platform", {}).get("architecture") in (None, "amd64")
        ]
        if not manifests:
            raise RootUnavailable(f"{source}: no amd64 manifest")
        manifest = json.loads(_blob(source, manifests[0]["digest"]).read_text())
        for layer in manifest["layers"]:
            with open(_blob(source, layer["digest"]), "rb") as raw:
                if layer.get("mediaType", "").endswith("gzip"):
                    with gzip.open(raw) as gz:
                        extract_layer(gz, root)
                else:
                    extract_layer(raw, root)
    else:
        with open(source, "rb") as raw:
            extract_layer(raw, root)


def _blob(layout: Path, digest: str) -> Path:
    algo, _, hexd = digest.partition(":")
    if not hexd.isalnum():
        raise RootUnavailable(f"bad digest {digest!r}")
    return layout / "blobs" / algo / hexd


def build_debian(root: Path, suite: str, packages: tuple[str, ...] = ()) -> None:
    """debootstrap minbase (plus ``packages``) via scripts/build_debian_root.sh, cached in
    /var/tmp/linkcheck-roots under a name made of what it contains ("bookworm+nodejs+python3")."""
    if not shutil.which("debootstrap"):
        raise RootUnavailable("debootstrap is not installed")
    cached = DEBIAN_CACHE / "+".join((suite, *sorted(packages)))
    if not (cached / ".complete").exists():
        DEBIAN_CACHE.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts/build_debian_root.sh"), suite, str(cached), *sorted(packages)],
            capture_output=True, text=True, check=False, timeout=2400,
        )
        if proc.returncode != 0:
            raise RootUnavailable(f"debootstrap {suite} failed: {proc.stderr.strip()[-300:]}")
    # A private copy: tests install programs into the root. Only directories, regular files and
    # symlinks: never read a device node (/dev/zero would be copied until the disk is full). Big roots
    # are copied as hard links where the file system allows (tests only add or replace files there).
    copy = shutil.copy2
    if packages and os.stat(cached).st_dev == os.stat(root.parent).st_dev:
        copy = os.link  # type: ignore[assignment]
    shutil.copytree(cached, root, symlinks=True, ignore=_only_plain_files, copy_function=copy)


def _only_plain_files(directory: str, names: list[str]) -> set[str]:
    skip = {".complete"}
    for name in names:
        mode = os.lstat(os.path.join(directory, name)).st_mode
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            skip.add(name)
    return skip


def build_root(name: str, root: Path) -> None:
    """Build the root called ``name`` at ``root`` (which must not exist)."""
    builders: dict[str, Callable[[Path], None]] = {
        "scratch": build_scratch,
        "glibc-host": build_glibc_host,
        "glibc-host-nocxx": lambda r: build_glibc_host(r, cxx=False),
        "glibc-host-decoys": build_glibc_host_decoys,
        "musl": build_musl,
        "busybox-static": build_busybox_static,
        "musl-glibc-link": build_musl_glibc_link,
    }
    if name in builders:
        builders[name](root)
    elif name in IMAGE_ROOTS or name in HACKED_IMAGE_ROOTS or name in OLDER_ALPINE_ROOTS:
        image = (IMAGE_ROOTS | OLDER_ALPINE_ROOTS)[HACKED_IMAGE_ROOTS.get(name, name)]
        source = SHARED_ROOTFS / image
        if not source.exists():
            raise RootUnavailable(f"{source} is absent (real image roots live in ../shared/rootfs)")
        build_image(root, source)
        if name in HACKED_IMAGE_ROOTS:
            link_glibc_loader_to_musl(root)
    elif name in DEBIAN_ROOTS:
        if os.environ.get("LINKCHECK_SLOW") != "1":
            raise RootUnavailable("debootstrap roots are slow; set LINKCHECK_SLOW=1")
        build_debian(root, DEBIAN_ROOTS[name])
    elif name in RUNTIME_ROOTS:
        if os.environ.get("LINKCHECK_SLOW") != "1":
            raise RootUnavailable("debootstrap roots with runtimes are slow; set LINKCHECK_SLOW=1")
        suite, packages = RUNTIME_ROOTS[name]
        build_debian(root, suite, packages)
    else:
        raise KeyError(name)


class RootFactory:
    """Builds each root on first use, once per session, under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._built: dict[str, Path | RootUnavailable] = {}

    def get(self, name: str) -> Path:
        """The root's directory; pytest.skip with the reason when it cannot be built here."""
        if os.geteuid() != 0:
            pytest.skip("chroot needs root")
        if not private_proc_works():
            pytest.skip("cannot mount /proc in a private mount namespace here (needs CAP_SYS_ADMIN), "
                        "which a faithful container start needs ($ORIGIN reads /proc/self/exe)")
        if name not in self._built:
            path = self.base / name
            try:
                build_root(name, path)
                self._built[name] = path
            except RootUnavailable as exc:
                shutil.rmtree(path, ignore_errors=True)
                self._built[name] = exc
        got = self._built[name]
        if isinstance(got, RootUnavailable):
            pytest.skip(f"root {name}: {got}")
        return got


@pytest.fixture(scope="session")
def root_factory(tmp_path_factory: pytest.TempPathFactory) -> RootFactory:
    return RootFactory(tmp_path_factory.mktemp("roots"))


def is_executable_file(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)
