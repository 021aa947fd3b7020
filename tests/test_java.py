"""java: class files, jars (bounded reads, zip bombs refused) and Mach-O fat binaries told apart."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from linkcheck.errors import ArchiveError, FormatError
from linkcheck.facts.java import (
    MAX_CLASSES,
    MAX_MANIFEST,
    is_class_file,
    is_fat_macho,
    parse_class,
    parse_jar,
)
from linkcheck.facts.reader import analyze, analyze_bytes
from linkcheck.model import FileFormat

from conftest import FIXTURE_BIN


def klass(major: int, minor: int = 0) -> bytes:
    return b"\xca\xfe\xba\xbe" + struct.pack(">HH", minor, major) + b"\x00" * 16


def jar(entries: dict[str, bytes], manifest: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if manifest is not None:
            z.writestr("META-INF/MANIFEST.MF", manifest)
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(("major", "release"), [(52, 8), (55, 11), (61, 17), (65, 21), (49, 5)])
def test_class_release(major: int, release: int) -> None:
    facts = parse_class(klass(major))
    assert (facts.class_major, facts.java_release, facts.classes_read) == (major, release, 1)


def test_java_1_1_class_with_minor_version() -> None:
    assert is_class_file(klass(45, 3)) and parse_class(klass(45, 3)).java_release == 1


def test_fat_macho_is_not_a_class() -> None:
    fat = b"\xca\xfe\xba\xbe" + struct.pack(">I", 2) + bytes(40)
    assert is_fat_macho(fat) and not is_class_file(fat)
    with pytest.raises(FormatError):
        parse_class(fat)
    assert analyze_bytes(fat, "universal").format is FileFormat.MACH_O


def test_class_fixtures() -> None:
    for name, release in (("Hello8.class", 8), ("Hello17.class", 17)):
        path = FIXTURE_BIN / name
        if not path.exists():
            pytest.skip("class fixtures not built")
        a = analyze(path)
        assert a.format is FileFormat.JAVA_CLASS and a.java is not None and a.java.java_release == release


def test_jar_highest_class_decides_and_main_class_is_read() -> None:
    data = jar(
        {"a/A.class": klass(52), "b/B.class": klass(61), "c/C.class": klass(55)},
        "Manifest-Version: 1.0\r\nMain-Class: a.A\r\n\r\n",
    )
    facts = parse_jar(io.BytesIO(data), "app.jar")
    assert (facts.class_major, facts.java_release, facts.main_class, facts.classes_read) == (61, 17, "a.A", 3)


def test_manifest_continuation_lines() -> None:
    data = jar({"x.class": klass(52)}, "Manifest-Version: 1.0\nMain-Class: com.example.very.lo\n ng.Main\n")
    assert parse_jar(io.BytesIO(data)).main_class == "com.example.very.long.Main"


def test_multi_release_and_module_info_are_skipped() -> None:
    data = jar(
        {
            "a/A.class": klass(52),
            "META-INF/versions/17/a/A.class": klass(61),
            "module-info.class": klass(53),
        },
        "Manifest-Version: 1.0\nMulti-Release: true\n",
    )
    facts = parse_jar(io.BytesIO(data))
    assert (facts.class_major, facts.java_release, facts.classes_read) == (52, 8, 1)


def test_classes_read_are_bounded_and_main_class_first() -> None:
    entries = {f"p/C{i}.class": klass(52) for i in range(MAX_CLASSES + 50)}
    entries["z/Main.class"] = klass(65)  # last in the archive, but named by Main-Class
    facts = parse_jar(io.BytesIO(jar(entries, "Main-Class: z.Main\n")))
    assert facts.classes_read == MAX_CLASSES and facts.class_major == 65


def test_manifest_declared_too_big_is_refused() -> None:
    # A highly compressible manifest over the limit: refused from its declared size, never inflated.
    data = jar({"a.class": klass(52)}, "Main-Class: a\n" + "x" * (MAX_MANIFEST + 10))
    with pytest.raises(ArchiveError, match="manifest declares"):
        parse_jar(io.BytesIO(data), "bomb.jar")


def test_manifest_lying_about_its_size_is_refused() -> None:
    """A manifest whose header claims a small size but inflates to more than the limit."""
    big = "Main-Class: a\n" + "x" * (MAX_MANIFEST + 10)
    data = bytearray(jar({}, big))
    # Patch the declared uncompressed size (local header offset 22, central header offset 24).
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)
    struct.pack_into("<I", data, central + 24, 100)
    with pytest.raises(ArchiveError):
        parse_jar(io.BytesIO(bytes(data)), "liar.jar")


def test_not_a_zip() -> None:
    with pytest.raises(ArchiveError, match="^x.jar: not a readable jar"):
        parse_jar(io.BytesIO(b"PK\x03\x04" + bytes(50)), "x.jar")


def test_jar_fixture(tmp_path: Path) -> None:
    path = FIXTURE_BIN / "hello17.jar"
    if not path.exists():
        pytest.skip("jar fixture not built")
    a = analyze(path)
    assert a.format is FileFormat.JAR and a.java is not None
    assert (a.java.java_release, a.java.main_class) == (17, "Hello17")
    # The same bytes under a name without .jar are still recognised by their classes.
    other = tmp_path / "app.bin"
    other.write_bytes(path.read_bytes())
    assert analyze(other).format is FileFormat.JAR


def test_corrupt_jars_give_archive_errors_only() -> None:
    """Random byte changes in a real jar: a result or a one-line ArchiveError, never another exception
    (corrupt deflate streams raise zlib.error, encrypted-flag members RuntimeError inside zipfile)."""
    import random

    data = jar({"a/A.class": klass(61)}, "Manifest-Version: 1.0\nMain-Class: a.A\n")
    rng = random.Random(7)
    for _ in range(3000):
        bad = bytearray(data)
        for _flip in range(rng.randint(1, 5)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            parse_jar(io.BytesIO(bytes(bad)), "x.jar")
        except ArchiveError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("x.jar: ")
