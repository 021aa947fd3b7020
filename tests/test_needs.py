"""Runtime needs read from the file: Go's function table, imported C functions, strings."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from linkcheck.facts.needs import needs_of, read_needs
from linkcheck.facts.reader import analyze
from linkcheck.model import Confidence, Language, NeedKind, NeedReader, SymbolImport, Toolchain

from conftest import FIXTURE_BIN
from factories import elf, static_elf
from runtime_fixtures import afterstart_bin  # noqa: F401  (the session fixture)

GO = Toolchain(Language.GO, ("section .gopclntab",))


def go_file(names: list[str], outside: Sequence[str] = (), magic: int = 0xFFFFFFF1, order: str = "<"
            ) -> bytes:
    """Bytes holding a Go >= 1.18 pclntab header whose function name table holds ``names`` (and
    runtime.main), with ``outside`` names written after the table."""
    table = b"\0".join(n.encode() for n in ["runtime.main", *names]) + b"\0"
    header_size = 8 + 8 * 8
    fields = [len(names) + 1, 1, 0x401000, header_size, header_size + len(table), 0, 0, 0]
    header = struct.pack(order + "I", magic) + b"\0\0\x01\x08" + struct.pack(order + "8Q", *fields)
    tail = b"".join(b"\0" + n.encode() + b"\0" for n in outside)
    return b"\x7fELF" + bytes(60) + header + table + b"junk" + tail


def kinds(needs: object) -> list[NeedKind]:
    return [n.kind for n in needs.needs]  # type: ignore[attr-defined]


def test_go_functions_in_the_name_table_are_needs() -> None:
    data = go_file(["crypto/x509.loadSystemRoots", "time.LoadLocation", "os/user.lookupUser",
                    "os.CreateTemp"])
    got = needs_of(data, static_elf(toolchain=GO))
    assert kinds(got) == [NeedKind.CA_CERTIFICATES, NeedKind.TIME_ZONES, NeedKind.USERS,
                          NeedKind.TEMP_DIR]
    assert all(n.reader is NeedReader.GO and n.confidence is Confidence.HIGH for n in got.needs)
    assert got.needs[0].evidence == ("Go function crypto/x509.loadSystemRoots",)
    assert got.warnings == ()


def test_go_names_outside_the_function_table_are_not_needs() -> None:
    data = go_file(["main.main"], outside=["crypto/x509.loadSystemRoots", "time.LoadLocation"])
    assert needs_of(data, static_elf(toolchain=GO)).needs == ()


def test_go_big_endian_table_is_read() -> None:
    data = go_file(["time.LoadLocation"], order=">")
    assert kinds(needs_of(data, static_elf(toolchain=GO))) == [NeedKind.TIME_ZONES]


def test_go_embedded_tzdata_and_fallback_roots_are_provided_not_needed() -> None:
    data = go_file(["crypto/x509.loadSystemRoots", "golang.org/x/crypto/x509roots/fallback.init",
                    "time.LoadLocation", "time/tzdata.init.0"])
    got = needs_of(data, static_elf(toolchain=GO))
    assert got.needs == ()
    assert len(got.provided) == 2


def test_go_without_a_sound_table_header_searches_the_file_and_says_so() -> None:
    data = b"\x7fELF" + bytes(60) + b"\0time.LoadLocation\0"
    got = needs_of(data, static_elf(toolchain=GO))
    assert kinds(got) == [NeedKind.TIME_ZONES]
    assert got.warnings and "whole file" in got.warnings[0]


@pytest.mark.parametrize("cut", [8, 20, 40, 70])
def test_go_truncated_table_header_is_no_error(cut: int) -> None:
    data = go_file(["time.LoadLocation"])
    start = data.index(struct.pack("<I", 0xFFFFFFF1))
    needs_of(data[: start + cut], static_elf(toolchain=GO))  # no exception, whatever it finds


def test_go_table_offsets_past_the_end_fall_back_to_the_whole_file() -> None:
    header = struct.pack("<I", 0xFFFFFFF1) + b"\0\0\x01\x08" + struct.pack("<8Q", 1, 1, 0, 1 << 60, 1 << 61,
                                                                          0, 0, 0)
    got = needs_of(b"\x7fELF" + header + b"\0os.CreateTemp\0", static_elf(toolchain=GO))
    assert kinds(got) == [NeedKind.TEMP_DIR]


def imports(*names: str) -> tuple[SymbolImport, ...]:
    return tuple(SymbolImport(n, "GLIBC_2.2.5", "libc.so.6", False) for n in names)


def test_imported_c_functions_are_needs() -> None:
    got = needs_of(b"\x7fELF", elf(imports=imports("getpwnam", "mkstemp", "puts")))
    assert kinds(got) == [NeedKind.USERS, NeedKind.TEMP_DIR]
    assert got.needs[0].evidence == ("imports getpwnam",)


def test_imported_setlocale_is_a_locale_need() -> None:
    got = needs_of(b"\x7fELF", elf(imports=imports("setlocale", "puts")))
    assert kinds(got) == [NeedKind.LOCALE]
    assert got.needs[0].evidence == ("imports setlocale",)


def test_static_program_naming_etc_passwd_may_look_up_users() -> None:
    """musl's getpwnam opens /etc/passwd by that name; a stripped static musl program keeps it."""
    got = needs_of(b"\x7fELF\0/etc/passwd\0", static_elf())
    assert [(n.kind, n.confidence, n.evidence) for n in got.needs] == [
        (NeedKind.USERS, Confidence.LOW, ('string "/etc/passwd"',))]
    assert needs_of(b"\x7fELF\0/etc/passwd\0", elf()).needs == ()  # a dynamic one's imports tell


