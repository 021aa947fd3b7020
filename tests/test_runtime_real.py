"""Runtime findings against real runs: each fixture started in a real root (chroot + execve) for one
need, and linkcheck's finding for that need must be there exactly when the run fails.

Every run gets an /etc/hosts naming localhost, as Docker and Kubernetes mount one into every
container. TLS runs dial a server on 127.0.0.1 whose self-signed certificate is, or is not, in the
root's CA bundle; "no bundle" roots fail, roots with the test CA appended to their bundle work.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linkcheck.facts.needs import read_needs
from linkcheck.facts.reader import analyze
from linkcheck.image.rootfs import target_from_tree
from linkcheck.image.tree import DirectoryTree
from linkcheck.model import EnvOrigin, EnvVar, NeedKind, Verdict
from linkcheck.verdict.checks import check

from conftest import needs_root
from dns_server import NOERROR, SERVFAIL, Answer, dns_server
from launch import install, private_proc_works, run_in_root
from roots import RootUnavailable, build_root
from runtime_fixtures import afterstart_bin  # noqa: F401  (the session fixture)

pytestmark = [needs_root, pytest.mark.chroot]

HOST_LIBZ = Path("/usr/lib/x86_64-linux-gnu/libz.so.1")
HOST_BERLIN = Path("/usr/share/zoneinfo/Europe/Berlin")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    """(port, certificate PEM): a TLS server on 127.0.0.1 that completes handshakes."""
    d = tmp_path_factory.mktemp("tls")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2",
         "-subj", "/CN=linkcheck test CA", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                conn.settimeout(5)
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], (d / "cert.pem").read_bytes()
    stop.set()
    thread.join(5)
    sock.close()


def make_root(tmp_path: Path, name: str) -> Path:
    if not private_proc_works():
        pytest.skip("cannot mount /proc in a private mount namespace here")
    root = tmp_path / name
    try:
        build_root(name, root)
    except RootUnavailable as exc:
        pytest.skip(f"root {name}: {exc}")
    etc = root / "etc"
    if etc.is_symlink():
        pytest.skip(f"root {name}: /etc is a symlink")
    etc.mkdir(exist_ok=True)
    hosts = etc / "hosts"
    if hosts.is_symlink():
        hosts.unlink()
    hosts.write_text("127.0.0.1 localhost\n")  # as the container runtime mounts it
    return root


def verdict_in(root: Path, program: Path, env: dict[str, str] | None = None) -> Verdict:
    analysis = analyze(program)
    assert analysis.elf is not None
    # A scratch root has no file that tells its architecture: an image config would (machine_hint).
    target = target_from_tree(DirectoryTree(str(root)), str(root), machine_hint="x86_64")
    # The environment the run gets, as --env gives it.
    given = tuple(EnvVar(k, v, EnvOrigin.OPTION) for k, v in (env or {}).items())
    target = dataclasses.replace(target, env=given)
    return check(analysis, target, needs=read_needs(program, analysis.elf))


def run_case(root: Path, bin_dir: Path, fixture: str, argv: list[str]) -> tuple[bool, str, Verdict]:
    program = bin_dir / fixture
    where = install(root, program, f"/app/{fixture}")
    got = run_in_root(root, where, [where, *argv], timeout=30)
    verdict = verdict_in(root, root / "app" / fixture)
    assert verdict.runs, verdict.explanation
    return got.exit_code == 0, got.stderr, verdict


def kinds(verdict: Verdict) -> set[NeedKind]:
    return {f.kind for f in verdict.findings}


def add_bundle(pem: bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        bundle = root / "etc/ssl/certs/ca-certificates.crt"
        if bundle.is_symlink():
            bundle.unlink()
        bundle.parent.mkdir(parents=True, exist_ok=True)
        old = bundle.read_bytes() if bundle.is_file() else b""
        bundle.write_bytes(old + b"\n" + pem)
    return setup


def no_bundle(root: Path) -> None:
    for rel in ("etc/ssl/certs", "etc/ssl/cert.pem"):
        p = root / rel
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def nothing(root: Path) -> None:
    del root


@pytest.mark.parametrize(("root_name", "setup", "works"), [
    ("scratch", "none", False),
    ("scratch", "bundle", True),
    ("busybox-musl", "none", False),
    ("alpine-3.20.3-x86_64", "bundle", True),
    ("alpine-3.20.3-x86_64", "no-bundle", False),
    ("debian-bookworm", "none", False),  # slim has no ca-certificates
    ("debian-bookworm", "bundle", True),
])
def test_go_tls_fails_exactly_where_the_image_has_no_ca_bundle(
        tmp_path: Path, afterstart_bin: Path, tls_server: tuple[int, bytes],  # noqa: F811
        root_name: str, setup: str, works: bool) -> None:
    port, pem = tls_server
    root = make_root(tmp_path, root_name)
    {"none": nothing, "bundle": add_bundle(pem), "no-bundle": no_bundle}[setup](root)
    ok, stderr, verdict = run_case(root, afterstart_bin, "go-afterstart", ["tls", f"127.0.0.1:{port}"])
    assert ok == works, stderr
    assert (NeedKind.CA_CERTIFICATES in kinds(verdict)) == (not ok)
    if not ok:
        assert "x509: certificate signed by unknown authority" in stderr
        finding = next(f for f in verdict.findings if f.kind is NeedKind.CA_CERTIFICATES)
        assert "x509: certificate signed by unknown authority" in finding.message


def add_berlin(root: Path) -> None:
    if not HOST_BERLIN.is_file():
        pytest.skip(f"{HOST_BERLIN} is not on this host (tzdata)")
    dest = root / "usr/share/zoneinfo/Europe"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HOST_BERLIN, dest / "Berlin")


@pytest.mark.parametrize(("fixture", "root_name", "zoneinfo", "works"), [
    ("go-afterstart", "scratch", False, False),
    ("go-afterstart", "alpine-3.20.3-x86_64", False, False),
    ("go-afterstart", "alpine-3.20.3-x86_64", True, True),
    ("go-afterstart-tzdata", "scratch", False, True),
    ("go-afterstart", "debian-bookworm", False, True),  # slim has tzdata
])
def test_go_time_zone_fails_exactly_without_zoneinfo_or_embedded_tzdata(
        tmp_path: Path, afterstart_bin: Path, fixture: str, root_name: str,  # noqa: F811
        zoneinfo: bool, works: bool) -> None:
    root = make_root(tmp_path, root_name)
    if zoneinfo:
        add_berlin(root)
    ok, stderr, verdict = run_case(root, afterstart_bin, fixture, ["tz", "Europe/Berlin"])
    assert ok == works, stderr
    assert (NeedKind.TIME_ZONES in kinds(verdict)) == (not ok)
    if not ok:
        assert "unknown time zone Europe/Berlin" in stderr


@pytest.mark.parametrize(("fixture", "root_name", "works"), [
    ("go-afterstart", "scratch", False),
    ("go-afterstart", "busybox-musl", True),
    ("c-afterstart-static", "scratch", False),
    ("c-afterstart-static", "busybox-musl", True),
    ("c-afterstart-static", "busybox-glibc", True),
    ("go-afterstart", "debian-bookworm", True),
])
def test_user_lookup_fails_exactly_without_etc_passwd(
        tmp_path: Path, afterstart_bin: Path, fixture: str, root_name: str, works: bool) -> None:  # noqa: F811
    root = make_root(tmp_path, root_name)
    ok, stderr, verdict = run_case(root, afterstart_bin, fixture, ["user", "root"])
    assert ok == works, stderr
    assert (NeedKind.USERS in kinds(verdict)) == (not ok)


@pytest.mark.parametrize("fixture", ["go-afterstart", "c-afterstart-static"])
@pytest.mark.parametrize("root_name", ["scratch", "busybox-musl"])
def test_name_lookup_needs_no_nss_modules_so_it_has_no_finding_kind(
        tmp_path: Path, afterstart_bin: Path, fixture: str, root_name: str) -> None:  # noqa: F811
    """Why linkcheck has no name-lookup finding: with the /etc/hosts every container gets and no
    nsswitch.conf, resolv.conf or libnss_*.so.2, a static glibc 2.36 program and a Go program still
    resolve localhost (glibc >= 2.34 has its files and dns modules built in)."""
    root = make_root(tmp_path, root_name)
    assert not list(root.rglob("libnss_*"))
    ok, stderr, _verdict = run_case(root, afterstart_bin, fixture, ["host", "localhost"])
    assert ok, stderr


@pytest.mark.parametrize(("root_name", "works"), [("scratch", False), ("alpine-3.20.3-x86_64", True)])
def test_go_temp_file_fails_exactly_without_tmp(
        tmp_path: Path, afterstart_bin: Path, root_name: str, works: bool) -> None:  # noqa: F811
    root = make_root(tmp_path, root_name)
    ok, stderr, verdict = run_case(root, afterstart_bin, "go-afterstart", ["tmp"])
    assert ok == works, stderr
    assert (NeedKind.TEMP_DIR in kinds(verdict)) == (not ok)


@pytest.mark.parametrize("busybox_from", ["host", "busybox-musl"])
@pytest.mark.parametrize("with_tmp", [False, True])
def test_static_busybox_mktemp_fails_exactly_without_tmp(
        tmp_path: Path, busybox_from: str, with_tmp: bool) -> None:
    """A stripped static program keeps no symbol names: its mkstemp templates ("tmp.XXXXXX") are
    the evidence (low confidence). Host busybox: static glibc; busybox:musl's: static musl."""
    if busybox_from == "host":
        busybox = Path("/bin/busybox")
        if not busybox.is_file():
            pytest.skip("no /bin/busybox (busybox-static)")
    else:
        busybox = make_root(tmp_path, busybox_from) / "bin/busybox"
    root = make_root(tmp_path, "scratch")
    if with_tmp:
        (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    where = install(root, busybox, "/app/busybox")
    got = run_in_root(root, where, [where, "mktemp"], timeout=30)
    verdict = verdict_in(root, root / "app/busybox")
    assert verdict.runs, verdict.explanation
    assert (got.exit_code == 0) == with_tmp, got.stderr
    found = [f for f in verdict.findings if f.kind is NeedKind.TEMP_DIR]
    assert [f.confidence.value for f in found] == ([] if with_tmp else ["low"])
    assert all(e.endswith('XXXXXX" (a mkstemp template)') for f in found for e in f.evidence)
    if not with_tmp:
        assert "No such file or directory" in got.stderr


@pytest.mark.parametrize(("with_libz", "works"), [(False, False), (True, True)])
def test_dlopen_by_name_fails_exactly_where_the_library_is_missing(
        tmp_path: Path, afterstart_bin: Path, with_libz: bool, works: bool) -> None:  # noqa: F811
    root = make_root(tmp_path, "glibc-host")
    if with_libz:
        if not HOST_LIBZ.is_file():
            pytest.skip(f"{HOST_LIBZ} is not on this host")
        shutil.copyfile(HOST_LIBZ.resolve(), root / "usr/lib/x86_64-linux-gnu/libz.so.1")
    ok, stderr, verdict = run_case(root, afterstart_bin, "c-dlopen-z", ["load"])
    assert ok == works, stderr
    dlopen = [f for f in verdict.findings if f.kind is NeedKind.DLOPEN]
    assert [f.subject for f in dlopen] == ([] if ok else ["libz.so.1"])
    if not ok:
        assert "libz.so.1: cannot open shared object file" in stderr
        assert "libz.so.1: cannot open shared object file" in dlopen[0].message


HOST_OPENSSL = tuple(Path("/usr/lib/x86_64-linux-gnu") / n for n in ("libssl.so.3", "libcrypto.so.3"))


def add_host_openssl(root: Path) -> None:
    """Debian's libssl3 (OPENSSLDIR /usr/lib/ssl), as the package installs it: without a CA bundle."""
    for lib in HOST_OPENSSL:
        if not lib.is_file():
            pytest.skip(f"{lib} is not on this host (libssl3)")
        shutil.copyfile(lib, root / "usr/lib/x86_64-linux-gnu" / lib.name)


def link_openssldir(root: Path) -> None:
    """What Debian's ca-certificates adds: OPENSSLDIR's cert.pem, a link to the bundle."""
    ssl_dir = root / "usr/lib/ssl"
    ssl_dir.mkdir(parents=True, exist_ok=True)
    (ssl_dir / "cert.pem").symlink_to("/etc/ssl/certs/ca-certificates.crt")


@pytest.mark.parametrize(("fixture", "root_name", "setup", "works"), [
    ("c-openssl", "glibc-host", "none", False),
    # The bundle alone is not enough: Debian's OpenSSL reads /usr/lib/ssl/cert.pem and /usr/lib/ssl/certs.
    ("c-openssl", "glibc-host", "bundle", False),
    ("c-openssl", "glibc-host", "bundle+openssldir", True),
    ("c-openssl", "debian-bookworm", "none", False),
    ("c-openssl", "debian-bookworm", "bundle+openssldir", True),
    ("c-openssl-musl", "alpine-3.20.3-x86_64", "bundle", True),  # OPENSSLDIR /etc/ssl: cert.pem is a link
    ("c-openssl-musl", "alpine-3.20.3-x86_64", "no-bundle", False),
])
def test_openssl_tls_fails_exactly_where_its_openssldir_has_no_bundle(
        tmp_path: Path, afterstart_bin: Path, tls_server: tuple[int, bytes],  # noqa: F811
        fixture: str, root_name: str, setup: str, works: bool) -> None:
    port, pem = tls_server
    root = make_root(tmp_path, root_name)
    if fixture == "c-openssl":
        add_host_openssl(root)
    if "bundle" in setup and setup != "no-bundle":
        add_bundle(pem)(root)
    if setup == "bundle+openssldir":
        link_openssldir(root)
    if setup == "no-bundle":
        no_bundle(root)
    ok, stderr, verdict = run_case(root, afterstart_bin, fixture, [str(port)])
    assert ok == works, stderr
    found = [f for f in verdict.findings if f.kind is NeedKind.CA_CERTIFICATES]
    assert [f.reader.value for f in found] == ([] if ok else ["openssl"])
    if not ok:
        assert "certificate verify failed" in stderr
        assert "certificate verify failed" in found[0].message


# A loopback address of its own, on port 53 (musl asks no other port).
DNS_ADDRESS = "127.0.0.77"
DNS_ZONE = {
    # 60 A records: over 512 bytes, so the UDP answer is truncated (and, as some servers do, empty).
    "big.test": Answer(NOERROR, tuple(f"10.0.0.{i}" for i in range(1, 61))),
    "small.test": Answer(NOERROR, ("10.0.0.1",)),
    "svc.broken.test": Answer(SERVFAIL),  # a search domain whose server fails
    "svc": Answer(NOERROR, ("10.1.1.1",)),
}


def musl_version_of_host() -> str:
    """The version of Debian's musl that the "musl" root takes from this host."""
    got = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "musl"], capture_output=True, text=True,
                         check=False)
    if got.returncode != 0 or not got.stdout:
        pytest.skip("Debian's musl package is not installed")
    return got.stdout.strip()


