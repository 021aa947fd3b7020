"""Deciding runtime findings: a need is met when the image has any path its reader looks at."""

from __future__ import annotations

import dataclasses

import pytest

from linkcheck.model import (
    Confidence,
    EnvOrigin,
    EnvVar,
    NeedKind,
    NeedReader,
    RuntimeNeed,
    RuntimeNeeds,
    Target,
)
from linkcheck.verdict.checks import check
from linkcheck.verdict.runtime import kinds_judged, runtime_findings

from factories import analysis, elf, empty_target, glibc_target, lib, musl_target, static_elf

GO_CA = RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.GO, ("Go function crypto/x509.loadSystemRoots",))
GO_TZ = RuntimeNeed(NeedKind.TIME_ZONES, NeedReader.GO, ("Go function time.LoadLocation",))
USERS = RuntimeNeed(NeedKind.USERS, NeedReader.LIBC, ("imports getpwnam",))
TEMP = RuntimeNeed(NeedKind.TEMP_DIR, NeedReader.LIBC, ("imports mkstemp",))
OPENSSL = RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.OPENSSL,
                      ("imports SSL_CTX_set_default_verify_paths",))


def having(target: Target, *paths: str) -> Target:
    return dataclasses.replace(target, runtime_files=frozenset(paths))


def judged(need: RuntimeNeed, target: Target) -> list[NeedKind]:
    return [f.kind for f in runtime_findings(RuntimeNeeds((need,)), static_elf(), target)]


def test_go_ca_need_is_met_by_any_bundle_or_certificate_directory_go_reads() -> None:
    assert judged(GO_CA, having(empty_target())) == [NeedKind.CA_CERTIFICATES]
    for path in ("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
                 "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs"):
        assert judged(GO_CA, having(empty_target(), path)) == []


def test_go_does_not_read_debians_openssldir() -> None:
    assert judged(GO_CA, having(empty_target(), "/usr/lib/ssl/cert.pem")) == [NeedKind.CA_CERTIFICATES]


def test_openssl_reads_its_openssldir_by_the_images_libc() -> None:
    assert judged(OPENSSL, having(glibc_target(), "/usr/lib/ssl/cert.pem")) == []
    # Debian without the openssl package: the bundle is there, OPENSSLDIR's cert.pem is not.
    assert judged(OPENSSL, having(glibc_target(), "/etc/ssl/certs/ca-certificates.crt")) == [
        NeedKind.CA_CERTIFICATES]
    assert judged(OPENSSL, having(musl_target(), "/etc/ssl/cert.pem")) == []


def test_openssl_with_an_openssldir_linkcheck_does_not_probe_is_not_judged() -> None:
    vendored = dataclasses.replace(OPENSSL, subject="/usr/local/ssl")
    assert judged(vendored, having(empty_target())) == []


def test_time_zone_need_is_met_by_zoneinfo() -> None:
    assert judged(GO_TZ, having(empty_target())) == [NeedKind.TIME_ZONES]
    assert judged(GO_TZ, having(empty_target(), "/usr/share/zoneinfo")) == []


def test_users_need_etc_passwd_and_temp_files_need_tmp() -> None:
    assert judged(USERS, having(empty_target(), "/etc/group")) == [NeedKind.USERS]
    assert judged(USERS, having(empty_target(), "/etc/passwd")) == []
    assert judged(TEMP, having(empty_target())) == [NeedKind.TEMP_DIR]
    assert judged(TEMP, having(empty_target(), "/tmp")) == []


def test_unknown_runtime_files_give_no_finding() -> None:
    target = empty_target()
    assert target.runtime_files is None
    assert judged(GO_CA, target) == judged(USERS, target) == []


def dlopen(name: str) -> RuntimeNeeds:
    return RuntimeNeeds((RuntimeNeed(NeedKind.DLOPEN, NeedReader.LIBC, ("imports dlopen",),
                                     Confidence.LOW, subject=name),))


def test_dlopen_name_is_looked_up_in_the_loaders_directories() -> None:
    found = runtime_findings(dlopen("libz.so.1"), elf(), glibc_target())
    assert [(f.kind, f.subject, f.confidence) for f in found] == [
        (NeedKind.DLOPEN, "libz.so.1", Confidence.LOW)]
    assert found[0].lacks[:2] == ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1")
    with_z = glibc_target([lib("/usr/lib/x86_64-linux-gnu/libz.so.1")])
    assert runtime_findings(dlopen("libz.so.1"), elf(), with_z) == ()


