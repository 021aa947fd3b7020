"""linkcheck.verdict.checks.environment_too_large: execve refuses (E2BIG) an environment string over
MAX_ARG_STRLEN or a total over its share of the stack limit, before it looks at the file. Each boundary is
proven by a real chroot + execve with exactly that environment; an image whose config holds such an Env
gives the real message through the CLI."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import linkcheck
from linkcheck.errors import ExitStatus
from linkcheck.facts.kernel import MAX_ARG_STRLEN, exec_strings_limit
from linkcheck.image.target import parse_env
from linkcheck.model import EnvOrigin, Outcome

from conftest import FIXTURE_BIN, needs_root
from launch import execve_result

PROGRAM = "/app/prog"
STATIC = FIXTURE_BIN / "c-glibc-static"


def _one_string(size: int) -> dict[str, str]:
    """One variable whose KEY=VALUE string is ``size`` bytes with its NUL."""
    return {"X": "a" * (size - len("X=") - 1)}


def _total(size: int) -> dict[str, str]:
    """Variables whose strings, with the program's path twice and every pointer, take ``size`` bytes."""
    env: dict[str, str] = {}
    path = len(PROGRAM) + 1
    used = 2 * path + 8  # the path as file name and argv[0]; argv's pointer
    i = 0
    while size - used > 100_000 + 16:
        env[f"V{i:03d}"] = "b" * 100_000
        used += len(f"V{i:03d}=") + 100_000 + 1 + 8
        i += 1
    last = size - used - len("Z=") - 1 - 8
    env["Z"] = "c" * last
    return env


LIMIT = exec_strings_limit()
CASES = [
    ("one string of MAX_ARG_STRLEN", _one_string(MAX_ARG_STRLEN), None),
    ("one string one byte longer", _one_string(MAX_ARG_STRLEN + 1), errno.E2BIG),
    ("a total of the limit", _total(LIMIT), None),
    ("a total one byte over", _total(LIMIT + 1), errno.E2BIG),
]


@needs_root
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="runs an x86-64 fixture")
@pytest.mark.parametrize(("case", "env", "expected"), CASES, ids=[c[0] for c in CASES])
def test_environment_limits_are_the_ones_a_real_execve_has(tmp_path: Path, case: str, env: dict[str, str],
                                                          expected: int | None) -> None:
    import resource

    assert resource.getrlimit(resource.RLIMIT_STACK)[0] == 8 << 20, "the limit modelled is a container's"
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    shutil.copy(STATIC, root / "app/prog")
    (root / "app/prog").chmod(0o755)
    errno_got, _ = execve_result(PROGRAM, root, env)
    assert errno_got == expected, f"{case}: this kernel does not behave as modelled"
    target = linkcheck.load_target(str(root), platform="linux/amd64")
    target = dataclasses.replace(target, env=parse_env([f"{k}={v}" for k, v in env.items()],
                                                       EnvOrigin.IMAGE_CONFIG))
    verdict = linkcheck.check(root / "app/prog", target)
    if expected is None:
        assert verdict.runs, verdict.to_dict()
        return
    assert verdict.outcome is Outcome.ENVIRONMENT_TOO_LARGE
    assert verdict.message == "exec /app/prog: argument list too long"


def test_an_image_env_over_the_limit_is_reported_by_the_cli(tmp_path: Path) -> None:
    """An image whose config sets a 200 KB variable: every file checked against it fails with the real
    message, exit 1 (the same image without it: runs)."""
    from test_archive import layer_tar, outer_tar

    def image(name: str, env: list[str]) -> Path:
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": env},
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        manifest = [{"Config": "cfg.json", "RepoTags": ["t:1"], "Layers": ["l0/layer.tar"]}]
        return outer_tar(tmp_path / name, {"cfg.json": config, "manifest.json": json.dumps(manifest).encode(),
                                           "l0/layer.tar": layer_tar([("d", "app", None)])})

    path_env = "PATH=/usr/bin:/bin"
    for name, env, status in (("small.tar", [path_env], ExitStatus.OK),
                              ("big.tar", [path_env, "BIG=" + "x" * 200_000], ExitStatus.WONT_RUN)):
        done = subprocess.run([sys.executable, "-m", "linkcheck", str(STATIC), "--target",
                               str(image(name, env)), "--json"], capture_output=True, text=True, check=False)
        assert done.returncode == status, done.stderr
        verdict = json.loads(done.stdout)["files"][0]["verdicts"][0]
        if status == ExitStatus.OK:
            assert verdict["runs"] is True
            continue
        assert verdict["outcome"] == "environment-too-large"
        assert verdict["message"] == "exec /app/c-glibc-static: argument list too long"
        assert verdict["shell_message"] == verdict["message"]  # a shell there gets the same environment
        assert verdict["problems"][0]["subject"] == "BIG"