@pytest.fixture(scope="module")
def dns() -> Iterator[None]:
    try:
        with dns_server(DNS_ADDRESS, DNS_ZONE):
            yield
    except OSError as exc:
        pytest.skip(f"cannot serve DNS on {DNS_ADDRESS}:53: {exc}")


@pytest.mark.parametrize(("fixture", "root_name", "name", "search", "works"), [
    ("c-resolve", "glibc-host", "big.test", False, True),  # glibc asks again over TCP
    ("c-resolve", "glibc-host", "svc", True, True),  # glibc goes on after the failing search domain
    ("c-resolve-musl", "musl", "small.test", False, True),
    ("c-resolve-musl", "musl", "big.test", False, False),  # musl 1.2.3: no TCP
    ("c-resolve-musl", "musl", "svc", True, False),
    ("c-resolve-musl", "alpine-3.20.3-x86_64", "big.test", False, True),  # musl 1.2.5: TCP
    ("c-resolve-musl", "alpine-3.20.3-x86_64", "svc", True, False),
])
@pytest.mark.usefixtures("dns")
def test_musl_dns_note_says_what_real_lookups_show(
        tmp_path: Path, afterstart_bin: Path,  # noqa: F811
        fixture: str, root_name: str, name: str, search: bool, works: bool) -> None:
    root = make_root(tmp_path, root_name)
    if root_name == "musl":
        # What an apk database would record of the musl the root has (Debian's, from this host).
        (root / "lib/apk/db").mkdir(parents=True)
        (root / "lib/apk/db/installed").write_text(f"P:musl\nV:{musl_version_of_host()}\n\n")
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    resolv.write_text(("search broken.test\n" if search else "") + f"nameserver {DNS_ADDRESS}\n")
    program = afterstart_bin / fixture
    where = install(root, program, f"/app/{fixture}")
    got = run_in_root(root, where, [where, name], timeout=60)
    assert (got.exit_code == 0) == works, (got.stdout, got.stderr)
    verdict = verdict_in(root, root / "app" / fixture)
    assert verdict.runs, verdict.explanation
    notes = [f for f in verdict.findings if f.kind is NeedKind.DNS]
    if fixture == "c-resolve":
        assert notes == []
        return
    assert [f.evidence for f in notes] == [("imports getaddrinfo",)]
    note = notes[0]
    assert note.subject is not None and note.subject.startswith("musl 1.2.")
    says_no_tcp = "never asks again over TCP" in note.message
    if name == "big.test":
        assert says_no_tcp == (not works)
        if not works:
            assert f"{name}: Name does not resolve" in got.stderr
    if search:
        assert "ends the lookup" in note.message and f"{name}: Try again" in got.stderr


