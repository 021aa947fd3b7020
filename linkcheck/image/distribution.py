"""The OCI distribution API over HTTP: one registry's client, its auth, and the user's Docker credentials.

HTTP: the standard library's ``http.client``, on purpose. A registry needs a handful of GET requests
with our own handling of two things generic clients get wrong for it: redirects to blob storage (the
``Authorization`` header must not follow a redirect to another host: presigned storage URLs refuse a
second credential, and the token must not leak there; ``urllib`` forwards it) and the bearer-token
challenge. That is a few dozen lines over ``http.client``, with no dependency to keep and TLS from
``ssl.create_default_context()`` (the system's trust store). This module is imported only when the
network is used: a check answered from the cache does not pay for ``http.client`` and ``ssl``.

Auth: anonymous first; on a ``401`` the ``WWW-Authenticate`` challenge says what to do: ``Bearer``
gets a token from the named realm (with the user's credentials when the Docker config has some, as
``docker pull`` does), ``Basic`` sends the credentials. Credentials come from the Docker config's
``auths`` (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``); credential helpers
(``credsStore``, ``credHelpers``) are not run, and a registry that needs them is refused with a message
saying so.

Plain HTTP is used only for registries on this machine (``localhost``, 127.0.0.0/8, ``[::1]``) and for
the hosts the user names as insecure; everywhere else HTTPS with certificate checks, and a redirect
from HTTPS to plain HTTP is refused.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import os
import socket
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linkcheck.errors import (
    ImageNotFoundError,
    RegistryError,
    RegistryUnreachableError,
    UnauthorizedError,
)
from linkcheck.image.reference import ImageReference, RegistryOptions

MAX_JSON_BYTES = 4 << 20  # a manifest, index or config larger than this is not an image's
_MAX_REDIRECTS = 5
_TIMEOUT = 30.0


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class _Auth:
    """What the Docker config holds for one registry: inline credentials, or the helper that keeps them."""

    credentials: Credentials | None = None
    helper: str | None = None
    config_path: str = ""


def docker_config_path(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def _config_host(key: str) -> str:
    """The host of an ``auths`` key: "ghcr.io", "https://ghcr.io", "https://HOST/v1/" all name HOST."""
    if "://" in key:
        key = key.split("://", 1)[1]
    return key.split("/", 1)[0].lower()


def _matches(key_host: str, ref: ImageReference) -> bool:
    if ref.is_docker_hub:  # Docker writes its Hub logins under a host in the docker.io domain
        return key_host == ref.host or key_host.endswith("." + ref.host)
    return key_host == ref.host.lower()


def load_auth(ref: ImageReference, config_path: str) -> _Auth:
    """The credentials the Docker config at ``config_path`` holds for ``ref``'s registry (none if the
    file is absent). A malformed file or entry is a RegistryError naming it."""
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        return _Auth(config_path=config_path)
    except (OSError, ValueError) as e:
        raise RegistryError(f"{config_path}: cannot read the Docker config: {e}") from None
    if not isinstance(config, dict):
        raise RegistryError(f"{config_path}: the Docker config is not a JSON object")
    auths = config.get("auths")
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if not (isinstance(key, str) and isinstance(entry, dict) and _matches(_config_host(key), ref)):
                continue
            creds = _inline_credentials(entry, key, config_path)
            if creds is not None:
                return _Auth(credentials=creds, config_path=config_path)
    helpers = config.get("credHelpers")
    helper = None
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if isinstance(key, str) and isinstance(name, str) and _matches(_config_host(key), ref):
                helper = name
    if helper is None and isinstance(config.get("credsStore"), str) and config["credsStore"]:
        helper = str(config["credsStore"])
    return _Auth(helper=helper, config_path=config_path)


def _inline_credentials(entry: dict[str, Any], key: str, config_path: str) -> Credentials | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            text = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"{config_path}: auths[{key!r}].auth is not base64 of user:password"
                                ) from None
        user, sep, password = text.partition(":")
        if not sep:
            raise RegistryError(f"{config_path}: auths[{key!r}].auth is not base64 of user:password")
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: http.client.HTTPResponse
    url: str


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="...",scope="..."`` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    i = 0
    while i < len(rest):
        while i < len(rest) and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            end = i + 1
            value = []
            while end < len(rest) and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < len(rest):
                    end += 1
                value.append(rest[end])
                end += 1
            params[key] = "".join(value)
            i = end + 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return scheme.lower(), params


@dataclass
class RegistryClient:
    """One registry, for one pull: connections kept alive per (scheme, host), the bearer token reused."""

    ref: ImageReference
    endpoint: str  # host[:port] actually spoken to
    scheme: str
    options: RegistryOptions
    auth: _Auth
    _connections: dict[tuple[str, str], http.client.HTTPConnection] = field(default_factory=dict)
    _authorization: str | None = None

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _allowed_plain(self, host: str) -> bool:
        name = ImageReference(host, "x", None, None)
        return name.is_loopback or host in self.options.insecure or name.hostname in self.options.insecure

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        conn = self._connections.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=_TIMEOUT,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(netloc, timeout=_TIMEOUT)
            self._connections[key] = conn
        return conn

    def _send(self, url: str, headers: dict[str, str]) -> _Response:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryUnreachableError(f"{self.ref}: the registry sent an unusable URL {url[:200]!r}")
        if parts.scheme == "http" and not self._allowed_plain(parts.netloc):
            raise RegistryUnreachableError(
                f"{self.ref}: refusing plain HTTP to {parts.netloc} (only this machine's registries and "
                "those named with --insecure-registry are spoken to without TLS)")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: reconnect once
            conn = self._connection(parts.scheme, parts.netloc)
            try:
                conn.request("GET", path, headers={"User-Agent": "linkcheck", **headers})
                resp = conn.getresponse()
                return _Response(resp.status, resp.headers, resp, url)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._connections.pop((parts.scheme, parts.netloc), None)
                if attempt == 2:
                    raise
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._connections.pop((parts.scheme, parts.netloc), None)
                raise RegistryUnreachableError(f"{self.ref}: registry {parts.netloc} unreachable: "
                                               f"{_why(e)}") from None
        raise AssertionError("unreachable")

    def get(self, path: str, accept: str | None = None) -> _Response:
        """GET ``/v2/...`` with auth and redirects handled; returns a 2xx response (body unread) or
        raises the error the status means."""
        url = f"{self.scheme}://{self.endpoint}{path}"
        retried_auth = False
        origin = urllib.parse.urlsplit(url).netloc
        redirects = 0
        while True:
            headers = {"Accept": accept} if accept else {}
            netloc = urllib.parse.urlsplit(url).netloc
            if self._authorization is not None and netloc == origin:
                headers["Authorization"] = self._authorization  # never sent to another host
            try:
                resp = self._send(url, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                raise RegistryUnreachableError(f"{self.ref}: registry {netloc} unreachable: {_why(e)}"
                                               ) from None
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                resp.body.read()
                if not location or redirects >= _MAX_REDIRECTS:
                    raise RegistryUnreachableError(f"{self.ref}: too many redirects, or one without a "
                                                   "Location")
                new = urllib.parse.urljoin(url, location)
                if urllib.parse.urlsplit(url).scheme == "https" and new.startswith("http:") and \
                        not self._allowed_plain(urllib.parse.urlsplit(new).netloc):
                    raise RegistryUnreachableError(f"{self.ref}: refusing a redirect from HTTPS to "
                                                   "plain HTTP")
                url = new
                redirects += 1
                continue
            if resp.status == 401 and not retried_auth and netloc == origin:
                challenge = resp.headers.get("WWW-Authenticate", "")
                resp.body.read()
                self._authorization = self._answer(challenge)
                retried_auth = True
                continue
            if 200 <= resp.status < 300:
                return resp
            body = resp.body.read(64 << 10)
            raise self._status_error(resp.status, body, path)

    def _answer(self, challenge: str) -> str:
        scheme, params = _parse_challenge(challenge)
        creds = self.auth.credentials
        if scheme == "basic":
            if creds is None:
                raise self._unauthorized()
            return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        if scheme != "bearer" or "realm" not in params:
            raise RegistryUnreachableError(f"{self.ref}: the registry asks for authentication linkcheck "
                                           f"does not speak ({challenge[:80]!r})")
        query = {"service": params.get("service", ""),
                 "scope": params.get("scope") or f"repository:{self.ref.repository}:pull"}
        realm = params["realm"]
        sep = "&" if "?" in realm else "?"
        url = realm + sep + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        headers = {}
        if creds is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{creds.username}:{creds.password}".encode()).decode()
        if urllib.parse.urlsplit(url).scheme == "http" and creds is not None and \
                not self._allowed_plain(urllib.parse.urlsplit(url).netloc):
            raise RegistryUnreachableError(f"{self.ref}: refusing to send credentials to {realm} in "
                                           "plain HTTP")
        resp = self._send(url, headers)
        body = resp.body.read(MAX_JSON_BYTES)
        if resp.status in (401, 403):
            raise self._unauthorized()
        if resp.status != 200:
            raise RegistryUnreachableError(f"{self.ref}: the token service {realm} answered {resp.status}")
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryUnreachableError(f"{self.ref}: the token service {realm} sent no token")
        return f"Bearer {token}"

    def _unauthorized(self) -> UnauthorizedError:
        if self.auth.credentials is not None:
            how = f"the credentials for {self.ref.host} in {self.auth.config_path} were refused"
        elif self.auth.helper is not None:
            how = (f"its credentials are kept by docker-credential-{self.auth.helper}, which linkcheck does "
                   f"not run; add an auths entry for {self.ref.host} to {self.auth.config_path}")
        else:
            how = f"no credentials for {self.ref.host} in {self.auth.config_path}"
        return UnauthorizedError(f"{self.ref}: unauthorized ({how}); run `docker login {self.ref.host}` "
                                 "if the image is private")

    def _status_error(self, status: int, body: bytes, path: str) -> RegistryError:
        codes: list[str] = []
        try:
            errors = json.loads(body).get("errors", [])
            codes = [str(e.get("code")) for e in errors if isinstance(e, dict)]
        except (ValueError, AttributeError):
            pass
        if status in (401, 403) or "UNAUTHORIZED" in codes or "DENIED" in codes:
            return self._unauthorized()
        if status == 404 or {"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"} & set(codes):
            what = "blob" if "/blobs/" in path else "image"
            return ImageNotFoundError(f"{self.ref}: no such {what} in the registry {self.ref.host}"
                                      + (f" ({', '.join(codes)})" if codes else ""))
        return RegistryUnreachableError(f"{self.ref}: the registry {self.endpoint} answered HTTP {status}"
                                        + (f" ({', '.join(codes)})" if codes else ""))


    # -- what the puller asks for ------------------------------------------------------------

    def fetch(self, path: str, accept: str | None = None) -> tuple[bytes, str, str | None]:
        """A manifest or config: (its bytes, bounded; Content-Type; Docker-Content-Digest)."""
        resp = self.get(path, accept)
        try:
            data = resp.body.read(MAX_JSON_BYTES + 1)
        except (OSError, http.client.HTTPException) as e:
            raise RegistryUnreachableError(f"{self.ref}: download failed: {_why(e)}") from None
        if len(data) > MAX_JSON_BYTES:
            raise RegistryError(f"{self.ref}: a manifest or config larger than {MAX_JSON_BYTES} bytes: "
                                "refused")
        return data, resp.headers.get("Content-Type", ""), resp.headers.get("Docker-Content-Digest")

    def stream(self, path: str, what: str) -> Callable[[int], bytes]:
        """A blob, read in pieces: ``read(n)`` until it returns b""."""
        body = self.get(path).body

        def read(n: int) -> bytes:
            try:
                return body.read(n)
            except (OSError, http.client.HTTPException) as e:
                raise RegistryUnreachableError(f"{what}: download failed: {_why(e)}") from None

        return read


def _why(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    if isinstance(e, ssl.SSLError):
        return f"TLS: {e.reason or e}"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__
