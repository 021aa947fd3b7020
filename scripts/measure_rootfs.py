#!/usr/bin/env python3
"""Measure root filesystems into profile entries, and assemble the built-in profiles from them.

    measure_rootfs.py measure ROOT --where TEXT [--date YYYY-MM-DD] [--assume-ld-so-cache] [-o FILE]
        One platform entry read from a real root with linkcheck's own reader (never executing anything):
        machine, libc and version, loaders, search directories, every library in them whose file name
        is its soname (with the symbol versions it defines), the executables on PATH, the size.

    measure_rootfs.py runtime-files --profiles DIR --root KEY:ARCH=ROOT=WHERE ...
        Write into existing profile files which of the paths programs read after they start
        (linkcheck.image.probes: CA bundles, zoneinfo, /etc/passwd, /tmp ...) each image has: measured
        from the roots given, derived from them for the releases and architectures not measured, or
        documented (scratch, distroless); Ubuntu's stay unknown.

    measure_rootfs.py build --measured DIR --images IMAGES_JSON --out DIR
        The profile files (one per image family) from the measured entries in DIR (named
        <key>.<docker_arch>.json, see IMAGES below) and the researched facts of IMAGES_JSON (the shared
        images.json), keeping the source of every fact. What was not measured is derived from the
        nearest measured root and marked "inferred", or taken from IMAGES_JSON and marked as it says.

Rebuilding the built-in profiles (as done on 2026-11-27; MIRROR is the Debian archive named in this
machine's apt sources, DIR a scratch directory outside the repository):

    debootstrap --variant=minbase [--no-merged-usr for bullseye] SUITE DIR/SUITE-amd64 MIRROR
    debootstrap --variant=minbase --foreign --arch=arm64 SUITE DIR/SUITE-arm64 MIRROR
    tar -xzf ../shared/rootfs/{alpine-3.20.3-*,busybox-latest-*}.tar.gz into DIR/...; the busybox glibc
        OCI layer likewise; apt-get download libc6 libssl3 [libgcc-s1 libstdc++6 libgomp1 gcc-12-base]
        and dpkg-deb -x into DIR/distroless-{base,cc}-amd64
    measure_rootfs.py measure DIR/X --where "..." [--assume-ld-so-cache for --foreign roots]
        -o ENTRIES/<key>.<arch>.json   (keys: debian-SUITE, alpine-3.20, busybox-{glibc,musl,uclibc},
        distroless-{base,cc})
    measure_rootfs.py build --measured ENTRIES --images ../shared/images/images.json \
        --out linkcheck/image/profiles

Nothing here is imported by linkcheck; it only writes data files.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import posixpath
import re
import stat
import sys
from pathlib import Path
from typing import Any

from linkcheck.image.probes import probe_tree
from linkcheck.image.rootfs import DOCKER_DEFAULT_PATH, TreeFiles, target_from_tree
from linkcheck.image.target import FACTS, PROFILE_FORMAT, parse_profile
from linkcheck.image.tree import DirectoryTree, EntryKind, resolve
from linkcheck.model import version_key

Entry = dict[str, Any]

# Paths that are in a debootstrap root but not in the image: debootstrap's own files, apt's downloaded
# packages and lists (the official images delete them), and what debuerreotype's slimify removes.
SIZE_EXCLUDES = (
    "/debootstrap",
    "/var/cache/apt",
    "/var/lib/apt/lists",
    "/usr/share/doc",
    "/usr/share/man",
    "/usr/share/info",
    "/usr/share/locale",
    "/usr/share/lintian",
    "/usr/share/linda",
)


def _src(how: str, where: str, date: str | None) -> dict[str, Any]:
    return {"how": how, "where": where, "date": date}


def measure(root: str, where: str, date: str | None, assume_cache: bool) -> Entry:
    tree = DirectoryTree(root)
    target = target_from_tree(tree, root, assume_ld_so_cache=assume_cache)
    files = TreeFiles(tree)
    by_key: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    elf_class = 0

    def add(path: str) -> None:
        nonlocal elf_class
        lib = files.library(path)
        if lib is None or lib.soname is None or lib.machine != target.machine:
            return
        elf_class = elf_class or lib.elf_class
        key = (lib.soname, lib.version_definitions)
        if path not in by_key.setdefault(key, []):
            by_key[key].append(path)

    for d in target.search_dirs:
        found = resolve(tree, d.path)
        if found is None or found[1].kind is not EntryKind.DIRECTORY:
            continue
        for name in tree.listdir(found[0]):
            path = posixpath.join(d.path, name)
            lib = files.library(path)
            if lib is not None and lib.soname == name:
                add(path)
    for loader in target.loaders:
        add(loader)
    programs: list[str] = []
    for bindir in DOCKER_DEFAULT_PATH:
        found = resolve(tree, bindir)
        if found is None or found[1].kind is not EntryKind.DIRECTORY:
            continue
        programs += [
            posixpath.join(bindir, n)
            for n in tree.listdir(found[0])
            if files.is_executable(posixpath.join(bindir, n))
        ]
    if not elf_class:
        elf_class = 64 if target.machine in ("x86_64", "aarch64", "riscv64", "ppc64le", "s390x") else 32
    libraries = [{"soname": s, "paths": sorted(p), "versions": list(v)} for (s, v), p in by_key.items()]
    libraries.sort(key=lambda e: (e["soname"], e["paths"]))
    src = {s.fact: s.where.replace(root, "ROOT") for s in target.sources}
    measured = f"measured ({where})"
    return {
        "docker_arch": target.docker_arch,
        "machine": target.machine,
        "elf_class": elf_class,
        "libc": target.libc.value,
        "libc_version": target.libc_version,
        "loaders": list(target.loaders),
        "search_dirs": [{"path": d.path, "source": d.source} for d in target.search_dirs],
        "libraries": libraries,
        "programs": sorted(programs),
        "path_env": list(DOCKER_DEFAULT_PATH),
        "size_bytes": root_size(root),
        "runtime_files": sorted(probe_tree(tree)),
        "sources": {
            "runtime_files": _src("measured", f"{where}: {RUNTIME_HOW}", date),
            "machine": _src("measured", f"{where}: {src.get('machine', '')}", date),
            "libc": _src("measured", f"{where}: the loader present", date),
            "libc_version": _src("measured", f"{where}: {src.get('libc_version', 'no shared libc')}", date),
            "loaders": _src("measured", f"{where}: known interpreter paths that resolve to a file", date),
            "search_dirs": _src("measured", f"{where}: {src.get('search_dirs', 'no loader')}", date),
            "libraries": _src(
                "measured",
                f"{where}: files in the search dirs whose name is their DT_SONAME, "
                "version definitions read with linkcheck.facts.elf",
                date,
            ),
            "programs": _src("measured", f"{where}: executable files in the PATH directories", date),
            "path_env": _src(
                "documented",
                "the official images set Docker's default PATH in their config "
                "(read in busybox:1.38.0-glibc's OCI config)",
                date,
            ),
            "size_bytes": _src(
                "measured",
                f"{where}: apparent size of the regular files, hard links once, "
                f"without {', '.join(SIZE_EXCLUDES)}",
                date,
            ),
        },
        "notes": [measured],
    }


def root_size(root: str) -> int:
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        inside = "/" + os.path.relpath(dirpath, root).lstrip(".").lstrip("/")
        dirnames[:] = [
            d for d in dirnames if not any(posixpath.join(inside, d).startswith(x) for x in SIZE_EXCLUDES)
        ]
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


# ------------------------------------------------------------------------------------------------
# Assembling the families
# ------------------------------------------------------------------------------------------------

TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
# openssl major.minor per alpine release (shared images.md: 3.18.9/3.19.4 3.1.7, 3.21.8 3.3.7, 3.22.6 3.5.8).
ALPINE_OPENSSL = {"3.18": "3.1", "3.19": "3.1", "3.20": "3.3", "3.21": "3.3", "3.22": "3.5"}
MERGED = (
    ("/lib/", "/usr/lib/"),
    ("/lib64/", "/usr/lib64/"),
    ("/bin/", "/usr/bin/"),
    ("/sbin/", "/usr/sbin/"),
)


def load_entry(measured: Path, key: str, arch: str) -> Entry | None:
    path = measured / f"{key}.{arch}.json"
    if not path.is_file():
        return None
    entry: Entry = json.loads(path.read_text())
    return entry


def infer(entry: Entry, facts: tuple[str, ...], where: str, how: str = "inferred") -> None:
    for fact in facts:
        entry["sources"][fact] = _src(how, where, entry["sources"][fact].get("date"))


def merged_aliases(paths: list[str]) -> list[str]:
    out = set(paths)
    for p in paths:
        for a, b in MERGED:
            if p.startswith(a):
                out.add(b + p[len(a) :])
            elif p.startswith(b):
                out.add(a + p[len(b) :])
    return sorted(out)


def cap_versions(versions: list[str], caps: dict[str, str]) -> list[str]:
    """Drop version nodes above a namespace's maximum ({"GLIBC": "2.35", "GLIBCXX": "3.4.30"})."""
    out = []
    for v in versions:
        keep = True
        for ns, top in caps.items():
            key = version_key(v, ns + "_")
            limit = version_key(f"{ns}_{top}", ns + "_")
            if key is not None and limit is not None and key[: len(limit)] > limit:  # "3.1" keeps 3.1.x
                keep = False
        if keep:
            out.append(v)
    return out


