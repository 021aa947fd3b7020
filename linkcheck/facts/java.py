"""Java class files and jars -> the Java release they need. Reads are bounded; nothing is run.

A class file starts with CAFEBABE, minor (u16) and major (u16) version; release = major - 44 (52 = Java 8).
Mach-O universal ("fat") binaries start with CAFEBABE too, followed by a small count of architectures
(u32), which read as minor 0 and a major below 45: no class file has that.

For a jar, every class up to MAX_CLASSES is read (the Main-Class first) and grouped by version: the
main class decides whether `java -jar` starts at all, the others fail only when first loaded. Classes
under META-INF/versions/ (multi-release jars) and module-info.class are skipped: older JVMs never load
them. Only the first 8 bytes of each class are decompressed; the manifest is refused when its declared
size is over MAX_MANIFEST (a zip bomb cannot make us inflate more than we ask for).
"""

from __future__ import annotations

import struct
from typing import IO

from linkcheck.errors import ArchiveError, FormatError
from linkcheck.model import ClassVersionGroup, JavaFacts

CLASS_MAGIC = b"\xca\xfe\xba\xbe"
FIRST_CLASS_MAJOR = 45  # Java 1.0/1.1
MAX_CLASSES = 10_000
EXAMPLES = 5  # class names kept per version
MAX_MANIFEST = 1 << 20
MAX_ENTRIES = 200_000


def is_class_file(head: bytes) -> bool:
    """CAFEBABE followed by a class-file version rather than a Mach-O fat architecture count."""
    if len(head) < 8 or head[:4] != CLASS_MAGIC:
        return False
    minor, major = struct.unpack_from(">HH", head, 4)
    return bool(major >= FIRST_CLASS_MAJOR or (minor != 0 and major != 0))


def is_fat_macho(head: bytes) -> bool:
    if len(head) < 8 or head[:4] not in (CLASS_MAGIC, b"\xca\xfe\xba\xbf"):
        return False
    nfat: int = struct.unpack_from(">I", head, 4)[0]
    return 0 < nfat < FIRST_CLASS_MAJOR


def release_of(major: int) -> int:
    """Class-file major version -> Java release (52 -> 8, 61 -> 17). Majors before 49 are Java 1.x,
    reported as 1 (all run on any Java)."""
    return major - 44 if major >= 49 else 1


def parse_class(head: bytes, name: str = "") -> JavaFacts:
    """A class file's version. ``main_class`` is the name `java -cp DIR NAME` runs it by: the file name
    without ".class" (a class in a package is named by its path under the class path, not known here)."""
    if not is_class_file(head):
        raise FormatError(f"{name or 'data'}: not a Java class file")
    minor, major = struct.unpack_from(">HH", head, 4)
    base = name.rsplit("/", 1)[-1]
    main = base[: -len(".class")] if base.endswith(".class") else (base or None)
    return JavaFacts(class_major=major, java_release=release_of(major), classes_read=1, main_class=main,
                     main_class_major=major, main_class_minor=minor,
                     versions=(ClassVersionGroup(major, 1, (main,) if main else ()),))


def class_name(member: str) -> str:
    """"com/example/Main.class" -> "com.example.Main", as Java names it in its messages."""
    return member[: -len(".class")].replace("/", ".")


