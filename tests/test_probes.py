"""Which of the paths programs read after start a root has: files must resolve to regular files,
directories must hold entries (an empty /tmp still serves)."""

from __future__ import annotations

from pathlib import Path

from linkcheck.image.probes import PROBE_PATHS, is_probed, probe_tree
from linkcheck.image.tree import DirectoryTree


def test_regular_files_and_directories_with_entries_count(tmp_path: Path) -> None:
    (tmp_path / "etc/ssl/certs").mkdir(parents=True)
    (tmp_path / "etc/ssl/certs/ca-certificates.crt").write_text("PEM\n")
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\n")
    (tmp_path / "usr/share/zoneinfo/Europe").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    assert probe_tree(DirectoryTree(str(tmp_path))) == {
        "/etc/ssl/certs", "/etc/ssl/certs/ca-certificates.crt", "/etc/passwd", "/usr/share/zoneinfo", "/tmp"}


def test_dangling_symlink_and_empty_directory_do_not_count(tmp_path: Path) -> None:
    """Debian's /usr/lib/ssl/cert.pem points into ca-certificates, which slim images lack."""
    (tmp_path / "usr/lib/ssl").mkdir(parents=True)
    (tmp_path / "usr/lib/ssl/cert.pem").symlink_to("/etc/ssl/certs/ca-certificates.crt")
    (tmp_path / "usr/share/zoneinfo").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").mkdir()  # a directory where a file is expected
    assert probe_tree(DirectoryTree(str(tmp_path))) == frozenset()


def test_absolute_symlinks_resolve_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc/ssl/certs").mkdir(parents=True)
    (tmp_path / "etc/ssl/certs/ca-certificates.crt").write_text("PEM\n")
    (tmp_path / "etc/ssl/cert.pem").symlink_to("/etc/ssl/certs/ca-certificates.crt")
    assert "/etc/ssl/cert.pem" in probe_tree(DirectoryTree(str(tmp_path)))


def test_hosts_and_resolv_conf_are_not_probed() -> None:
    """The container runtime mounts both, whatever the image has."""
    assert "/etc/hosts" not in PROBE_PATHS and "/etc/resolv.conf" not in PROBE_PATHS


def test_every_compiled_locale_directory_is_listed(tmp_path: Path) -> None:
    locale = tmp_path / "usr/lib/locale"
    (locale / "C.utf8").mkdir(parents=True)
    (locale / "C.utf8/LC_CTYPE").write_text("x")
    (locale / "de_DE.utf8").mkdir()  # empty: serves nothing
    (locale / "en_US.UTF-8").symlink_to("C.utf8")
    (locale / "locale-archive").write_text("x")
    assert probe_tree(DirectoryTree(str(tmp_path))) == {
        "/usr/lib/locale/C.utf8", "/usr/lib/locale/en_US.UTF-8", "/usr/lib/locale/locale-archive"}


def test_profiles_may_name_locales_but_no_other_unprobed_path() -> None:
    assert is_probed("/usr/lib/locale/C.UTF-8") and is_probed("/tmp")
    assert not is_probed("/usr/lib/locale/") and not is_probed("/usr/lib/locale/x/y")
    assert not is_probed("/etc/hosts")