def research_sources(rec: Entry) -> str:
    confidence = str(rec.get("confidence", ""))
    return f"shared images.json ({confidence}): " + "; ".join(str(s) for s in rec.get("sources", []))


def empty_entry(arch: str, where: str, how: str, date: str | None) -> Entry:
    return {
        "docker_arch": arch,
        "machine": MACHINES[arch],
        "elf_class": 64,
        "libc": "none",
        "libc_version": None,
        "loaders": [],
        "search_dirs": [],
        "libraries": [],
        "programs": [],
        "path_env": list(DOCKER_DEFAULT_PATH),
        "size_bytes": None,
        "sources": {f: _src(how, where, date) for f in FACTS},
        "notes": [],
    }


def swap_arch(entry: Entry, arch: str, loaders: list[str], where: str) -> Entry:
    """An amd64 entry turned into the same image on another architecture (paths, loader, machine)."""
    out = copy.deepcopy(entry)
    src_t, dst_t = TRIPLETS[entry["docker_arch"]], TRIPLETS[arch]
    out["docker_arch"], out["machine"] = arch, MACHINES[arch]
    old_loader = posixpath.basename(entry["loaders"][0]) if entry["loaders"] else None
    new_loader = posixpath.basename(loaders[0]) if loaders else None

    def fix(p: str) -> str:
        return p.replace(src_t, dst_t)

    out["loaders"] = loaders
    out["search_dirs"] = [{"path": fix(d["path"]), "source": d["source"]} for d in entry["search_dirs"]]
    libs = []
    for lib in entry["libraries"]:
        lib = copy.deepcopy(lib)
        if old_loader is not None and lib["soname"] == old_loader:
            lib["soname"] = new_loader
            lib["paths"] = sorted(
                {
                    fix(p).replace(old_loader, str(new_loader))
                    for p in lib["paths"]
                    if not p.startswith(("/lib64/", "/usr/lib64/"))
                }
                | set(loaders)
            )
        else:
            lib["paths"] = sorted({fix(p) for p in lib["paths"]})
        libs.append(lib)
    out["libraries"] = libs
    out["size_bytes"] = None
    infer(out, ("machine", "loaders", "search_dirs", "libraries", "programs", "size_bytes"), where)
    out["notes"] = [f"derived from the measured {entry['docker_arch']} root: {where}"]
    return out