def test_dlopen_library_for_another_machine_does_not_count() -> None:
    arm = glibc_target([lib("/usr/lib/x86_64-linux-gnu/libz.so.1", machine="aarch64")])
    assert len(runtime_findings(dlopen("libz.so.1"), elf(), arm)) == 1


def test_dlopen_from_a_program_with_its_own_search_path_is_not_judged() -> None:
    assert runtime_findings(dlopen("libz.so.1"), elf(runpath=("$ORIGIN/lib",)), glibc_target()) == ()


LOCALE = RuntimeNeed(NeedKind.LOCALE, NeedReader.LIBC, ("imports setlocale",))


def with_env(target: Target, *pairs: tuple[str, str]) -> Target:
    return dataclasses.replace(target, env=tuple(EnvVar(n, v, EnvOrigin.IMAGE_CONFIG) for n, v in pairs))


def test_locale_the_environment_names_must_be_compiled_in_a_glibc_image() -> None:
    bookworm = having(glibc_target(), "/tmp", "/usr/lib/locale/C.utf8")
    found = runtime_findings(RuntimeNeeds((LOCALE,)), elf(), with_env(bookworm, ("LANG", "en_US.UTF-8")))
    assert [(f.kind, f.subject) for f in found] == [(NeedKind.LOCALE, "en_US.UTF-8")]
    assert found[0].evidence == ("imports setlocale", "LANG=en_US.UTF-8 (image config)")
    assert found[0].lacks == ("/usr/lib/locale/locale-archive", "/usr/lib/locale/en_US.UTF-8",
                              "/usr/lib/locale/en_US.utf8")
    # glibc normalizes the codeset (C.UTF-8 finds C.utf8) and C, POSIX and an unset LANG are built in.
    for env in ((("LANG", "C.UTF-8"),), (("LANG", "C.utf8"),), (("LANG", "POSIX"),), (("LANG", ""),), ()):
        assert judged(LOCALE, with_env(bookworm, *env)) == [], env


def test_locale_lc_all_overrides_lang_and_every_lc_variable_is_loaded() -> None:
    bookworm = having(glibc_target(), "/usr/lib/locale/C.utf8")
    assert judged(LOCALE, with_env(bookworm, ("LANG", "de_DE.UTF-8"), ("LC_ALL", "C.UTF-8"))) == []
    assert judged(LOCALE, with_env(bookworm, ("LANG", "C.UTF-8"), ("LC_TIME", "de_DE.UTF-8"))) == [
        NeedKind.LOCALE]


def test_locale_may_be_served_by_a_less_specific_compiled_locale() -> None:
    de = having(glibc_target(), "/usr/lib/locale/de_DE")
    assert judged(LOCALE, with_env(de, ("LANG", "de_DE.UTF-8@euro"))) == []
    assert judged(LOCALE, with_env(de, ("LANG", "de_AT.UTF-8"))) == [NeedKind.LOCALE]


def test_locale_is_not_judged_on_musl_with_an_archive_or_with_locpath() -> None:
    """musl's setlocale takes any name (real runs); an archive's names are not read."""
    asked = ("LANG", "en_US.UTF-8")
    assert judged(LOCALE, with_env(having(musl_target()), asked)) == []
    assert judged(LOCALE, with_env(having(glibc_target(), "/usr/lib/locale/locale-archive"), asked)) == []
    assert judged(LOCALE, with_env(having(glibc_target()), asked, ("LOCPATH", "/opt/locale"))) == []
    assert judged(LOCALE, with_env(glibc_target(), asked)) == []  # runtime files unknown


RESOLVES = RuntimeNeed(NeedKind.DNS, NeedReader.LIBC, ("imports getaddrinfo",), Confidence.LOW)


def test_name_lookups_get_a_musl_resolver_note_with_its_version() -> None:
    from linkcheck.verdict.runtime_words import worded

    assert judged(RESOLVES, having(glibc_target())) == []
    old = dataclasses.replace(musl_target(), libc_version="1.2.3")
    found = runtime_findings(RuntimeNeeds((RESOLVES,)), elf(), old)
    assert [(f.kind, f.subject, f.confidence, f.lacks) for f in found] == [
        (NeedKind.DNS, "musl 1.2.3", Confidence.LOW, ())]
    # No TCP before 1.2.4 (alpine 3.19's "1.2.4_git20230717" has it); the search-domain words always.
    for version, no_tcp in (("1.2.3", True), ("1.2.4_git20230717", False), ("1.2.5", False)):
        target = dataclasses.replace(musl_target(), libc_version=version)
        note = worded(runtime_findings(RuntimeNeeds((RESOLVES,)), elf(), target)[0], target)
        assert ("never asks again over TCP" in note.message) == no_tcp, version
        assert "ends the lookup" in note.message
        assert any("musl 1.2.4 or later" in fix for fix in note.fixes) == no_tcp
    unknown = dataclasses.replace(musl_target(), libc_version=None)
    note = worded(runtime_findings(RuntimeNeeds((RESOLVES,)), elf(), unknown)[0], unknown)
    assert note.subject == "musl (version unknown)" and "before musl 1.2.4" in note.message


