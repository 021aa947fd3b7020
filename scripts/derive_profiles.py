#!/usr/bin/env python3
"""Write the OS profiles that no root here can be measured for, derived from measured ones, every fact
marked with how it was had: linkcheck/image/profiles/amazonlinux.json (amazonlinux:2 and :2023, the
bases of the amazoncorretto images) and alpine-legacy.json (alpine:3.9, the base of the last
openjdk:8-jre-alpine). Run it after scripts/measure_rootfs.py rebuilds the measured families, then
scripts/make_profile_index.py.

How: the documented package versions (docker-library/repo-info package lists) say which glibc, gcc
runtime and zlib an image has; the libraries' symbol version nodes are the measured Debian ones
(bullseye for Amazon Linux 2, bookworm for 2023; the measured alpine 3.20 root's zlib for alpine 3.9)
capped at those versions, as scripts/measure_rootfs.py derives Ubuntu's. The layout is the one the
distribution's own packages give (Amazon Linux: Fedora's /usr/lib64, /lib64 -> usr/lib64; Alpine:
musl's). Libraries whose version nodes are not known here (Amazon Linux's OpenSSL 1.0.2k/3, alpine 3.9's
OpenSSL 1.1.1) are left out and named in the notes.

Usage: python scripts/derive_profiles.py [OUT_DIR]   (default: the package's profiles directory)
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure_rootfs import cap_versions, dump  # noqa: E402

PROFILES = Path(__file__).resolve().parent.parent / "linkcheck" / "image" / "profiles"
DATE = "2026-12-01"
DOCKER_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
GLIBC_LOADER = {"amd64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}
# The glibc, gcc-runtime and zlib sonames every Amazon Linux image has (packages glibc, libgcc, libstdc++,
# zlib in both package lists).
AL_SONAMES = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
              "libutil.so.1", "libanl.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libz.so.1")
# Core programs of the packages both lists hold (bash, coreutils, findutils, gawk, grep, sed, tar ...).
AL_PROGRAMS = ("bash", "sh", "env", "cat", "cp", "ls", "mkdir", "mv", "rm", "ln", "chmod", "chown", "echo",
               "id", "uname", "sleep", "readlink", "dirname", "basename", "find", "gawk", "awk", "grep",
               "sed", "rpm")
REPO_INFO = "docker-library/repo-info repos/amazonlinux/local"
AL = {
    "amazonlinux:2": {
        "donor": "debian:bullseye-slim",
        "caps": {"GLIBC": "2.26", "GLIBCXX": "3.4.24", "CXXABI": "1.3.11", "GCC": "7.0.0", "ZLIB": "1.2.7.0"},
        "glibc": "2.26",
        "packages": (f"{REPO_INFO}/2.md @082a4310 (image of 2026-09-17): glibc-2.26-64.amzn2.0.6, "
                     "libgcc/libstdc++-7.3.1-18.amzn2, openssl-libs-1.0.2k-24.amzn2.0.21"),
        "description": "Amazon Linux 2: glibc 2.26, gcc 7 runtime, bash, yum",
        "left_out": "libssl.so.10/libcrypto.so.10 (openssl-libs 1.0.2k: version nodes not known here)",
    },
    "amazonlinux:2023": {
        "donor": "debian:bookworm-slim",
        "caps": {"GLIBC": "2.34", "GLIBCXX": "3.4.29", "CXXABI": "1.3.13", "GCC": "11.0", "ZLIB": "1.2.11"},
        "glibc": "2.34",
        "packages": ("docker-library/repo-info repos/maven/local/3.9.8-amazoncorretto-11-al2023.md (an image "
                     "FROM amazoncorretto:11-al2023, FROM amazonlinux:2023, of 2024-06-27): "
                     "glibc-2.34-52.amzn2023.0.10, libstdc++-11.4.1-2.amzn2023.0.2"),
        "description": "Amazon Linux 2023: glibc 2.34, gcc 11 runtime, bash, dnf",
        "left_out": "libssl.so.3/libcrypto.so.3 and libcrypt.so.2 (version nodes not known here)",
    },
}


def _src(how: str, where: str, date: str | None = DATE) -> dict[str, Any]:
    return {"how": how, "where": where, "date": date}


def _platform(family: str, name: str, arch: str) -> dict[str, Any]:
    data = json.loads((PROFILES / f"{family}.json").read_text())
    image = next(im for im in data["images"] if im["name"] == name)
    return copy.deepcopy(next(p for p in image["platforms"] if p["docker_arch"] == arch))


def amazonlinux(name: str, arch: str) -> dict[str, Any]:
    spec = AL[name]
    donor = _platform("debian", str(spec["donor"]), arch)
    caps = dict(spec["caps"])  # type: ignore[call-overload]
    loader = GLIBC_LOADER[arch]
    # Fedora's layout: the libraries in /usr/lib64 (also /lib64, a symlink); the aarch64 loader path is
    # /lib/ld-linux-aarch64.so.1 (the ABI's), a link into lib64.
    loaders = ([f"/lib64/{loader}", f"/usr/lib64/{loader}"] if arch == "amd64"
               else [f"/lib/{loader}", f"/usr/lib/{loader}", f"/lib64/{loader}", f"/usr/lib64/{loader}"])
    libs = []
    for soname in (*AL_SONAMES, loader):
        found = next((lib for lib in donor["libraries"] if lib["soname"] == soname), None)
        assert found is not None, (name, arch, soname)
        paths = loaders if soname == loader else [f"/lib64/{soname}", f"/usr/lib64/{soname}"]
        versions = cap_versions(found["versions"], caps)
        if spec["glibc"] < "2.36":  # glibc 2.36 brought DT_RELR and its ABI node; string order holds here
            versions = [v for v in versions if v != "GLIBC_ABI_DT_RELR"]
        libs.append({"soname": soname, "paths": paths, "versions": versions})
    programs = sorted(f"{d}/{p}" for d in ("/bin", "/usr/bin") for p in AL_PROGRAMS)
    derived = (f"{name}: package versions from {spec['packages']}; symbol version nodes of the measured "
               f"{spec['donor']} {arch} libraries capped at {caps}; Fedora's /usr/lib64 layout")
    layout = (f"{name}: the glibc package's layout on Amazon Linux (Fedora's): slibdir /lib64, libdir "
              "/usr/lib64, /lib64 -> usr/lib64; the x86_64 loader /lib64/ld-linux-x86-64.so.2, the aarch64 "
              "one /lib/ld-linux-aarch64.so.1")
    return {
        "docker_arch": arch,
        "machine": MACHINES[arch],
        "elf_class": 64,
        "libc": "glibc",
        "libc_version": spec["glibc"],
        "loaders": loaders,
        # No ld.so.cache entries are known: glibc's built-in dirs for this layout.
        "search_dirs": [{"path": "/lib64", "source": "default (glibc built-in, Fedora layout)"},
                        {"path": "/usr/lib64", "source": "default (glibc built-in, Fedora layout)"}],
        "libraries": libs,
        "programs": programs,
        "path_env": list(DOCKER_PATH),
        "size_bytes": None,
        "sources": {
            "machine": _src("documented", f"{name}: published for linux/amd64 and linux/arm64 ({REPO_INFO})"),
            "libc": _src("documented", f"{name}: {spec['packages']}"),
            "libc_version": _src("documented", f"{name}: {spec['packages']}"),
            "loaders": _src("inferred", layout),
            "search_dirs": _src("inferred", layout),
            "libraries": _src("inferred", derived),
            "programs": _src("inferred", f"{name}: the main programs of bash, coreutils, findutils, gawk, "
                             f"grep, sed and rpm, in its package list ({REPO_INFO})"),
            "path_env": _src("documented", f"{REPO_INFO}/2.md: Environment PATH={':'.join(DOCKER_PATH)}"),
            "size_bytes": _src("inferred", "not recorded", None),
        },
        "notes": [f"derived, not measured: no {name} root can be had here; left out: {spec['left_out']}"],
    }


def alpine_3_9(arch: str) -> dict[str, Any]:
    """alpine:3.9 (musl 1.1.20): the measured alpine 3.20 root's layout, its musl and zlib; OpenSSL 1.1
    and libtls-standalone left out."""
    e = _platform("alpine", "alpine:3.20", arch)
    keep = {f"libc.musl-{MACHINES[arch]}.so.1", "libz.so.1"}
    e["libraries"] = [dict(lib, versions=cap_versions(lib["versions"], {"ZLIB": "1.2.11"}))
                      for lib in e["libraries"] if lib["soname"] in keep]
    e["libc_version"] = "1.1.20"
    e["size_bytes"] = None
    e.pop("runtime_files", None)
    packages = ("docker-library/repo-info repos/fluentd/local/v1.9.1-1.0.md (an image FROM alpine:3.9, "
                "2020-02-07): musl-1.1.20-r5, zlib-1.2.11-r1, busybox-1.29.3-r10, libcrypto1.1/libssl1.1 "
                "1.1.1d-r2, libtls-standalone-2.7.4-r6")
    derived = (f"alpine 3.9: package versions from {packages}; layout, programs and zlib's version nodes as "
               "the measured alpine 3.20.3 root, zlib's capped at 1.2.11")
    sources = e["sources"]
    for fact in ("loaders", "search_dirs", "libraries", "programs"):
        sources[fact] = _src("inferred", derived)
    sources["machine"] = _src("inferred", derived)
    sources["libc_version"] = _src("documented", packages)
    sources["libc"] = _src("documented", packages)
    sources["size_bytes"] = _src("inferred", "not recorded", None)
    sources.pop("runtime_files", None)
    e["notes"] = ["derived, not measured: no alpine 3.9 root can be had here; left out: libcrypto.so.1.1, "
                  "libssl.so.1.1 (OpenSSL 1.1.1 version nodes not measured here) and libtls-standalone.so.1"]
    return e


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PROFILES
    amazon = {
        "format": "linkcheck-profiles/1",
        "family": "amazonlinux",
        "description": "Official amazonlinux images (the bases of the amazoncorretto images): derived, not "
                       "measured.",
        "images": [{"name": name, "aliases": [], "description": str(spec["description"]),
                    "platforms": [amazonlinux(name, arch) for arch in ("amd64", "arm64")]}
                   for name, spec in AL.items()],
    }
    legacy = {
        "format": "linkcheck-profiles/1",
        "family": "alpine-legacy",
        "description": "Alpine releases past their support that old images still build on (alpine:3.9 under "
                       "openjdk:8-jre-alpine): derived, not measured.",
        "images": [{"name": "alpine:3.9", "aliases": [],
                    "description": "Alpine Linux 3.9: musl 1.1.20, busybox; no libgcc_s/libstdc++",
                    "platforms": [alpine_3_9(arch) for arch in ("amd64", "arm64")]}],
    }
    for filename, data in (("amazonlinux.json", amazon), ("alpine-legacy.json", legacy)):
        (out / filename).write_text(dump(data) + "\n")
        print(f"wrote {out / filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