def take_versions(entry: Entry, donors: list[Entry | None]) -> None:
    """Set each library's versions from the first donor root that has the same soname."""
    for lib in entry["libraries"]:
        for donor in donors:
            if donor is None:
                continue
            match = next((d for d in donor["libraries"] if d["soname"] == lib["soname"]), None)
            if match is not None:
                lib["versions"] = list(match["versions"])
                break


def build(measured: Path, images_json: Path, out: Path) -> None:
    research = json.loads(images_json.read_text())
    recs = {r["image"]: r for r in research["images"]}
    today = datetime.date.today().isoformat()
    families: dict[str, list[Entry]] = {}

    def image(family: str, name: str, aliases: list[str], description: str, platforms: list[Entry]) -> None:
        families.setdefault(family, []).append(
            {"name": name, "aliases": aliases, "description": description, "platforms": platforms}
        )

    def m(key: str, arch: str) -> Entry:
        e = load_entry(measured, key, arch)
        if e is None:
            raise SystemExit(f"measure_rootfs: missing measured entry {key}.{arch}.json in {measured}")
        return e

    # scratch ------------------------------------------------------------------------------------
    rec = recs["scratch"]
    plats = []
    for arch in ("amd64", "arm64"):
        e = empty_entry(arch, research_sources(rec), "documented", research["generated"])
        e["size_bytes"] = 0
        e["notes"] = ["empty filesystem: only static (or static-pie) executables run"]
        plats.append(e)
    image("scratch", "scratch", [], "Docker's empty base: no libc, no loader, no shell", plats)

    # busybox --------------------------------------------------------------------------------------
    glibc_amd = m("busybox-glibc", "amd64")
    rec = recs["busybox:glibc"]
    glibc_arm = swap_arch(
        glibc_amd,
        "arm64",
        ["/lib/ld-linux-aarch64.so.1", "/lib64/ld-linux-aarch64.so.1"],
        "busybox:glibc amd64 layout (/lib, /lib64 -> lib) with the aarch64 loader; " + research_sources(rec),
    )
    take_versions(glibc_arm, [load_entry(measured, "debian-trixie", "arm64")])
    glibc_arm["notes"].append("library versions from Debian trixie arm64 (the busybox:glibc builder)")
    image(
        "busybox",
        "busybox:glibc",
        ["busybox", "busybox:1.38", "busybox:1.38-glibc", "busybox:stable-glibc"],
        "BusyBox 1.38 with glibc libraries copied from Debian trixie in /lib (no ld.so.conf)",
        [glibc_amd, glibc_arm],
    )
    for flavour in ("musl", "uclibc"):
        amd = m(f"busybox-{flavour}", "amd64")
        arm = swap_arch(
            amd,
            "arm64",
            [],
            "busybox:"
            + flavour
            + " amd64 root (static busybox, no /lib); "
            + research_sources(recs["busybox:" + flavour]),
        )
        image(
            "busybox",
            f"busybox:{flavour}",
            [f"busybox:1.38-{flavour}", f"busybox:stable-{flavour}"],
            f"BusyBox 1.38 linked statically against {'musl' if flavour == 'musl' else 'uClibc-ng'}: "
            "no shared libc, no loader; only static executables run",
            [amd, arm],
        )

    # alpine ---------------------------------------------------------------------------------------
    for version in ("3.18", "3.19", "3.20", "3.21", "3.22"):
        rec = recs[f"alpine:{version}"]
        plats = []
        for arch in ("amd64", "arm64"):
            base = m("alpine-3.20", arch)
            if version == "3.20":
                plats.append(base)
                continue
            e = copy.deepcopy(base)
            musl_arch = MACHINES[arch]
            notes = []
            sonames = []
            for text in rec["sonames"]:
                soname = text.split(" ")[0].replace("<arch>", musl_arch).replace("x86_64", musl_arch)
                # "libapk.so.2.14.0 (3.21) / libapk.so.* (3.22, exact name unknown)"
                if " " in text and version != "3.21":
                    notes.append(f"not listed: {text} (file name not known)")
                    continue
                sonames.append(soname)
            libs = []
            for soname in sonames:
                same = next((lib for lib in base["libraries"] if lib["soname"] == soname), None)
                if same is not None:
                    lib = copy.deepcopy(same)
                    lib["versions"] = cap_versions(lib["versions"], {"OPENSSL": ALPINE_OPENSSL[version]})
                    libs.append(lib)
                else:
                    libs.append({"soname": soname, "paths": [f"/lib/{soname}"], "versions": []})
            e["libraries"] = libs
            e["libc_version"] = rec["libc"]["version"]
            e["size_bytes"] = None
            where = (
                f"alpine {version}: package list {research_sources(rec)}; file layout and symbol versions "
                "as the measured alpine 3.20.3 root"
            )
            infer(e, ("libraries", "programs", "search_dirs", "loaders", "size_bytes"), where)
            e["sources"]["libc_version"] = _src(
                "measured" if rec["confidence"] == "measured" else "documented",
                research_sources(rec),
                research["generated"],
            )
            e["notes"] = (
                [
                    f"derived from the measured alpine 3.20.3 {arch} root; OPENSSL_ version nodes capped at "
                    f"the release's openssl {ALPINE_OPENSSL[version]} (nodes added after 3.3 are not "
                    "known here)"
                ]
                + notes
                + rec.get("doubts", [])
            )
            plats.append(e)
        aliases = ["alpine"] if version == "3.22" else []
        image(
            "alpine",
            f"alpine:{version}",
            aliases,
            f"Alpine Linux {version}: musl {rec['libc']['version']}, busybox; no libgcc_s/libstdc++",
            plats,
        )

    # debian ---------------------------------------------------------------------------------------
    for suite, number, aliases in (
        ("bullseye", "11", []),
        ("bookworm", "12", ["slim", "debian"]),
        ("trixie", "13", []),
    ):
        plats = [m(f"debian-{suite}", arch) for arch in ("amd64", "arm64")]
        for e in plats:
            e["notes"] += [
                "a debootstrap --variant=minbase root: the official slim image is the same package set "
                "(debuerreotype's manifests, shared images.md) and slimify removes only documentation, man "
                "pages and locales, so loaders, ld.so.conf, sonames and symbol versions are the image's; "
                "package versions are the point release of the measurement date",
                "size: the root without documentation, man pages, locales, apt's caches and lists "
                "(an approximation of the image's uncompressed size)",
            ]
            if e["docker_arch"] == "arm64":
                e["notes"].append(
                    "arm64 is a debootstrap --foreign first stage (unpacked, not configured): no "
                    "/etc/ld.so.cache was built, so ld.so.conf was read as the configured image has one"
                )
        image(
            "debian",
            f"debian:{suite}-slim",
            [f"debian:{number}-slim", f"debian:{suite}", f"debian:{number}", *aliases],
            f"Debian {number} ({suite}) slim: glibc {plats[0]['libc_version']}, dash, bash, coreutils",
            plats,
        )

    # ubuntu ---------------------------------------------------------------------------------------
    for version, codename, suite in (
        ("20.04", "focal", "bullseye"),
        ("22.04", "jammy", "bookworm"),
        ("24.04", "noble", "trixie"),
    ):
        rec = recs[f"ubuntu:{version}"]
        caps = dict(rec["max_symbol_versions"])
        plats = []
        for arch in ("amd64", "arm64"):
            sib = m(f"debian-{suite}", arch)
            donors = [sib] + [
                load_entry(measured, f"debian-{s}", arch) for s in ("trixie", "bookworm", "bullseye")
            ]
            e = copy.deepcopy(sib)
            e["libc_version"] = rec["libc"]["version"]
            e["loaders"] = sorted(merged_aliases([p.split(" ")[0] for p in rec["loaders"][MACHINES[arch]]]))
            sonames = rec["sonames"]
            if arch == "arm64":
                sonames = [
                    s.replace("ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1")
                    for s in sonames
                    if s != "libmvec.so.1"
                ]
            libs = []
            for soname in sonames:
                found = None
                for donor in donors:
                    if donor is not None:
                        found = next((lib for lib in donor["libraries"] if lib["soname"] == soname), None)
                        if found is not None:
                            break
                if found is not None:
                    lib = {
                        "soname": soname,
                        "paths": merged_aliases(found["paths"]),
                        "versions": cap_versions(
                            found["versions"], caps if arch == "amd64" else {"GLIBC": caps["GLIBC"]}
                        ),
                    }
                else:
                    lib = {
                        "soname": soname,
                        "paths": merged_aliases([f"/usr/lib/{TRIPLETS[arch]}/{soname}"]),
                        "versions": [],
                    }
                libs.append(lib)
            loader_lib = next(lib for lib in libs if lib["soname"].startswith("ld-linux"))
            loader_lib["paths"] = sorted(set(loader_lib["paths"]) | set(e["loaders"]))
            e["libraries"] = libs
            e["programs"] = merged_aliases(sib["programs"])
            e["size_bytes"] = None
            where = (
                f"ubuntu {version}: {research_sources(rec)}; layout, ld.so.conf and symbol versions "
                f"inferred from the measured Debian {suite} {arch} root, capped at {caps}"
            )
            infer(e, ("machine", "loaders", "search_dirs", "libraries", "programs", "size_bytes"), where)
            e["sources"]["libc_version"] = _src("documented", research_sources(rec), research["generated"])
            e["sources"]["libc"] = _src("documented", research_sources(rec), research["generated"])
            e["notes"] = [f"derived from the measured Debian {suite} {arch} root"] + rec.get("doubts", [])
            plats.append(e)
        aliases = [f"ubuntu:{codename}"] + (["ubuntu"] if version == "24.04" else [])
        image(
            "ubuntu",
            f"ubuntu:{version}",
            aliases,
            f"Ubuntu {version} ({codename}): glibc {rec['libc']['version']}, dash, bash",
            plats,
        )

    # distroless -----------------------------------------------------------------------------------
    rec = recs["gcr.io/distroless/static-debian12"]
    plats = []
    for arch in ("amd64", "arm64"):
        e = empty_entry(arch, research_sources(rec), "documented", research["generated"])
        e["programs"] = []
        e["notes"] = [
            "no libc, no loader, no shell: only static executables run (CGO_ENABLED=0 Go, static Rust)"
        ]
        plats.append(e)
    image(
        "distroless",
        "gcr.io/distroless/static-debian12",
        ["distroless/static", "distroless/static-debian12", "gcr.io/distroless/static"],
        "Distroless static (Debian 12 files: CA certificates, tzdata, passwd); no libc",
        plats,
    )
    for kind in ("base", "cc"):
        rec = recs[f"gcr.io/distroless/{kind}-debian12"]
        amd = m(f"distroless-{kind}", "amd64")
        amd["programs"] = []
        amd["sources"]["size_bytes"]["where"] += (
            "; only the files of the libc6, libssl3 (and for cc the gcc-12 runtime) packages: the image "
            "also has base-files, netbase, tzdata, media-types and CA certificates, so this is a lower bound"
        )
        amd["notes"].append(
            "reconstructed: the .debs distroless pins, unpacked as-is (debian12 distroless is not "
            "merged-/usr); no libc-bin, so no ld.so.conf or ld.so.cache: only the loader's built-in dirs"
        )
        arm = swap_arch(
            amd,
            "arm64",
            ["/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", "/lib/ld-linux-aarch64.so.1"],
            f"distroless {kind} amd64 root (same Debian 12 packages); " + research_sources(rec),
        )
        arm["libraries"] = [lib for lib in arm["libraries"] if lib["soname"] != "libmvec.so.1"]
        take_versions(arm, [load_entry(measured, "debian-bookworm", "arm64")])
        arm["notes"].append(
            "library versions from the measured Debian bookworm arm64 root where it has the "
            "library (libssl, libcrypto, libgomp: from amd64)"
        )
        image(
            "distroless",
            f"gcr.io/distroless/{kind}-debian12",
            [f"distroless/{kind}", f"distroless/{kind}-debian12", f"gcr.io/distroless/{kind}"],
            f"Distroless {kind} (Debian 12): glibc 2.36, libssl3"
            + (", libgcc_s, libstdc++, libgomp" if kind == "cc" else "; no libgcc_s or libstdc++")
            + "; no shell",
            [amd, arm],
        )

    out.mkdir(parents=True, exist_ok=True)
    descriptions = {
        "scratch": "The empty image.",
        "busybox": "Official busybox images (docker-library/busybox).",
        "alpine": "Official alpine images (alpinelinux/docker-alpine minirootfs).",
        "debian": "Official debian slim images (debuerreotype: debootstrap minbase + slimify).",
        "ubuntu": "Official ubuntu images.",
        "distroless": "Google distroless Debian 12 images.",
    }
    for family, imgs in families.items():
        data = {
            "format": PROFILE_FORMAT,
            "family": family,
            "description": descriptions[family],
            "images": imgs,
        }
        parse_profile(data, f"{family}.json")  # validate before writing
        (out / f"{family}.json").write_text(dump(data) + "\n")
        print(f"wrote {out / (family + '.json')}", file=sys.stderr)
    del today


