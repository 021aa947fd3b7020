"""The committed fixtures are what fixtures/manifest.json says their recipes made.

Checked with readers independent of linkcheck: readelf (binutils) for ELF headers, program headers,
the dynamic section and version needs; lief as a second ELF reader; plain byte reads for scripts,
class files, jars and the handmade stubs. Fixtures marked ``runs_on_host`` are really run.
linkcheck itself is not imported here (another test compares it with the manifest).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import struct
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURE_BIN, FIXTURES, load_manifest

MANIFEST = load_manifest()
MAX_FILE = 2_500_000
MAX_TOTAL = 12_000_000

# readelf's "Machine:" wording -> uname -m, for the machines the fixtures use.
READELF_MACHINE = {
    ("Advanced Micro Devices X86-64", 64): "x86_64",
    ("AArch64", 64): "aarch64",
    ("Intel 80386", 32): "i386",
    ("IBM S/390", 64): "s390x",
    ("MIPS R3000", 32): "mips",
    ("RISC-V", 64): "riscv64",
    ("PowerPC64", 64): "ppc64le",
}
ELF_KEYS = ("machine", "elf_class", "endianness", "elf_type", "pie", "interpreter", "needed", "soname",
            "rpath", "runpath")


def names_with(key: str, value: Any = None) -> list[str]:
    return sorted(n for n, f in MANIFEST.items() if key in f and (value is None or f[key] == value))


def path_of(name: str) -> Path:
    return FIXTURES / str(MANIFEST[name]["path"])


ELF_NAMES = [n for n in names_with("format", "elf") if "machine" in MANIFEST[n]]
readelf_missing = pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")


def readelf(*args: str) -> str:
    proc = subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@cache
def elf_facts(path: Path) -> dict[str, Any]:
    """The manifest's ELF keys as readelf reports them."""
    header = readelf("-h", str(path))
    field = dict(re.findall(r"^\s*([A-Za-z ]+):\s+(.*?)\s*$", header, re.M))
    elf_class = {"ELF64": 64, "ELF32": 32}[field["Class"]]
    dynamic = readelf("-d", str(path))

    def dyn(tag: str) -> list[str]:
        return re.findall(rf"\({tag}\)\s+\S.*?\[(.*)\]", dynamic)

    flags_1 = re.findall(r"\(FLAGS_1\)\s+Flags:(.*)", dynamic)
    interp = re.findall(r"\[Requesting program interpreter: (.*)\]", readelf("-l", str(path)))
    soname = dyn("SONAME")
    return {
        "machine": READELF_MACHINE[(field["Machine"], elf_class)],
        "elf_class": elf_class,
        "endianness": "little" if "little endian" in field["Data"] else "big",
        "elf_type": field["Type"].split()[0].lower(),
        "pie": bool(flags_1) and "PIE" in flags_1[0].split(),
        "interpreter": interp[0] if interp else None,
        "needed": dyn("NEEDED"),
        "soname": soname[0] if soname else None,
        "rpath": [p for r in dyn("RPATH") for p in r.split(":")],
        "runpath": [p for r in dyn("RUNPATH") for p in r.split(":")],
    }


def highest_version(path: Path, prefix: str) -> str | None:
    """The highest ``prefix``x.y.z named in the file's version needs (.gnu.version_r)."""
    text = readelf("-V", str(path))
    needs = text.split("Version needs section", 1)
    if len(needs) < 2:
        return None
    found = re.findall(rf"Name: {re.escape(prefix)}([0-9.]+)\s", needs[1])
    if not found:
        return None
    return str(max(found, key=lambda v: tuple(int(p) for p in v.split("."))))


# ------------------------------------------------------------------------------------------------
# The manifest and the directory agree
# ------------------------------------------------------------------------------------------------


def test_every_manifest_path_exists() -> None:
    missing = [n for n in MANIFEST if not path_of(n).is_file()]
    assert missing == []


def test_every_committed_file_is_in_the_manifest() -> None:
    listed = {MANIFEST[n]["path"] for n in MANIFEST}
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURE_BIN.rglob("*") if p.is_file()}
    assert on_disk - listed == set()


def test_fixtures_are_small() -> None:
    sizes = {n: path_of(n).stat().st_size for n in MANIFEST}
    assert {n: s for n, s in sizes.items() if s >= MAX_FILE} == {}
    assert sum(sizes.values()) < MAX_TOTAL