def test_imported_resolver_functions_are_a_low_confidence_dns_need() -> None:
    got = needs_of(b"\x7fELF", elf(imports=imports("getaddrinfo", "res_query")))
    assert [(n.kind, n.confidence, n.evidence) for n in got.needs] == [
        (NeedKind.DNS, Confidence.LOW, ("imports getaddrinfo", "imports res_query"))]
    library = elf(imports=imports("getaddrinfo"), interpreter=None, soname="libcrypto.so.3")
    assert needs_of(b"\x7fELF", library).needs == ()


def test_mkstemp_templates_naming_tmp_are_low_confidence_temp_needs() -> None:
    """What a stripped static program keeps of mkstemp, and what a program with its own mkstemp
    (coreutils' mktemp) holds: templates, with /tmp in the file."""
    data = b"\x7fELF\0usage\0tmp.XXXXXX\0%.*s/%.*sXXXXXX\0/var/x/XXXXXX\0d/XXXXXX\0XXXXX\0/tmp\0"
    for facts in (static_elf(), elf()):
        got = needs_of(data, facts)
        assert [(n.kind, n.confidence) for n in got.needs] == [(NeedKind.TEMP_DIR, Confidence.LOW)]
        assert got.needs[0].evidence == ('string "tmp.XXXXXX" (a mkstemp template)',
                                         'string "%.*s/%.*sXXXXXX" (a mkstemp template)')
    # Without "/tmp" a relative template is made elsewhere (cp's "CuXXXXXX" beside its target) ...
    assert needs_of(b"\x7fELF\0CuXXXXXX\0", elf()).needs == ()
    # ... and a template under /tmp/ needs no more.
    assert len(needs_of(b"\x7fELF\0/tmp/ssh-XXXXXXXXXXXX\0", elf()).needs) == 1
    # An import says it with high confidence.
    got = needs_of(data, elf(imports=imports("mkstemp")))
    assert [(n.confidence, n.evidence) for n in got.needs] == [(Confidence.HIGH, ("imports mkstemp",))]


def test_static_glibc_locale_loader_alone_is_not_a_locale_need() -> None:
    """Every static glibc program carries the locale loader, setlocale called or not."""
    data = b"\x7fELF\0/usr/lib/locale\0/usr/lib/locale/locale-archive\0"
    assert NeedKind.LOCALE not in kinds(needs_of(data, static_elf()))


def test_openssl_default_verify_paths_is_a_ca_need_with_the_files_openssldir() -> None:
    data = b'\x7fELF\0OPENSSLDIR: "/usr/local/ssl"\0'
    got = needs_of(data, elf(imports=imports("SSL_CTX_set_default_verify_paths")))
    assert [(n.kind, n.reader, n.subject) for n in got.needs] == [
        (NeedKind.CA_CERTIFICATES, NeedReader.OPENSSL, "/usr/local/ssl")]