RUNTIME_HOW = ("the paths of linkcheck.image.probes that resolve inside the root to a regular file "
               "(or a directory with entries)")
# Images whose runtime files were not measured, with what is known and how. Ubuntu's are left unknown:
# no Ubuntu root was available (its images are said to lack ca-certificates and tzdata; unverified).
RUNTIME_DOCUMENTED = {
    "scratch": ([], "documented", "docs.docker.com/build/building/base-images: scratch is an empty "
                "filesystem (no /etc/passwd, no CA certificates, no /tmp)"),
    **{f"gcr.io/distroless/{v}-debian12": (
        ["/etc/group", "/etc/nsswitch.conf", "/etc/passwd", "/etc/ssl/certs",
         "/etc/ssl/certs/ca-certificates.crt", "/tmp", "/usr/share/zoneinfo"],
        "documented",
        "GoogleContainerTools/distroless static/BUILD and config.bzl (debian12): base-files, netbase, "
        "tzdata, a generated CA bundle at /etc/ssl/certs/ca-certificates.crt, passwd, group, /tmp and "
        "nsswitch.conf; no openssl package, so no /usr/lib/ssl") for v in ("static", "base", "cc")},
}
# Measured root key -> the images (and platforms) that take its runtime files.
RUNTIME_DERIVED = {
    "alpine-3.20": {"alpine:3.18", "alpine:3.19", "alpine:3.20", "alpine:3.21", "alpine:3.22"},
    "debian-bookworm": {"debian:bookworm-slim"},  # not trixie: its tzdata priority may differ
    "debian-bullseye": {"debian:bullseye-slim"},
    "busybox-glibc": {"busybox:glibc"},
    "busybox-musl": {"busybox:musl"},
    "busybox-uclibc": {"busybox:uclibc"},
}
RUNTIME_MEASURED = {"alpine-3.20": "alpine:3.20", "debian-bookworm": "debian:bookworm-slim",
                    "debian-bullseye": "debian:bullseye-slim", "busybox-glibc": "busybox:glibc",
                    "busybox-musl": "busybox:musl", "busybox-uclibc": "busybox:uclibc"}