def test_manifest_values_use_the_documented_vocabulary() -> None:
    allowed = {
        "format": {"elf", "script", "java-class", "jar", "mach-o", "pe", "text", "empty"},
        "linkage": {"static", "static-pie", "glibc-dynamic", "musl-dynamic", "no-libc", "script",
                    "not-applicable"},
        "libc": {"glibc", "musl", "none"},
        "elf_type": {"exec", "dyn"},
        "docker_arch": {"amd64", "arm64", "386", "s390x", "mips", "riscv64", "ppc64le"},
    }
    for name, facts in MANIFEST.items():
        for key, values in allowed.items():
            if key in facts:
                assert facts[key] in values, (name, key, facts[key])


# ------------------------------------------------------------------------------------------------
# ELF facts, read by readelf and by lief
# ------------------------------------------------------------------------------------------------


@readelf_missing
@pytest.mark.parametrize("name", ELF_NAMES)
def test_elf_facts_match_readelf(name: str) -> None:
    expected = {k: MANIFEST[name][k] for k in ELF_KEYS if k in MANIFEST[name]}
    actual = elf_facts(path_of(name))
    assert {k: actual[k] for k in expected} == expected


@readelf_missing
@pytest.mark.parametrize("name", names_with("needed_includes"))
def test_needed_includes(name: str) -> None:
    needed = elf_facts(path_of(name))["needed"]
    assert [lib for lib in MANIFEST[name]["needed_includes"] if lib not in needed] == []


@pytest.mark.parametrize("name", ELF_NAMES)
def test_elf_facts_match_lief(name: str) -> None:
    lief = pytest.importorskip("lief")
    binary = lief.parse(str(path_of(name)))
    assert binary is not None
    facts = MANIFEST[name]
    # The enum's spelling changed between lief releases (ELF_CLASS.CLASS64, Header.CLASS.ELF64).
    assert str(binary.header.identity_class).endswith(str(facts["elf_class"]))
    if "needed" in facts:
        assert list(binary.libraries) == facts["needed"]
    if "interpreter" in facts:
        assert (binary.interpreter if binary.has_interpreter else None) == facts["interpreter"]


@readelf_missing
@pytest.mark.parametrize("name", names_with("min_glibc"))
def test_min_glibc(name: str) -> None:
    assert highest_version(path_of(name), "GLIBC_") == MANIFEST[name]["min_glibc"]


@readelf_missing
@pytest.mark.parametrize("name", names_with("min_glibcxx"))
def test_min_glibcxx(name: str) -> None:
    assert highest_version(path_of(name), "GLIBCXX_") == MANIFEST[name]["min_glibcxx"]


@readelf_missing
def test_stripped_sections_fixture_has_no_section_headers() -> None:
    path = path_of("c-glibc-stripped-sections")
    assert "There are no sections in this file" in readelf("-S", str(path))
    # Still a complete program: its dynamic section is found through PT_DYNAMIC.
    assert elf_facts(path)["needed"] == ["libc.so.6"]


def test_truncated_elf_is_the_start_of_an_elf() -> None:
    data = path_of("truncated-elf").read_bytes()
    assert data[:4] == b"\x7fELF"
    assert data == path_of("c-glibc-dynamic").read_bytes()[: len(data)]
    assert len(data) < 64  # shorter than an ELF64 header


@pytest.mark.parametrize("name", names_with("language", "go"))
def test_go_build_settings(name: str) -> None:
    """Go writes its build settings as text lines ("build\\tCGO_ENABLED=0") into the binary
    (the module info string can appear more than once: compare the distinct values)."""
    data = path_of(name).read_bytes()
    facts = MANIFEST[name]
    cgo = re.findall(rb"\nbuild\tCGO_ENABLED=([01])\n", data)
    assert set(cgo) == {b"1" if facts["go_cgo_enabled"] else b"0"}
    tags = {tag.decode() for tag in re.findall(rb"\nbuild\t-tags=([^\n]*)\n", data)}
    assert [t.split(",") for t in tags] == ([facts["go_tags"]] if facts["go_tags"] else [])


# ------------------------------------------------------------------------------------------------
# Scripts, Java, stubs
# ------------------------------------------------------------------------------------------------


def kernel_shebang(data: bytes) -> tuple[str, str | None]:
    """Interpreter and argument as Linux's binfmt_script splits the first line."""
    line = data[2:].split(b"\n", 1)[0].rstrip(b" \t").lstrip(b" \t")
    parts = re.split(rb"[ \t]+", line, maxsplit=1)
    arg = parts[1].strip(b" \t").decode() if len(parts) > 1 else None
    return parts[0].decode(), arg


@pytest.mark.parametrize("name", names_with("format", "script"))
def test_script_facts(name: str) -> None:
    path = path_of(name)
    data = path.read_bytes()
    facts = MANIFEST[name]
    assert data.startswith(b"#!")
    assert os.access(path, os.X_OK)
    interpreter, argument = kernel_shebang(data)
    assert interpreter == facts["script_interpreter"]
    assert argument == facts["script_argument"]
    assert data.split(b"\n", 1)[0].endswith(b"\r") == facts["script_crlf"]
    if "script_program" in facts:
        assert os.path.basename(interpreter) == "env"
        assert argument == facts["script_program"]


