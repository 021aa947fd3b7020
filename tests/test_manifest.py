"""An image's documents read into types: the config's fields a verdict uses, the platform asked for."""

from __future__ import annotations

import hashlib
import json

import pytest

from linkcheck.errors import ArchiveError
from linkcheck.facts.kernel import MAX_ARG_STRLEN
from linkcheck.image.manifest import (
    ImageConfig,
    Platform,
    PlatformChoice,
    parse_json,
    read_docker_save,
    read_manifest,
)


def test_config_fields_a_verdict_uses_are_typed() -> None:
    config = ImageConfig.from_json({
        "architecture": "arm", "os": "linux", "variant": "v7",
        "config": {"Env": ["PATH=/usr/local/bin::/usr/bin", "LANG=C.UTF-8", 7], "Entrypoint": ["/app"],
                   "Cmd": ["--serve"], "WorkingDir": "/srv", "User": "nobody"}})
    assert config.platform == Platform("linux", "arm", "v7") and str(config.platform) == "linux/arm/v7"
    assert config.env == ("PATH=/usr/local/bin::/usr/bin", "LANG=C.UTF-8")  # a non-string is dropped
    assert config.path_env == ("/usr/local/bin", "/usr/bin")
    assert config.entrypoint == ("/app",) and config.cmd == ("--serve",)
    assert (config.working_dir, config.user) == ("/srv", "nobody")


def test_a_config_without_fields_leaves_the_runtime_defaults() -> None:
    config = ImageConfig.from_json({"architecture": "amd64"})
    assert config.platform == Platform("linux", "amd64")
    assert config.path_env is None and config.entrypoint is None and config.cmd is None
    assert ImageConfig.from_json([1, 2]) == ImageConfig()


def test_platform_choice_reads_docker_and_kernel_names() -> None:
    assert PlatformChoice.parse("linux/arm64") == PlatformChoice("arm64")
    assert PlatformChoice.parse("aarch64") == PlatformChoice("arm64")
    assert PlatformChoice.parse("linux/arm/v7") == PlatformChoice("arm", "v7")
    assert PlatformChoice.parse(None).architecture is None


def test_an_index_is_followed_to_the_platform_asked_for() -> None:
    blobs = {
        "sha256:" + "a" * 64: b"",
    }
    arm = {"config": {"digest": "sha256:" + "c" * 64}, "layers": [{"digest": "sha256:" + "d" * 64,
                                                                   "mediaType": "x+gzip", "size": 3}]}
    arm_bytes = json.dumps(arm).encode()
    arm_digest = "sha256:" + hashlib.sha256(arm_bytes).hexdigest()
    blobs[arm_digest] = arm_bytes
    index = {"manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"architecture": "amd64", "os": "linux"}},
        {"digest": arm_digest, "platform": {"architecture": "arm64", "os": "linux"}},
        {"digest": "sha256:" + "b" * 64, "platform": {"architecture": "unknown", "os": "unknown"}},
    ]}
    manifest = read_manifest(index, blobs.__getitem__, PlatformChoice("arm64"), "img")
    assert manifest.layers[0].digest == "sha256:" + "d" * 64 and manifest.layers[0].size == 3
    with pytest.raises(ArchiveError, match=r"no image for linux/s390x in the index \(platforms: "
                                           r"linux/amd64, linux/arm64\)"):
        read_manifest(index, blobs.__getitem__, PlatformChoice("s390x"), "img")


def test_documents_are_checked_against_their_digest_and_size() -> None:
    with pytest.raises(ArchiveError, match="does not match its digest"):
        parse_json(b"{}", "cfg", "sha256:" + "0" * 64)
    with pytest.raises(ArchiveError, match="too large"):
        parse_json(b" " * (5 << 20), "cfg")
    with pytest.raises(ArchiveError, match="not valid JSON"):
        parse_json(b"[" * 100_000, "cfg")


def test_docker_save_manifest_lists_its_images() -> None:
    images = read_docker_save([{"Config": "c.json", "Layers": ["a/layer.tar"]}], "img")
    assert images[0].config == "c.json" and images[0].layers == ("a/layer.tar",)
    with pytest.raises(ArchiveError, match="names a layer that is not a path"):
        read_docker_save([{"Config": "c.json", "Layers": [3]}], "img")


def test_path_repeats_are_read_once_and_only_what_the_kernel_passes_is_read() -> None:
    """A PATH of 1.3M entries (issue 12.5: 160 s with 300 `#!/usr/bin/env` scripts): repeats change no
    lookup and are dropped; only what fits in MAX_ARG_STRLEN is read (the kernel refuses a longer string:
    tests/test_environment_too_large.py)."""
    config = ImageConfig.from_json({"config": {"Env": ["PATH=" + ":".join(["/b", "/a"] * 650_000), "A=1"]}})
    assert config.path_env == ("/b", "/a")
    fits = ImageConfig.from_json({"config": {"Env": ["PATH=" + ":".join(f"/{i:x}" for i in range(100))]}})
    assert fits.path_env is not None and len(fits.path_env) == 100
    long = ImageConfig.from_json({"config": {"Env": ["PATH=" + ":".join(f"/{i:x}" for i in range(600_000))]}})
    assert long.path_env is not None and len(":".join(long.path_env)) < MAX_ARG_STRLEN
