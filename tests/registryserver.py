"""A real registry on the loopback interface for the tests: Debian's ``docker-registry`` (the CNCF
distribution server), started with a temporary storage directory on a free port, and images pushed into
it with Debian's ``skopeo`` from OCI layouts built here from the real root filesystems in
``../shared/rootfs``. Optionally the registry trusts a token service run by the test itself (a small
HTTP server that signs JWTs with a key made by ``openssl``), so the bearer-token challenge is real.

Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY = shutil.which("docker-registry")
SKOPEO = shutil.which("skopeo")
OPENSSL = shutil.which("openssl")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def missing_tools() -> str | None:
    """Why the registry tests cannot run here, or None."""
    for name, path in (("docker-registry", REGISTRY), ("skopeo", SKOPEO), ("openssl", OPENSSL)):
        if path is None:
            return f"{name} is not installed (scripts/test.sh installs it as root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# OCI layouts from root filesystem tarballs
# ---------------------------------------------------------------------------------------------


def _put(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    blob = layout / "blobs" / "sha256" / digest
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _image(layout: Path, rootfs_tgz: Path, arch: str) -> dict[str, object]:
    """One single-layer image (the tarball is the layer as is) in ``layout``; its manifest descriptor."""
    layer = rootfs_tgz.read_bytes()
    diff_id = hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = {"architecture": arch, "os": "linux", "config": {"Env": [PATH_ENV], "Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}}
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_put(layout, json.dumps(config).encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_put(layout, layer)}],
    }
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            **_put(layout, json.dumps(manifest).encode()),
            "platform": {"architecture": arch, "os": "linux"}}


def build_layout(layout: Path, images: list[tuple[Path, str]], tag: str) -> Path:
    """An OCI image layout holding ``images`` ((rootfs tarball, docker arch) ...) under ``tag``: one
    image directly, several as an image index."""
    layout.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors = [_image(layout, tgz, arch) for tgz, arch in images]
    if len(descriptors) == 1:
        top = descriptors[0]
    else:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": descriptors}
        top = {"mediaType": "application/vnd.oci.image.index.v1+json",
               **_put(layout, json.dumps(index).encode())}
    top = {**top, "annotations": {"org.opencontainers.image.ref.name": tag}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return layout


def push(layout: Path, tag: str, dest: str, *, zstd: bool = False, creds: str | None = None) -> None:
    """skopeo copy of the layout's ``tag`` (every platform of an index) to ``dest`` ("HOST/REPO:TAG")."""
    assert SKOPEO is not None
    cmd = [SKOPEO, "--insecure-policy", "copy", "--quiet", "--all", "--dest-tls-verify=false"]
    if zstd:
        cmd += ["--dest-compress", "--dest-compress-format", "zstd"]
    if creds:
        cmd += ["--dest-creds", creds]
    cmd += [f"oci:{layout}:{tag}", f"docker://{dest}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy to {dest} failed: {proc.stderr.strip()[-500:]}")


# ---------------------------------------------------------------------------------------------
# The token service
# ---------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """Issues registry tokens: every action to ``user``:``password``, pull of ``public/...`` to anyone."""

    key: Path
    cert: Path
    issuer: str = "linkcheck-test-issuer"
    service: str = "linkcheck-test-registry"
    user: str = "tester"
    password: str = "s3cret"
    requests: list[tuple[str, bool]] = field(default_factory=list)  # (scope, authenticated)
    port: int = 0
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def sign(self, claims: dict[str, object]) -> str:
        assert OPENSSL is not None
        der = subprocess.run([OPENSSL, "x509", "-in", str(self.cert), "-outform", "DER"],
                             capture_output=True, check=True).stdout
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run([OPENSSL, "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), capture_output=True, check=True).stdout
        return f"{signing_input}.{_b64(signature)}"

    def token(self, scopes: list[str], authorization: str | None) -> str:
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        authenticated = authorization == expected
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            self.requests.append((scope, authenticated))
            granted = actions.split(",") if authenticated else (
                ["pull"] if name.startswith("public/") and "pull" in actions.split(",") else [])
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        return self.sign({"iss": self.issuer, "sub": self.user if authenticated else "", "aud": self.service,
                          "exp": now + 600, "nbf": now - 60, "iat": now, "jti": f"{now}-{len(self.requests)}",
                          "access": access})

    def start(self) -> None:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if "Authorization" in self.headers and self.headers["Authorization"] != (
                        "Basic " + base64.b64encode(f"{service.user}:{service.password}".encode()).decode()):
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(query.get("scope", []),
                                                          self.headers.get("Authorization"))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def make_token_service(directory: Path) -> TokenService:
    assert OPENSSL is not None
    key, cert = directory / "token.key", directory / "token.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=linkcheck-test-token", "-keyout", str(key), "-out", str(cert)],
                   capture_output=True, check=True, timeout=60)
    service = TokenService(key, cert)
    service.start()
    return service


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


@contextmanager
def running_registry(directory: Path, tokens: TokenService | None = None) -> Iterator[str]:
    """A docker-registry on 127.0.0.1 with its storage in ``directory``; yields "127.0.0.1:PORT"."""
    assert REGISTRY is not None
    port = free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true", "storage:",
             "  filesystem:", f"    rootdirectory: {storage}", "http:", f"  addr: 127.0.0.1:{port}"]
    if tokens is not None:
        lines += ["auth:", "  token:", f"    realm: {tokens.realm}", f"    service: {tokens.service}",
                  f"    issuer: {tokens.issuer}", f"    rootcertbundle: {tokens.cert}"]
    config = directory / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    log = open(directory / "registry.log", "wb")  # noqa: SIM115 (closed below, after the process)
    proc = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{host}/v2/", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # 401 with token auth: it is up
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("docker-registry did not start: "
                                       + (directory / "registry.log").read_text()[-500:]) from None
                time.sleep(0.05)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