HOST_LIBYAML = Path("/usr/lib/x86_64-linux-gnu/libyaml-0.so.2")
LOADER_PY = 'import ctypes\n\nctypes.CDLL("libyaml-0.so.2")\nprint("loaded")\n'


def pure_wheel(directory: Path) -> Path:
    """A pure-Python wheel whose package loads libyaml-0.so.2 by name with ctypes when imported."""
    import zipfile

    wheel = directory / "yamlload-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("yamlload/__init__.py", LOADER_PY)
        zf.writestr("yamlload-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: yamlload\nVersion: 1.0\n")
        zf.writestr("yamlload-1.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("yamlload-1.0.dist-info/RECORD", "")
    return wheel


@pytest.mark.parametrize(("with_libyaml", "works"), [(False, False), (True, True)])
def test_python_ctypes_load_by_name_fails_exactly_where_the_image_lacks_the_library(
        tmp_path: Path, with_libyaml: bool, works: bool) -> None:
    from linkcheck.facts.wheel import read_wheel

    root = make_root(tmp_path, "debian-bookworm-runtimes")
    if with_libyaml:
        if not HOST_LIBYAML.is_file():
            pytest.skip(f"{HOST_LIBYAML} is not on this host (libyaml-0-2)")
        shutil.copyfile(HOST_LIBYAML.resolve(), root / "usr/lib/x86_64-linux-gnu/libyaml-0.so.2")
    package = root / "app/yamlload"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(LOADER_PY)
    got = run_in_root(root, "/usr/bin/python3", ["python3", "-c", "import sys; sys.path.insert(0, '/app'); "
                                                 "import yamlload"], timeout=60)
    assert (got.exit_code == 0) == works, got.stderr
    target = target_from_tree(DirectoryTree(str(root)), str(root))
    report = read_wheel(str(pure_wheel(tmp_path)), target=target)
    loads = [f for f in report.findings if f.kind == "runtime-load"]
    assert len(loads) == (0 if works else 1)
    if not works:
        said = "libyaml-0.so.2: cannot open shared object file: No such file or directory"
        assert said in got.stderr and said in loads[0].message
        assert loads[0].message.startswith("yamlload/__init__.py may load libyaml-0.so.2 at run time")


HOST_C_UTF8 = Path("/usr/lib/locale/C.utf8")


def add_c_utf8(root: Path) -> None:
    if not HOST_C_UTF8.is_dir():
        pytest.skip(f"{HOST_C_UTF8} is not on this host (libc-bin)")
    shutil.copytree(HOST_C_UTF8, root / "usr/lib/locale/C.utf8")


@pytest.mark.parametrize(("fixture", "root_name", "setup", "lang", "works"), [
    ("c-locale", "debian-bookworm", "none", "en_US.UTF-8", False),  # slim has C.utf8 only
    ("c-locale", "debian-bookworm", "none", "C.UTF-8", True),  # glibc normalizes the codeset
    ("c-locale", "debian-bookworm", "none", "de_DE@euro", False),
    ("c-locale", "glibc-host", "none", "C.UTF-8", False),  # no /usr/lib/locale at all
    ("c-locale", "glibc-host", "c-utf8", "C.UTF-8", True),
    ("c-locale", "glibc-host", "c-utf8", "en_US.UTF-8", False),
    ("c-locale", "glibc-host", "none", "POSIX", True),
    ("c-locale-musl", "alpine-3.20.3-x86_64", "none", "en_US.UTF-8", True),  # musl takes any name
    ("c-locale-musl", "musl", "none", "de_DE@euro", True),
])
def test_setlocale_fails_exactly_where_a_glibc_image_lacks_the_locale(
        tmp_path: Path, afterstart_bin: Path, fixture: str, root_name: str, setup: str,  # noqa: F811
        lang: str, works: bool) -> None:
    root = make_root(tmp_path, root_name)
    if setup == "c-utf8":
        add_c_utf8(root)
    program = afterstart_bin / fixture
    where = install(root, program, f"/app/{fixture}")
    got = run_in_root(root, where, [where], timeout=30, env={"PATH": "/usr/bin:/bin", "LANG": lang})
    verdict = verdict_in(root, root / "app" / fixture, {"LANG": lang})
    assert verdict.runs, verdict.explanation
    assert (got.exit_code == 0) == works, (got.stdout, got.stderr)
    found = [f for f in verdict.findings if f.kind is NeedKind.LOCALE]
    assert [f.subject for f in found] == ([] if works else [lang])
    if not works:
        # What the finding says happens: the C locale, where UTF-8 text no longer decodes.
        assert got.stdout.strip() == "setlocale=(null) mbstowcs=-1"
        assert "setlocale fails and it runs in the C locale" in found[0].message