@pytest.mark.parametrize("name", names_with("format", "text"))
def test_text_fixtures_have_no_shebang(name: str) -> None:
    data = path_of(name).read_bytes()
    assert data and not data.startswith(b"#!")
    data.decode("utf-8")


def test_empty_is_empty() -> None:
    assert [n for n in names_with("format", "empty") if path_of(n).stat().st_size != 0] == []


def class_release(data: bytes) -> int:
    magic, _minor, major = struct.unpack(">IHH", data[:8])
    assert magic == 0xCAFEBABE
    return int(major) - 44


@pytest.mark.parametrize("name", names_with("format", "java-class"))
def test_class_release(name: str) -> None:
    assert class_release(path_of(name).read_bytes()) == MANIFEST[name]["java_release"]


@pytest.mark.parametrize("name", names_with("format", "jar"))
def test_jar(name: str) -> None:
    facts = MANIFEST[name]
    with zipfile.ZipFile(path_of(name)) as jar:
        manifest = jar.read("META-INF/MANIFEST.MF").decode()
        releases = [class_release(jar.read(n)) for n in jar.namelist() if n.endswith(".class")]
    assert re.search(r"^Main-Class: (\S+)\r?$", manifest, re.M)[1] == facts["java_main_class"]  # type: ignore[index]
    assert max(releases) == facts["java_release"]


def test_pe_stub() -> None:
    data = path_of("pe-stub.exe").read_bytes()
    assert MANIFEST["pe-stub.exe"]["format"] == "pe"
    assert data[:2] == b"MZ"
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    assert data[lfanew : lfanew + 4] == b"PE\0\0"
    machine, _nsect, _ts, _sym, _nsym, opt_size, _chars = struct.unpack_from("<HHIIIHH", data, lfanew + 4)
    assert machine == 0x8664
    (opt_magic,) = struct.unpack_from("<H", data, lfanew + 24)
    assert opt_magic == 0x20B and opt_size == 240
    assert lfanew + 24 + opt_size <= len(data)


def test_macho_stub() -> None:
    data = path_of("macho-stub").read_bytes()
    assert MANIFEST["macho-stub"]["format"] == "mach-o"
    magic, cputype, _sub, filetype = struct.unpack_from("<IiiI", data)
    assert (magic, cputype, filetype) == (0xFEEDFACF, 0x01000007, 2)


# ------------------------------------------------------------------------------------------------
# Running: what is marked runnable runs; the deliberately broken ones fail as they should
# ------------------------------------------------------------------------------------------------


def host_lacks(name: str) -> str | None:
    facts = MANIFEST[name]
    interp = facts.get("interpreter") or facts.get("script_interpreter")
    if interp and not os.path.exists(interp):
        return f"{interp} is not installed on this host"
    if facts.get("script_program") and shutil.which(facts["script_program"]) is None:
        return f"{facts['script_program']} is not on PATH"
    return None


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the runnable fixtures are x86_64")
@pytest.mark.parametrize("name", names_with("runs_on_host", True))
def test_runs_on_host(name: str, tmp_path: Path) -> None:
    reason = host_lacks(name)
    if reason:
        pytest.skip(reason)
    # Run from elsewhere: c-rpath and c-runpath must find lib/ through $ORIGIN, not the cwd.
    proc = subprocess.run([str(path_of(name))], capture_output=True, cwd=tmp_path, timeout=60,
                          check=False, env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"hello"), proc.stdout


def exec_errno(name: str) -> int:
    with pytest.raises(OSError) as info:
        subprocess.run([str(path_of(name))], capture_output=True, timeout=60, check=False)
    assert info.value.errno is not None
    return info.value.errno


def test_missing_library_stops_the_loader() -> None:
    proc = subprocess.run([str(path_of("c-needs-missing"))], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 127
    assert b"libfixturemissing.so" in proc.stderr


def test_crlf_shebang_names_an_interpreter_that_does_not_exist() -> None:
    assert exec_errno("script-crlf") == errno.ENOENT


def test_crlf_after_env_asks_env_for_a_program_that_does_not_exist() -> None:
    proc = subprocess.run([str(path_of("script-env-crlf"))], capture_output=True, timeout=60, check=False,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 127


@pytest.mark.parametrize("name", ["script-noshebang", "truncated-elf"])
def test_kernel_refuses_exec_format(name: str) -> None:
    assert os.access(path_of(name), os.X_OK)
    assert exec_errno(name) == errno.ENOEXEC