def parse_jar(file: IO[bytes], name: str = "") -> JavaFacts:
    """Read a jar from a seekable binary file object."""
    import zipfile  # lazily: only jars pay for it
    import zlib

    where = name or "jar"
    try:
        with zipfile.ZipFile(file) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ArchiveError(f"{where}: {len(infos)} entries, more than the {MAX_ENTRIES} read")
            manifest = _manifest(zf, where)
            main_class = manifest.get("main-class") or None
            classes = [
                i for i in infos
                if i.filename.endswith(".class") and not i.filename.startswith("META-INF/")
                and i.filename.rsplit("/", 1)[-1] != "module-info.class"
            ]
            wanted = None if main_class is None else main_class.replace(".", "/") + ".class"
            if wanted is not None:
                classes.sort(key=lambda i: i.filename != wanted)
            best = 0
            read = 0
            main_major: int | None = None
            main_minor = 0
            groups: dict[int, list[str]] = {}
            counts: dict[int, int] = {}
            for info in classes[:MAX_CLASSES]:
                with zf.open(info) as f:
                    head = f.read(8)
                read += 1
                if not is_class_file(head):
                    continue
                minor, major = struct.unpack_from(">HH", head, 4)
                best = max(best, major)
                counts[major] = counts.get(major, 0) + 1
                examples = groups.setdefault(major, [])
                if len(examples) < EXAMPLES:
                    examples.append(class_name(info.filename))
                if info.filename == wanted:
                    main_major, main_minor = major, minor
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError,
            RuntimeError, zlib.error, struct.error) as exc:  # RuntimeError: an encrypted member
        raise ArchiveError(f"{where}: not a readable jar ({' '.join(str(exc).split())})") from exc
    except OSError as exc:
        raise ArchiveError(f"{where}: cannot read jar ({exc.strerror or exc})") from exc
    versions = tuple(ClassVersionGroup(m, counts[m], tuple(groups[m])) for m in sorted(counts))
    return JavaFacts(best, release_of(best) if best else 0, classes_read=read, main_class=main_class,
                     main_class_major=main_major, main_class_minor=main_minor, versions=versions,
                     has_manifest=bool(manifest),
                     multi_release=manifest.get("multi-release", "").lower() == "true",
                     all_read=len(classes) <= MAX_CLASSES)


def _manifest(zf: object, where: str) -> dict[str, str]:
    """The main section's attributes, keys lower-cased; {} without a manifest. A manifest that is
    there but empty still counts as one: {"": ""}."""
    import zipfile

    assert isinstance(zf, zipfile.ZipFile)
    try:
        info = zf.getinfo("META-INF/MANIFEST.MF")
    except KeyError:
        return {}
    if info.file_size > MAX_MANIFEST:
        raise ArchiveError(f"{where}: manifest declares {info.file_size} bytes, over the {MAX_MANIFEST} read")
    with zf.open(info) as f:
        text = f.read(MAX_MANIFEST + 1)
    if len(text) > MAX_MANIFEST:
        raise ArchiveError(f"{where}: manifest inflates past its declared size")
    # Manifest lines are continued by a line starting with one space.
    joined = text.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").replace("\n ", "")
    out = {"": ""}
    for line in joined.split("\n"):
        if not line.strip():
            break  # the main section ends at the first blank line; per-entry sections follow
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip().lower(), value.strip())
    return out


# ------------------------------------------------------------------------------------------------
# A directory of loose classes (Maven's target/classes, a COPY of build/classes): one app
# ------------------------------------------------------------------------------------------------

MAX_CLASS_BYTES = 1 << 20  # a class larger than this is read for its version only
_ACC_PUBLIC, _ACC_STATIC = 0x0001, 0x0008
_MAIN_DESCRIPTOR = b"([Ljava/lang/String;)V"
# Constant pool entries of a fixed size after their tag (JVMS 4.4); Utf8 (1) carries its own length.
_CP_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4,
             19: 2, 20: 2}


def class_binary_name(data: bytes) -> tuple[str | None, bool]:
    """(the class's own name, "com/example/Main"; whether it declares ``public static void
    main(String[])``), read from its constant pool and method table. (None, False) for a class file too
    broken to read, which java would refuse too."""
    try:
        return _name_and_main(data)
    except (struct.error, IndexError, KeyError, UnicodeDecodeError):
        return None, False