def test_dlopen_names_in_strings_are_low_confidence_needs() -> None:
    data = b"\x7fELF\0libz.so.1\0libc.so.6\0libfoo.so.2\0not a libbar.so.3\0libcuda.so.1\0libz.so.1\0"
    got = needs_of(data, elf(imports=imports("dlopen"), needed=("libc.so.6", "libfoo.so.2")))
    assert [(n.kind, n.subject, n.confidence) for n in got.needs] == [
        (NeedKind.DLOPEN, "libz.so.1", Confidence.LOW),
        (NeedKind.DLOPEN, "libcuda.so.1", Confidence.LOW)]


def test_library_names_without_dlopen_are_not_needs() -> None:
    assert needs_of(b"\x7fELF\0libz.so.1\0", elf()).needs == ()


def test_a_librarys_dlopen_names_are_not_needs() -> None:
    library = elf(interpreter=None, soname="libmount.so.1", imports=imports("dlopen"))
    assert needs_of(b"\x7fELF\0libcryptsetup.so.12\0", library).needs == ()


def test_openssls_own_libraries_do_not_need_ca_certificates() -> None:
    libssl = elf(interpreter=None, soname="libssl.so.1.1", imports=imports("X509_STORE_set_default_paths"))
    assert needs_of(b"\x7fELF", libssl).needs == ()


def test_static_glibc_with_nss_code_may_look_up_users() -> None:
    got = needs_of(b"\x7fELF\0libnss_%s.so%s\0", static_elf())
    assert [(n.kind, n.confidence) for n in got.needs] == [(NeedKind.USERS, Confidence.LOW)]
    assert needs_of(b"\x7fELF\0hello\0", static_elf()).needs == ()


def test_rust_embedded_roots_are_provided_native_certs_needed() -> None:
    rust = Toolchain(Language.RUST)
    native = needs_of(b"\x7fELF/src/rustls-native-certs-0.7.0/src/lib.rs", elf(toolchain=rust))
    assert [(n.kind, n.reader) for n in native.needs] == [
        (NeedKind.CA_CERTIFICATES, NeedReader.RUSTLS_NATIVE_CERTS)]
    embedded = needs_of(b"\x7fELF/src/webpki-roots-0.26.1/src/lib.rs", elf(toolchain=rust))
    assert embedded.needs == () and embedded.provided


def test_unreadable_file_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    got = read_needs(tmp_path / "missing", elf())
    assert got.needs == () and got.warnings


@pytest.mark.parametrize("name", ["go-static", "go-cgo-net", "go-netgo", "c-glibc-static", "rust-glibc",
                                  "c-glibc-dynamic"])
def test_hello_fixtures_need_nothing_after_start(name: str) -> None:
    path = FIXTURE_BIN / name
    analysis = analyze(path)
    assert analysis.elf is not None
    got = read_needs(path, analysis.elf)
    assert (got.needs, got.warnings) == ((), ())


def test_built_go_fixture_needs(afterstart_bin: Path) -> None:  # noqa: F811
    for name, expected, provided in (
            ("go-afterstart", [NeedKind.CA_CERTIFICATES, NeedKind.TIME_ZONES, NeedKind.USERS,
                               NeedKind.TEMP_DIR], 0),
            ("go-afterstart-tzdata", [NeedKind.CA_CERTIFICATES, NeedKind.USERS,
                                      NeedKind.TEMP_DIR], 1)):
        analysis = analyze(afterstart_bin / name)
        assert analysis.elf is not None
        got = read_needs(afterstart_bin / name, analysis.elf)
        assert (kinds(got), len(got.provided), got.warnings) == (expected, provided, ())


def test_only_the_kinds_asked_for_are_read() -> None:
    data = go_file(["crypto/x509.loadSystemRoots", "time.LoadLocation", "os/user.lookupUser"])
    assert kinds(needs_of(data, static_elf(toolchain=GO), {NeedKind.TIME_ZONES})) == [NeedKind.TIME_ZONES]
    assert needs_of(data, static_elf(toolchain=GO), {NeedKind.DLOPEN}).needs == ()
    program = elf(imports=imports("getpwnam", "mkstemp", "dlopen", "SSL_CTX_set_default_verify_paths"),
                  needed=("libc.so.6",))
    data = b"\x7fELF\0libfoo.so.2\0"
    assert kinds(needs_of(data, program)) == [NeedKind.CA_CERTIFICATES, NeedKind.USERS, NeedKind.TEMP_DIR,
                                              NeedKind.DLOPEN]
    assert kinds(needs_of(data, program, {NeedKind.DLOPEN, NeedKind.USERS})) == [NeedKind.USERS,
                                                                                 NeedKind.DLOPEN]
    assert needs_of(data, program, ()).needs == ()