def runtime_files(profiles: Path, roots: dict[tuple[str, str], tuple[str, str]], date: str) -> None:
    """Write ``runtime_files`` (and its source) into every platform of the profile files in
    ``profiles``: measured from ``roots`` ((key, docker_arch) -> (directory, how it was made)),
    derived from the nearest measured root (marked inferred), or documented; left out when unknown."""
    measured = {k: (sorted(probe_tree(DirectoryTree(d))), where) for k, (d, where) in roots.items()}
    for path in sorted(profiles.glob("*.json")):
        data = json.loads(path.read_text())
        if "images" not in data:  # index.json: which file holds which image
            continue
        for image in data["images"]:
            name = image["name"]
            for plat in image["platforms"]:
                arch = plat["docker_arch"]
                got = _runtime_entry(name, arch, measured, date)
                if got is None:
                    plat.pop("runtime_files", None)
                    plat["sources"].pop("runtime_files", None)
                    continue
                plat["runtime_files"], plat["sources"]["runtime_files"] = got
        parse_profile(data, path.name)  # validate before writing
        path.write_text(dump(data) + "\n")
        print(f"wrote {path}", file=sys.stderr)


def _runtime_entry(name: str, arch: str, measured: dict[tuple[str, str], tuple[list[str], str]],
                   date: str) -> tuple[list[str], dict[str, Any]] | None:
    if name in RUNTIME_DOCUMENTED:
        files, how, where = RUNTIME_DOCUMENTED[name]
        return files, _src(how, where, date)
    for key, names in RUNTIME_DERIVED.items():
        if name not in names:
            continue
        own = RUNTIME_MEASURED[key] == name
        if own and (key, arch) in measured:
            files, where = measured[(key, arch)]
            return files, _src("measured", f"{where}: {RUNTIME_HOW}", date)
        for donor_arch in (arch, "amd64"):
            if (key, donor_arch) in measured:
                files, where = measured[(key, donor_arch)]
                return files, _src("inferred", f"as the measured {key} {donor_arch} root ({where}): same "
                                   "base packages", date)
    return None


