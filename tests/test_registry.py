"""Images by reference, pulled from a real registry on the loopback interface (Debian's docker-registry,
pushed to with skopeo from OCI layouts of the real root filesystems in ../shared/rootfs).

Everything here talks to 127.0.0.1 only; the registry, the token service and the fake servers are
started by the fixtures and stopped after them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import registryserver as rs

from linkcheck.errors import (
    DigestMismatchError,
    ExitStatus,
    ImageNotFoundError,
    NotCachedError,
    PlatformNotFoundError,
    RegistryUnreachableError,
    UnauthorizedError,
)
from linkcheck.facts.reader import analyze
from linkcheck.image.reference import RegistryOptions
from linkcheck.image.target import load_target
from linkcheck.model import Target
from linkcheck.verdict.checks import check

from conftest import FIXTURES, SHARED_ROOTFS
from roots import extract_layer

ALPINE_AMD64 = SHARED_ROOTFS / "alpine-3.20.3-x86_64.tar.gz"
ALPINE_ARM64 = SHARED_ROOTFS / "alpine-3.20.3-aarch64.tar.gz"
BUSYBOX_GLIBC = SHARED_ROOTFS / "busybox-1.38.0-glibc-amd64-oci"
FIXTURE_FILES = sorted(p for p in (FIXTURES / "bin").iterdir() if p.is_file())


@dataclass(frozen=True)
class Registries:
    plain: str  # "127.0.0.1:PORT": alpine:3.20 (amd64+arm64 index), zalpine:3.20 (zstd), busybox:glibc
    token: str  # the same registry software, trusting the test's token service
    tokens: rs.TokenService
    layouts: Path  # the OCI layouts pushed: multi/ (tag 3.20), one/ (tag 3.20)


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    why = rs.missing_tools()
    if why:
        pytest.skip(why)
    if not (ALPINE_AMD64.exists() and ALPINE_ARM64.exists() and BUSYBOX_GLIBC.exists()):
        pytest.skip(f"{SHARED_ROOTFS} is absent (real image roots live in ../shared/rootfs)")
    base = tmp_path_factory.mktemp("registry")
    multi = rs.build_layout(base / "layouts" / "multi", [(ALPINE_AMD64, "amd64"), (ALPINE_ARM64, "arm64")],
                            "3.20")
    one = rs.build_layout(base / "layouts" / "one", [(ALPINE_AMD64, "amd64")], "3.20")
    tokens = rs.make_token_service(base)
    try:
        with rs.running_registry(base / "plain") as plain, \
                rs.running_registry(base / "token", tokens) as token:
            # zstd first: skopeo would otherwise reuse the gzip blobs it has already pushed.
            rs.push(one, "3.20", f"{plain}/zalpine:3.20", zstd=True)
            rs.push(multi, "3.20", f"{plain}/alpine:3.20")
            rs.push(one, "3.20", f"{plain}/library/alpine:3.20")  # Docker Hub's path, for a mirror
            rs.push(BUSYBOX_GLIBC, "busybox:1.38.0-glibc", f"{plain}/busybox:glibc")
            for repo in ("public/alpine", "private/alpine"):
                rs.push(one, "3.20", f"{token}/{repo}:3.20", creds=f"{tokens.user}:{tokens.password}")
            yield Registries(plain, token, tokens, base / "layouts")
    finally:
        tokens.stop()


def options(tmp_path: Path, **kw: object) -> RegistryOptions:
    return RegistryOptions(cache_dir=str(tmp_path / "cache"), docker_config=str(tmp_path / "config.json"),
                           **kw)  # type: ignore[arg-type]


def verdicts(target: Target) -> list[dict[str, object]]:
    out = []
    for path in FIXTURE_FILES:
        try:
            analysis = analyze(path)
        except Exception:  # noqa: BLE001 (a fixture that is not a program is not judged)
            continue
        verdict = check(analysis, target).to_dict()
        verdict.pop("target")
        # The target's name is in the explanations: the same words with another name are the same answer.
        out.append({"file": path.name, **json.loads(json.dumps(verdict).replace(target.name, "TARGET"))})
    return out


def same_files_as(target: Target, other: Target) -> None:
    assert (target.machine, target.libc, target.libc_version, target.loaders, target.path_env) == (
        other.machine, other.libc, other.libc_version, other.loaders, other.path_env)
    assert [d.path for d in target.search_dirs] == [d.path for d in other.search_dirs]


# ---------------------------------------------------------------------------------------------
# Same files in, same answers out
# ---------------------------------------------------------------------------------------------


def test_pulled_image_verdicts_equal_directory_and_layout_verdicts_for_every_fixture(
        registries: Registries, tmp_path: Path) -> None:
    pulled = load_target(f"{registries.plain}/alpine:3.20", "linux/amd64", registry=options(tmp_path))
    layout = load_target(str(registries.layouts / "one"), "linux/amd64")
    root = tmp_path / "root"
    root.mkdir()
    with gzip.open(ALPINE_AMD64) as layer:
        extract_layer(layer, root)
    directory = load_target(str(root))
    same_files_as(pulled, layout)
    same_files_as(pulled, directory)
    expected = verdicts(directory)
    assert len(expected) > 30
    assert verdicts(pulled) == expected
    assert verdicts(layout) == expected
    assert any(v["runs"] for v in expected) and not all(v["runs"] for v in expected)


def test_pulled_glibc_image_verdicts_equal_its_oci_layout_verdicts(registries: Registries,
                                                                   tmp_path: Path) -> None:
    pulled = load_target(f"{registries.plain}/busybox:glibc", registry=options(tmp_path))
    layout = load_target(str(BUSYBOX_GLIBC), "linux/amd64")
    same_files_as(pulled, layout)
    assert pulled.libc.value == "glibc"
    assert verdicts(pulled) == verdicts(layout)


def test_zstd_layers_give_the_same_verdicts_as_gzip(registries: Registries, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    zstd = load_target(f"{registries.plain}/zalpine:3.20", registry=options(tmp_path))
    manifests = [json.loads(p.read_bytes()) for p in (cache / "blobs" / "sha256").iterdir()]
    media = [layer["mediaType"] for m in manifests for layer in m.get("layers", [])]
    assert media == ["application/vnd.oci.image.layer.v1.tar+zstd"]
    gz = load_target(f"{registries.plain}/alpine:3.20", "linux/amd64", registry=options(tmp_path))
    assert verdicts(zstd) == verdicts(gz)


def test_only_what_a_verdict_reads_is_kept_in_the_cache(registries: Registries, tmp_path: Path) -> None:
    load_target(f"{registries.plain}/alpine:3.20", "linux/amd64", registry=options(tmp_path))
    layers = list((tmp_path / "cache" / "layers" / "sha256").glob("*.tar"))
    assert len(layers) == 1
    st = layers[0].stat()
    with tarfile.open(ALPINE_AMD64) as original:
        content = sum(m.size for m in original.getmembers() if m.isreg())
    with tarfile.open(layers[0]) as reduced:
        assert sum(m.size for m in reduced.getmembers() if m.isreg()) == content  # every file, at its size
    assert st.st_blocks * 512 < content / 3  # but the bytes kept are a fraction (holes elsewhere)


def test_docker_hub_names_are_pulled_from_the_configured_mirror(registries: Registries, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKCHECK_DOCKER_HUB", registries.plain)
    pulled = load_target("docker://alpine:3.20", "amd64", registry=options(tmp_path))
    assert "docker.io/library/alpine:3.20" in pulled.description and pulled.libc_version == "1.2.5"
    builtin = load_target("alpine:3.20", "amd64")  # without docker:// the built-in data answers
    assert builtin.name == "alpine:3.20" and "read from" not in builtin.description


def test_plain_http_only_for_this_machine_and_the_hosts_named_insecure() -> None:
    from linkcheck.image.reference import parse_reference
    from linkcheck.image.registry import _endpoint

    remote = parse_reference("registry.example.com:5000/base:1")
    assert _endpoint(remote, RegistryOptions()) == ("registry.example.com:5000", "https")
    assert _endpoint(remote, RegistryOptions(insecure=("registry.example.com:5000",)))[1] == "http"
    assert _endpoint(remote, RegistryOptions(insecure=("other.example.com",)))[1] == "https"
    for host in ("localhost:5000", "127.0.0.1:5000", "[::1]:5000"):
        assert _endpoint(parse_reference(f"{host}/base:1"), RegistryOptions())[1] == "http"


# ---------------------------------------------------------------------------------------------
# Platforms
# ---------------------------------------------------------------------------------------------


def test_platform_picks_the_image_of_the_index(registries: Registries, tmp_path: Path) -> None:
    arm = load_target(f"{registries.plain}/alpine:3.20", "linux/arm64", registry=options(tmp_path))
    amd = load_target(f"{registries.plain}/alpine:3.20", "amd64", registry=options(tmp_path))
    assert (arm.machine, arm.loaders) == ("aarch64", ("/lib/ld-musl-aarch64.so.1",))
    assert (amd.machine, amd.loaders) == ("x86_64", ("/lib/ld-musl-x86_64.so.1",))


def test_a_platform_the_index_lacks_is_one_line_listing_those_it_has(registries: Registries,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(PlatformNotFoundError) as info:
        load_target(f"{registries.plain}/alpine:3.20", "linux/s390x", registry=options(tmp_path))
    assert "linux/s390x" in str(info.value) and "linux/amd64, linux/arm64" in str(info.value)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# Cache and --offline
# ---------------------------------------------------------------------------------------------


def test_a_second_check_of_the_same_image_does_no_network_io(registries: Registries, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ref = f"{registries.plain}/alpine:3.20"
    first = load_target(ref, "amd64", registry=options(tmp_path))
    assert "read from the registry" in first.description

    def no_network(*_args: object, **_kw: object) -> socket.socket:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    second = load_target(ref, "amd64", registry=options(tmp_path))
    assert "read from the cache" in second.description
    assert verdicts(second) == verdicts(first)


def test_a_cached_layer_is_applied_from_its_member_list_and_from_its_tar_alike(registries: Registries,
                                                                              tmp_path: Path) -> None:
    ref = f"{registries.plain}/alpine:3.20"
    first = load_target(ref, "amd64", registry=options(tmp_path))
    [listing] = (tmp_path / "cache" / "layers" / "sha256").glob("*.members.json")
    members = json.loads(listing.read_text())["members"]
    with tarfile.open(str(listing).replace(".members.json", ".tar")) as tar:
        assert [m[0] for m in members] == tar.getnames()
    from_listing = load_target(ref, "amd64", registry=options(tmp_path))
    listing.write_text("{not json")  # a damaged listing: the tar is read instead
    from_tar = load_target(ref, "amd64", registry=options(tmp_path))
    assert verdicts(first) == verdicts(from_listing) == verdicts(from_tar)


def test_offline_reads_only_the_cache(registries: Registries, tmp_path: Path) -> None:
    import linkcheck  # the documented call

    ref = f"{registries.plain}/alpine:3.20"
    with pytest.raises(NotCachedError) as info:
        linkcheck.load_target(ref, "amd64", registry=options(tmp_path, offline=True))
    assert "--offline" in str(info.value) and "\n" not in str(info.value)
    linkcheck.load_target(ref, "amd64", registry=options(tmp_path))
    again = linkcheck.load_target(ref, "amd64", registry=options(tmp_path, offline=True))
    assert "read from the cache" in again.description


def test_layer_download_progress_is_drawn_on_a_terminal_stream_only(registries: Registries,
                                                                    tmp_path: Path) -> None:
    terminal = io.StringIO()
    load_target(f"{registries.plain}/alpine:3.20", "amd64", registry=options(tmp_path, progress=terminal))
    drawn = terminal.getvalue()
    assert drawn.startswith("\rpulling ") and " MB" in drawn and drawn.endswith("\r\033[K")
    again = io.StringIO()
    load_target(f"{registries.plain}/alpine:3.20", "amd64", registry=options(tmp_path, progress=again))
    assert again.getvalue() == ""  # cached: nothing downloaded, nothing drawn


def test_xdg_cache_home_is_the_default_cache(registries: Registries, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_target(f"{registries.plain}/alpine:3.20", "amd64", registry=RegistryOptions(
        docker_config=str(tmp_path / "none.json")))
    assert list((tmp_path / "xdg" / "linkcheck" / "registry" / "layers" / "sha256").iterdir())


# ---------------------------------------------------------------------------------------------
# Auth: the bearer-token challenge, Docker config credentials
# ---------------------------------------------------------------------------------------------


def write_docker_config(tmp_path: Path, host: str, user: str, password: str) -> None:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {f"http://{host}": {"auth": auth}}}))


def test_anonymous_pull_answers_the_bearer_challenge(registries: Registries, tmp_path: Path) -> None:
    before = len(registries.tokens.requests)
    target = load_target(f"{registries.token}/public/alpine:3.20", registry=options(tmp_path))
    assert target.libc_version == "1.2.5"
    asked = registries.tokens.requests[before:]
    assert ("repository:public/alpine:pull", False) in asked


def test_a_private_image_without_credentials_is_unauthorized_with_the_login_hint(
        registries: Registries, tmp_path: Path) -> None:
    with pytest.raises(UnauthorizedError) as info:
        load_target(f"{registries.token}/private/alpine:3.20", registry=options(tmp_path))
    message = str(info.value)
    assert f"docker login {registries.token}" in message and "\n" not in message


def test_docker_config_credentials_are_sent_to_the_token_service(registries: Registries,
                                                                 tmp_path: Path) -> None:
    write_docker_config(tmp_path, registries.token, registries.tokens.user, registries.tokens.password)
    before = len(registries.tokens.requests)
    target = load_target(f"{registries.token}/private/alpine:3.20", registry=options(tmp_path))
    assert target.machine == "x86_64"
    assert ("repository:private/alpine:pull", True) in registries.tokens.requests[before:]


def test_refused_credentials_say_so(registries: Registries, tmp_path: Path) -> None:
    write_docker_config(tmp_path, registries.token, registries.tokens.user, "wrong")
    with pytest.raises(UnauthorizedError) as info:
        load_target(f"{registries.token}/private/alpine:3.20", registry=options(tmp_path))
    assert "were refused" in str(info.value)


def test_a_credential_helper_is_named_when_the_registry_needs_credentials(registries: Registries,
                                                                         tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "desktop"}))
    with pytest.raises(UnauthorizedError) as info:
        load_target(f"{registries.token}/private/alpine:3.20", registry=options(tmp_path))
    assert "docker-credential-desktop" in str(info.value)
    # ... and is no obstacle where no credentials are needed
    assert load_target(f"{registries.token}/public/alpine:3.20", registry=options(tmp_path)).machine


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_an_unknown_image_is_one_line(registries: Registries, tmp_path: Path) -> None:
    for ref in (f"{registries.plain}/nothing/here:1", f"{registries.plain}/alpine:9.99"):
        with pytest.raises(ImageNotFoundError) as info:
            load_target(ref, registry=options(tmp_path))
        assert "no such image" in str(info.value) and "\n" not in str(info.value)


def test_an_unreachable_registry_is_one_line(tmp_path: Path) -> None:
    port = rs.free_port()  # nothing listens there
    with pytest.raises(RegistryUnreachableError) as info:
        load_target(f"127.0.0.1:{port}/alpine:3.20", registry=options(tmp_path))
    assert "unreachable" in str(info.value) and "\n" not in str(info.value)


def test_bytes_that_do_not_match_their_digest_are_refused(tmp_path: Path) -> None:
    payload = tmp_path / "layer.tar"
    with tarfile.open(payload, "w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 5
        tar.addfile(info, fileobj=io.BytesIO(b"hello"))
    good = gzip.compress(payload.read_bytes())
    bad = good[:-12] + bytes(8) + good[-4:]  # same length, other bytes
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()

    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(good),
                    "size": len(good)}]}).encode()
    blobs = {f"/v2/bad/blobs/{digest(config)}": config, f"/v2/bad/blobs/{digest(good)}": bad,
             "/v2/bad/manifests/1": manifest}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = blobs.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        with pytest.raises(DigestMismatchError) as refused:
            load_target(f"{host}/bad:1", registry=options(tmp_path))
        assert "refused" in str(refused.value) and "\n" not in str(refused.value)
        assert not list((tmp_path / "cache" / "layers" / "sha256").glob("*.tar"))  # nothing kept
    finally:
        server.shutdown()
        server.server_close()


def test_redirects_to_blob_storage_are_followed_without_the_token(registries: Registries,
                                                                  tmp_path: Path) -> None:
    """A front that demands a bearer token and redirects blob reads to another host (as registries
    send blobs to storage): the token goes to the registry, never to the storage host."""
    import urllib.request

    front_seen: list[tuple[str, str | None]] = []
    storage_seen: list[tuple[str, str | None]] = []

    class Front(http.server.BaseHTTPRequestHandler):
        def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def proxy(self) -> None:
            req = urllib.request.Request(f"http://{registries.plain}{self.path}",
                                         headers={"Accept": self.headers.get("Accept", "")})
            with urllib.request.urlopen(req) as resp:
                self.reply(200, resp.read(), {"Content-Type": resp.headers["Content-Type"]})

        def do_GET(self) -> None:  # noqa: N802
            port = self.server.server_address[1]  # type: ignore[index]  # (host, port) for AF_INET
            auth = self.headers.get("Authorization")
            if self.headers.get("Host", "").startswith("localhost"):  # the "blob storage" host
                storage_seen.append((self.path, auth))
                self.proxy()
                return
            front_seen.append((self.path, auth))
            if self.path.startswith("/token"):
                self.reply(200, json.dumps({"token": "front-token"}).encode())
            elif auth != "Bearer front-token":
                self.reply(401, headers={"WWW-Authenticate":
                                         f'Bearer realm="http://127.0.0.1:{port}/token",service="front"'})
            elif "/blobs/" in self.path:
                self.reply(307, headers={"Location": f"http://localhost:{port}{self.path}"})
            else:
                self.proxy()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = load_target(f"127.0.0.1:{server.server_address[1]}/alpine:3.20", "amd64",
                             registry=options(tmp_path))
    finally:
        server.shutdown()
        server.server_close()
    assert target.libc_version == "1.2.5"
    assert any("/blobs/" in path and auth == "Bearer front-token" for path, auth in front_seen)
    assert storage_seen and all(auth is None for _path, auth in storage_seen)


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def run_cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "DOCKER_CONFIG": str(tmp_path / "docker")}
    return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_cli_says_registry_then_cache_and_offline_works(registries: Registries, tmp_path: Path) -> None:
    ref = f"{registries.plain}/alpine:3.20"
    musl = str(FIXTURES / "bin" / "c-musl-dynamic")
    glibc = str(FIXTURES / "bin" / "c-glibc-dynamic")
    first = run_cli([musl, "--target", ref, "--platform", "linux/amd64"], tmp_path)
    assert first.returncode == ExitStatus.OK, first.stderr
    assert "read from the registry" in first.stderr and f"on {ref}: runs" in first.stdout
    assert "\r" not in first.stderr  # stderr is not a terminal: no progress line
    second = run_cli([glibc, "--target", ref, "--platform", "linux/amd64", "--offline"], tmp_path)
    assert second.returncode == ExitStatus.WONT_RUN, second.stderr
    assert "read from the cache" in second.stderr


def test_cli_offline_without_the_image_cached_is_one_line_and_status_2(tmp_path: Path) -> None:
    res = run_cli([str(FIXTURES / "bin" / "c-musl-dynamic"), "--target", "localhost:5000/base:1",
                   "--offline"], tmp_path)
    assert res.returncode == ExitStatus.ERROR
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--offline" in lines[0] and "Traceback" not in res.stderr