def _name_and_main(data: bytes) -> tuple[str | None, bool]:
    count = struct.unpack_from(">H", data, 8)[0]
    utf8: dict[int, bytes] = {}
    classes: dict[int, int] = {}
    pos, index = 10, 1
    while index < count:
        tag = data[pos]
        if tag == 1:
            length = struct.unpack_from(">H", data, pos + 1)[0]
            utf8[index] = data[pos + 3: pos + 3 + length]
            pos += 3 + length
        elif tag in _CP_SIZES:
            if tag == 7:
                classes[index] = struct.unpack_from(">H", data, pos + 1)[0]
            pos += 1 + _CP_SIZES[tag]
            index += 1 if tag in (5, 6) else 0  # a long or double takes two slots
        else:
            return None, False
        index += 1
    this_class = struct.unpack_from(">H", data, pos + 2)[0]
    name = utf8[classes[this_class]].decode("utf-8")
    interfaces = struct.unpack_from(">H", data, pos + 6)[0]
    pos += 8 + 2 * interfaces
    has_main = False
    for table in range(2):  # fields, then methods: the same layout
        members = struct.unpack_from(">H", data, pos)[0]
        pos += 2
        for _ in range(members):
            flags, name_index, descriptor, attributes = struct.unpack_from(">HHHH", data, pos)
            pos += 8
            for _ in range(attributes):
                pos += 6 + struct.unpack_from(">I", data, pos + 2)[0]
            if table == 1 and utf8.get(name_index) == b"main" and utf8.get(descriptor) == _MAIN_DESCRIPTOR \
                    and flags & (_ACC_PUBLIC | _ACC_STATIC) == _ACC_PUBLIC | _ACC_STATIC:
                has_main = True
    if pos > len(data):
        raise IndexError("class file ends inside its tables")
    return name, has_main


def _package_dir(name: str) -> bool:
    """Whether a directory name can be a Java package (a Java identifier): others cannot hold classes
    on the class path, so a walk need not enter them (x86_64-linux-gnu, python3.11, node_modules...)."""
    return name.isidentifier() and name != "META-INF"


def read_class_dir(root: str) -> tuple[JavaFacts, tuple[str, ...]] | None:
    """A directory as a class path root, as `java -cp DIR MAIN` sees it: the classes that sit at their
    package's path under it (com/example/Main.class holding com/example/Main), grouped by version, and
    the ones with ``public static void main(String[])`` (binary names, sorted). None when no class sits
    at its package path: the directory is no class path. Symlinks are not followed; at most
    MAX_CLASSES classes are read."""
    import os

    counts: dict[int, int] = {}
    groups: dict[int, list[str]] = {}
    majors: dict[str, tuple[int, int]] = {}
    mains: list[str] = []
    read = 0
    complete = True
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if _package_dir(d))
        rel_dir = os.path.relpath(directory, root)
        for file in sorted(files):
            if not file.endswith(".class") or file == "module-info.class":
                continue
            if read >= MAX_CLASSES:
                complete = False
                break
            rel = file if rel_dir == "." else f"{rel_dir}/{file}"
            try:
                with open(os.path.join(directory, file), "rb", opener=_no_follow) as f:
                    data = f.read(MAX_CLASS_BYTES + 1)
            except OSError:
                continue
            if not is_class_file(data[:8]):
                continue
            read += 1
            name, has_main = class_binary_name(data) if len(data) <= MAX_CLASS_BYTES else (None, False)
            if name != rel[: -len(".class")]:
                continue  # not where java -cp looks for it (or unreadable): it never loads from here
            minor, major = struct.unpack_from(">HH", data, 4)
            binary = class_name(rel)
            majors[binary] = (major, minor)
            counts[major] = counts.get(major, 0) + 1
            examples = groups.setdefault(major, [])
            if len(examples) < EXAMPLES:
                examples.append(binary)
            if has_main:
                mains.append(binary)
        if not complete:
            break
    if not majors:
        return None
    mains.sort()
    main = mains[0] if mains else None
    best = max(counts)
    main_major, main_minor = majors[main] if main is not None else (None, 0)
    versions = tuple(ClassVersionGroup(m, counts[m], tuple(groups[m])) for m in sorted(counts))
    facts = JavaFacts(best, release_of(best), classes_read=len(majors), main_class=main,
                      main_class_major=main_major, main_class_minor=main_minor, versions=versions,
                      all_read=complete)
    return facts, tuple(mains)


def _no_follow(path: str, flags: int) -> int:
    import os

    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
