#!/usr/bin/env python3
"""Images by reference: the first (pulling) and the cached check against a registry on this machine.

Bars (issue 13): the first check of an image pulled from the local registry takes at most 2x the same
check against the image's OCI archive; a cached check at most 1.2x the same check against a built-in
target. Median wall times of the CLI, rounds interleaved so machine noise hits all commands alike.

The image: the real alpine 3.20.3 x86_64 root with the busybox musl root as a second layer (about 4.4 MB
compressed, from ../shared/rootfs), pushed with skopeo to Debian's docker-registry on 127.0.0.1.
Usage: python benchmarks/registry.py [--rounds 15] [FILE]
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "rootfs"
sys.path.insert(0, str(ROOT / "tests"))

import registryserver as rs  # noqa: E402


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def two_layer_layout(layout: Path) -> Path:
    """alpine + busybox:musl as a two-layer amd64 image in an OCI layout (tag "1")."""
    layers = [(SHARED / "alpine-3.20.3-x86_64.tar.gz").read_bytes(),
              (SHARED / "busybox-latest-musl-amd64.tar.gz").read_bytes()]
    layout.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (layout / "blobs" / "sha256" / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    diff_ids = [f"sha256:{hashlib.sha256(gzip.decompress(x)).hexdigest()}" for x in layers]
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": [rs.PATH_ENV]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    gz = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           **put(json.dumps(config).encode())},
                "layers": [{"mediaType": gz, **put(x)} for x in layers]}
    top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(json.dumps(manifest).encode()),
           "platform": {"architecture": "amd64", "os": "linux"},
           "annotations": {"org.opencontainers.image.ref.name": "1"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("file", nargs="?", default=str(ROOT / "fixtures/bin/c-musl-dynamic"))
    args = parser.parse_args()
    why = rs.missing_tools()
    if why or not SHARED.is_dir():
        sys.exit(f"registry benchmark: {why or f'{SHARED} is absent'}")
    compileall.compile_dir(str(ROOT / "linkcheck"), quiet=1)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="linkcheck-bench-") as tmp_name:
        tmp = Path(tmp_name)
        layout = two_layer_layout(tmp / "layout")
        archive = tmp / "image.oci.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(layout, arcname=".")
        size = sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())
        with rs.running_registry(tmp / "registry") as host:
            rs.push(layout, "1", f"{host}/bench:1")
            ref = f"{host}/bench:1"
            cold_cache, warm_cache = tmp / "cold", tmp / "warm"
            base_env = {**os.environ, "DOCKER_CONFIG": str(tmp / "docker")}
            cold = {**base_env, "XDG_CACHE_HOME": str(cold_cache)}
            warm = {**base_env, "XDG_CACHE_HOME": str(warm_cache)}
            check = [py, "-m", "linkcheck", args.file, "--target"]
            commands: dict[str, tuple[list[str], dict[str, str]]] = {
                "python -c pass": ([py, "-c", "pass"], base_env),
                "first check, from the registry": ([*check, ref], cold),
                "same check, OCI archive": ([*check, str(archive)], base_env),
                "cached check": ([*check, ref], warm),
                "same check, built-in alpine:3.20": ([*check, "alpine:3.20"], base_env),
            }
            times: dict[str, list[float]] = {name: [] for name in commands}
            for cmd, env in commands.values():  # warm the page cache (and the warm cache) once
                wall(cmd, env)
            for _ in range(args.rounds):
                for name, (cmd, env) in commands.items():
                    if env is cold:
                        shutil.rmtree(cold_cache, ignore_errors=True)
                    times[name].append(wall(cmd, env))
    med = {name: statistics.median(samples) for name, samples in times.items()}
    base = med["python -c pass"]
    cpu = platform.processor() or platform.platform()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}")
    print(f"python {platform.python_version()}, {args.rounds} rounds, file {args.file}, "
          f"image {size / 1e6:.1f} MB compressed (2 layers)")
    for name, value in med.items():
        print(f"{name:<36} median {value * 1000:7.1f} ms   {value / base:5.2f}x python -c pass")
    first = med["first check, from the registry"] / med["same check, OCI archive"]
    cached = med["cached check"] / med["same check, built-in alpine:3.20"]
    print(f"first check / archive check: {first:.2f}x (bar <= 2x)")
    print(f"cached check / built-in check: {cached:.2f}x (bar <= 1.2x)")


if __name__ == "__main__":
    main()