def test_check_puts_worded_findings_beside_runs() -> None:
    target = having(empty_target(), "/etc/passwd")
    verdict = check(analysis(static_elf()), target, needs=RuntimeNeeds((GO_CA, GO_TZ, USERS)))
    assert verdict.runs
    assert [f.kind for f in verdict.findings] == [NeedKind.CA_CERTIFICATES, NeedKind.TIME_ZONES]
    ca = verdict.findings[0]
    assert ca.message == "x509: certificate signed by unknown authority"
    assert ca.when and ca.fixes
    assert verdict.to_dict()["findings"][0]["kind"] == "ca-certificates"


def test_check_without_needs_has_no_findings() -> None:
    assert check(analysis(static_elf()), having(empty_target())).findings == ()


@pytest.mark.parametrize("kind", list(NeedKind))
def test_every_kind_gets_when_message_and_fixes(kind: NeedKind) -> None:
    from linkcheck.model import RuntimeFinding
    from linkcheck.verdict.runtime_words import worded

    for reader in NeedReader:
        f = worded(RuntimeFinding(kind, reader, Confidence.HIGH, ("evidence",), ("/x",), "libz.so.1"),
                   empty_target())
        assert f.when and f.message and f.fixes


EVERY_PATH = ("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem", "/usr/lib/ssl/cert.pem",
              "/usr/lib/ssl/certs", "/etc/ssl/certs", "/etc/pki/tls/certs", "/usr/share/zoneinfo",
              "/etc/passwd", "/etc/group", "/tmp")


@pytest.mark.parametrize("paths", [(), EVERY_PATH, ("/etc/ssl/certs/ca-certificates.crt", "/tmp"),
                                   ("/usr/lib/ssl/cert.pem", "/etc/passwd"), ("/etc/ssl/cert.pem",),
                                   ("/usr/share/zoneinfo", "/etc/ssl/certs"), None])
@pytest.mark.parametrize("base", [glibc_target, musl_target, empty_target])
@pytest.mark.parametrize("env", [(), (("LANG", "de_DE.UTF-8"),)])
def test_a_need_of_a_kind_not_judged_never_gives_a_finding(
        paths: tuple[str, ...] | None, base: object, env: tuple[tuple[str, str], ...]) -> None:
    """What lets a scan skip reading the evidence of the kinds a target cannot fail."""
    target = with_env(base(), *env)  # type: ignore[operator]
    target = dataclasses.replace(target, runtime_files=None if paths is None else frozenset(paths))
    judged_kinds = kinds_judged([target])
    found = set()
    for kind in NeedKind:
        for reader in NeedReader:
            for subject in (None, "/usr/lib/ssl", "/etc/ssl", "/usr/local/ssl", "libz.so.1"):
                need = RuntimeNeed(kind, reader, ("evidence",), subject=subject)
                found |= {f.kind for f in runtime_findings(RuntimeNeeds((need,)), elf(), target)}
    assert found <= judged_kinds
    assert found == judged_kinds  # nothing judged that no need could fail: the skip is as wide as it can be


def test_a_target_with_every_path_is_failed_only_by_dlopen() -> None:
    assert kinds_judged([having(glibc_target(), *EVERY_PATH)]) == {NeedKind.DLOPEN}
    assert kinds_judged([having(empty_target(), *EVERY_PATH)]) == frozenset()  # no loader: no dlopen
    assert kinds_judged([having(empty_target())]) == set(NeedKind) - {
        NeedKind.DLOPEN, NeedKind.LOCALE, NeedKind.DNS}
    assert kinds_judged([having(empty_target(), *EVERY_PATH), having(glibc_target(), "/tmp")]) == \
        set(NeedKind) - {NeedKind.TEMP_DIR, NeedKind.LOCALE, NeedKind.DNS}
    # musl's resolver is a note on every musl image.
    assert kinds_judged([having(musl_target(), *EVERY_PATH)]) == {NeedKind.DLOPEN, NeedKind.DNS}
    # A locale is judged from the environment the image sets.
    german = with_env(having(glibc_target(), *EVERY_PATH), ("LANG", "de_DE.UTF-8"))
    assert kinds_judged([german]) == {NeedKind.DLOPEN, NeedKind.LOCALE}