def dump(value: Any, indent: int = 0) -> str:
    """JSON with objects indented and lists of scalars on one line (readable diffs, small files)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad} {json.dumps(k)}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [pad + " " + dump(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    mp = sub.add_parser("measure")
    mp.add_argument("root")
    mp.add_argument(
        "--where", required=True, help="how the root was made, e.g. 'debootstrap minbase bookworm'"
    )
    mp.add_argument("--date", default=datetime.date.today().isoformat())
    mp.add_argument("--assume-ld-so-cache", action="store_true")
    mp.add_argument("-o", "--output")
    rp = sub.add_parser("runtime-files", help="write runtime_files into existing profiles")
    rp.add_argument("--profiles", required=True)
    rp.add_argument("--root", action="append", default=[], metavar="KEY:ARCH=DIR=WHERE",
                    help="a measured root, e.g. 'alpine-3.20:amd64=/tmp/alpine=alpine-minirootfs-3.20.3'")
    rp.add_argument("--date", default=datetime.date.today().isoformat())
    bp = sub.add_parser("build")
    bp.add_argument("--measured", required=True)
    bp.add_argument("--images", required=True)
    bp.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.command == "measure":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
            ap.error("--date must be YYYY-MM-DD")
        entry = measure(args.root, args.where, args.date, args.assume_ld_so_cache)
        text = dump(entry) + "\n"
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "runtime-files":
        roots: dict[tuple[str, str], tuple[str, str]] = {}
        for spec in args.root:
            head, _, rest = spec.partition("=")
            directory, _, where = rest.partition("=")
            key, _, arch = head.partition(":")
            if not (key and arch and directory and where):
                ap.error(f"--root {spec!r}: expected KEY:ARCH=DIR=WHERE")
            roots[(key, arch)] = (directory, where)
        runtime_files(Path(args.profiles), roots, args.date)
        return 0
    build(Path(args.measured), Path(args.images), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
