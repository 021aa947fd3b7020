#!/usr/bin/env python3
"""A fuzzing campaign over linkcheck's readers, for as long as you like.

    python scripts/fuzz.py --minutes 5 [--engine auto|atheris|hypothesis] [--seed N] [--max-len BYTES]

Feeds mutated ELF files and shebang lines to ``analyze_bytes`` (which reaches parse_elf, the symbol
decoding, parse_shebang, the Java and zip readers) and to ``parse_shebang`` directly. An input "fails" when
it raises anything but a LinkcheckError, or takes longer than --slow seconds (three times: the
fastest of three runs counts). The first input of each
kind of failure (exception type and place) is written to fixtures/regressions/, named by the first 16
hex digits of its SHA-256, and tests/test_hostile_elf.py replays every file there.

Engines: ``atheris`` (coverage-guided, libFuzzer; ``pip install atheris``) when it is installed, otherwise
``hypothesis`` (random structure-aware mutations in batches of examples until the time is up). The seed
corpus is the small ELF fixtures, files made by tests/elfwriter.py, the scripts and the regression files.

With --strict, bounds are checked too (versions and symbols reported <= file size / 16): the
amplification bugs pinned in tests/test_hostile_elf.py are then found again.

With --images, the campaign is over generated image archives instead (``image_archive``): long paths
and deep trees, chains and loops of symlinks, layers over symlinked directories (usrmerge), whiteouts
and opaque markers through them, hard links, hundreds of layers, gzip or plain layers, huge or repeated
PATH entries; each is scanned through ``linkcheck.scan_paths`` as a user would. An archive fails as an
ELF input does (an exception that is not a LinkcheckError, or slower than --slow), and is written to
OUT/images/.

Generator classes (``--generators``, each given an equal share of the time before the engine runs):

* ``names``: file names, ``PT_INTERP``, ``DT_NEEDED``, RUNPATH and ``#!`` lines made of bytes that are not
  UTF-8, control characters, line breaks, bidi overrides and backslash sequences that look like escapes,
  taken through every output (text, JSON, JSON lines, SARIF) as the CLI writes them: each must be valid
  (printable one-line text; ASCII JSON with no lone surrogate) and JSON/SARIF lossless (the bytes come
  back). A failure is saved as ``fixtures/regressions/<sha>.name`` (name, NUL, file) and replayed by
  tests/test_escape.py.

* ``interpreters``: what a program's ``PT_INTERP`` finds in an image: the real loader with the header fields
  the kernel checks set to interesting values or cut short, without execute permission, a FIFO or a
  directory (tests/interpreters.py). Each is started for real (chroot + execve, as root) and the errno must be
  the one ``interpreter_refusal`` predicts, and one ``interpreter_not_a_loader`` says is no loader must die of
  SIGSEGV. A failure is saved as ``<sha>.interp`` (the loader's bytes).

* ``truncation``: a target's file or an uncompressed image member of a size around the read-whole/copy
  boundary, read through its tree in a child process, then truncated (to 0, 1, half or one byte less) by
  this one before the child touches every page of what it read: the child must not die (SIGBUS).

Prints: inputs tried, failures by kind, the slowest input's time, and the files written.

With --bounds it fuzzes nothing: it runs each generator of tests/hostile_inputs.py (issue 12's classes:
huge declared counts, many headers, long chains, many needed libraries and versions), reads and checks
each input in a fresh process, and prints its CPU time and peak RSS against the bounds (2 x --slow
seconds, 200 MB); then the same for the image and root inputs of ``hostile_inputs.SCENARIOS`` (a 50,000
component member path, a 1.3M-entry PATH, include globs over 100,000 files, a 1 GiB member), each read by
the `linkcheck` command in a fresh process.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = ROOT / "fixtures" / "regressions"
FIXTURE_BIN = ROOT / "fixtures" / "bin"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 32, 1 << 63, (1 << 64) - 1]


class Campaign:
    def __init__(self, slow: float, strict: bool, out_dir: Path) -> None:
        self.slow = slow
        self.strict = strict
        self.out_dir = out_dir
        self.tried = 0
        self.failures: Counter[str] = Counter()
        self.written: list[Path] = []
        self.slowest = (0.0, b"")
        self._analyze: Callable[[bytes, str], object] | None = None
        self._shebang: Callable[[bytes], object] | None = None
        self._error: type[BaseException] = Exception

    def load(self) -> None:
        from linkcheck.errors import LinkcheckError
        from linkcheck.facts.reader import analyze_bytes
        from linkcheck.facts.script import parse_shebang

        self._analyze, self._shebang, self._error = analyze_bytes, parse_shebang, LinkcheckError

    def run_one(self, data: bytes) -> None:
        self.tried += 1
        problem, elapsed = self._once(data)
        if problem is None and elapsed > self.slow:
            # A busy machine or a GC pause can make any input look slow: count it only if it stays slow.
            elapsed = min(elapsed, *(self._once(data)[1] for _ in range(2)))
            if elapsed > self.slow:
                problem = f"slow (> {self.slow:g} s)"
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, data)
        if problem is not None:
            self.failures[problem] += 1
            if self.failures[problem] == 1:
                self.save(data, problem)

    def _once(self, data: bytes) -> tuple[str | None, float]:
        assert self._analyze is not None and self._shebang is not None
        start = time.perf_counter()
        problem: str | None = None
        try:
            # A zip is read as a jar only under a jar's name.
            analysis = self._analyze(data, "fuzz.jar" if data[:2] == b"PK" else "fuzz")
            elf = getattr(analysis, "elf", None)
            if elf is not None:
                _ = (elf.imports, elf.exports)
                if self.strict:
                    versions = sum(len(n.versions) for n in elf.version_needs)
                    if versions > len(data) // 16:
                        problem = "bound: more versions than Vernaux records fit"
                    elif len(elf.imports) + len(elf.exports) > len(data) // 16:
                        problem = "bound: more symbols than fit"
            analysis.to_dict()  # type: ignore[attr-defined]
            if data[:2] == b"#!":
                self._shebang(data)
        except self._error:
            pass
        except Exception as exc:  # noqa: BLE001 - every other exception is what we are looking for
            tb = traceback.extract_tb(exc.__traceback__)
            place = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                          if "linkcheck" in f.filename), "?")
            problem = f"{type(exc).__name__} at {place}"
        return problem, time.perf_counter() - start

    def save(self, data: bytes, problem: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        suffix = ".elf" if data[:4] == b"\x7fELF" else ".bin"
        path = self.out_dir / (hashlib.sha256(data).hexdigest()[:16] + suffix)
        if not path.exists():
            path.write_bytes(data)
            self.written.append(path)
        print(f"fuzz: {problem}: saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}",
              flush=True)

    def report(self, engine: str, seconds: float) -> None:
        print(f"engine: {engine}; ran {seconds:.0f} s; inputs tried: {self.tried}")
        print(f"slowest input: {self.slowest[0] * 1000:.1f} ms ({len(self.slowest[1])} bytes)")
        if not self.failures:
            print("failures: none")
        for kind, n in self.failures.most_common():
            print(f"failure: {kind}: {n} inputs")
        for p in self.written:
            print(f"written: {p}")


def seed_corpus(max_len: int) -> list[bytes]:
    seeds: list[bytes] = []
    for path in sorted(FIXTURE_BIN.rglob("*")):
        if path.is_file() and path.stat().st_size <= max_len:
            seeds.append(path.read_bytes())
    if REGRESSIONS.is_dir():
        seeds += [p.read_bytes() for p in sorted(REGRESSIONS.iterdir())
                  if p.is_file() and p.suffix in (".elf", ".bin") and p.stat().st_size <= max_len]
    try:
        from elfwriter import EM_386, EM_MIPS, EM_S390, ElfSpec, Export, Import, write
    except ImportError:
        return seeds
    full = ElfSpec(
        interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6", "libm.so.6"), soname="libf.so.1",
        rpath="/a", runpath="$ORIGIN", version_needs=(("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34")),),
        version_definitions=("F_1",), imports=(Import("puts", "GLIBC_2.2.5"), Import("w", weak=True)),
        exports=(Export("f", "F_1"), Export("g")),
    )
    for over in ({}, {"elf_class": 32, "machine": EM_386}, {"endianness": "big", "machine": EM_S390},
                 {"elf_class": 32, "endianness": "big", "machine": EM_MIPS}, {"section_headers": False},
                 {"hash_style": "gnu", "section_headers": False}):
        seeds.append(write(ElfSpec(**{**full.__dict__, **over})))
    return [s for s in seeds if s]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Structure-aware mutations: most ELF structure is in the first pages and in aligned words."""
    buf = bytearray(data) or bytearray(b"\x7fELF")
    for _ in range(rng.randint(1, 8)):
        limit = min(len(buf), rng.choice([64, 256, 1024, 4096, len(buf)]))
        at = rng.randrange(max(1, limit))
        kind = rng.random()
        if kind < 0.3:
            buf[at] = rng.randrange(256)
        elif kind < 0.5:
            buf[at] ^= 1 << rng.randrange(8)
        elif kind < 0.85:
            width = rng.choice([2, 4, 8])
            at -= at % width
            order: Literal["little", "big"] = "big" if len(buf) > 5 and buf[5] == 2 else "little"
            value = rng.choice(INTERESTING + [rng.randrange(len(buf) + 64)]) & ((1 << (8 * width)) - 1)
            buf[at : at + width] = value.to_bytes(width, order)
        else:  # copy a chunk elsewhere (duplicates headers, tables)
            n = rng.randint(1, 64)
            src = rng.randrange(max(1, len(buf)))
            buf[at : at + n] = buf[src : src + n]
    if rng.random() < 0.05:
        buf = buf[: rng.randrange(len(buf) + 1)]
    return bytes(buf)


def run_hypothesis(c: Campaign, seeds: list[bytes], deadline: float, seed: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=2000, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(range(len(seeds))), st.integers(0, 2**63 - 1), st.binary(max_size=64))
    def one(index: int, rseed: int, extra: bytes) -> None:
        if time.monotonic() > deadline:
            return
        data = mutate(random.Random(rseed), seeds[index])
        if extra and rseed % 7 == 0:  # splice raw bytes from hypothesis in
            at = rseed % max(1, len(data))
            data = data[:at] + extra + data[at + len(extra):]
        c.run_one(data)

    batch = 0
    while time.monotonic() < deadline:
        batch += 1
        one._hypothesis_internal_use_seed = seed + batch  # type: ignore[attr-defined]
        one()


def run_atheris(c: Campaign, seeds: list[bytes], seconds: int, max_len: int) -> None:
    import atheris

    with atheris.instrument_imports():
        import linkcheck.facts.elf  # noqa: F401
        import linkcheck.facts.java  # noqa: F401
        import linkcheck.facts.reader  # noqa: F401
        import linkcheck.facts.script  # noqa: F401
    c.load()
    corpus = tempfile.mkdtemp(prefix="linkcheck-fuzz-corpus-")
    for s in seeds:
        Path(corpus, hashlib.sha256(s).hexdigest()[:16]).write_bytes(s[:max_len])
    start = time.monotonic()
    deadline = start + seconds

    def test_one(data: bytes) -> None:
        c.run_one(data)
        if time.monotonic() > deadline:
            # libFuzzer ends the process itself; report first, then leave without its "crash" path.
            c.report("atheris", time.monotonic() - start)
            sys.stdout.flush()
            os._exit(1 if c.failures else 0)

    argv = [sys.argv[0], corpus, f"-max_total_time={seconds + 60}", f"-max_len={max_len}",
            "-rss_limit_mb=4096", "-timeout=60", "-print_final_stats=1",
            f"-artifact_prefix={tempfile.gettempdir()}/"]
    atheris.Setup(argv, test_one)
    atheris.Fuzz()


# -- images ------------------------------------------------------------------------------------


def image_archive(rng: random.Random) -> bytes:
    """A docker save archive built to stress the layer index: random layers of files, directories,
    symlinks (chains, loops, absolute, climbing, usrmerge-style directory links), hard links, whiteouts and
    opaque markers, paths deep or past PATH_MAX, and a config with a long or repetitive PATH."""
    import gzip
    import io
    import json
    import tarfile

    names = ["usr", "lib", "bin", "etc", "a", "b", "x86_64-linux-gnu", "libc.so.6", "ld-linux-x86-64.so.2",
             "..", ".", "\udcff", ".wh.a", ".wh..wh..opq", "lib64", "sh"]
    elf = (FIXTURE_BIN / rng.choice(["c-glibc-dynamic", "c-musl-static", "c-glibc-static"])).read_bytes()

    def path() -> str:
        roll = rng.random()
        depth = rng.choice([1, 2, 3, 5]) if roll < 0.9 else rng.choice([200, 2100, 50_000])
        return "/".join(rng.choice(names) for _ in range(depth))

    def layer() -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, errors="surrogateescape") as tf:
            for _ in range(rng.choice([1, 3, 10, 40])):
                info = tarfile.TarInfo(path())
                kind = rng.random()
                if kind < 0.35:
                    data = elf if rng.random() < 0.3 else rng.randbytes(rng.randrange(64))
                    info.size, info.mode = len(data), 0o755
                    tf.addfile(info, io.BytesIO(data))
                    continue
                if kind < 0.55:
                    info.type = tarfile.DIRTYPE
                elif kind < 0.85:
                    info.type, info.linkname = tarfile.SYMTYPE, rng.choice(
                        ["usr/lib", "/usr/lib", "../../..", "a", "b", path(), "/" + path(), ""])
                else:
                    info.type, info.linkname = tarfile.LNKTYPE, path()
                tf.addfile(info)
        data = buf.getvalue()
        return gzip.compress(data, compresslevel=1) if rng.random() < 0.5 else data

    count = rng.choice([1, 2, 3, 8]) if rng.random() < 0.95 else rng.choice([300, 1500])
    layers = [layer() for _ in range(count)]
    path_env = rng.choice([
        "/usr/local/bin:/usr/bin:/bin",
        ":".join(["/b"] * rng.choice([10, 100_000, 1_300_000])),
        ":".join(f"/{i:x}" for i in range(rng.choice([10, 20_000]))),
        "",
    ])
    config = json.dumps({"architecture": rng.choice(["amd64", "arm64", "vax", ""]), "os": "linux",
                         "config": {"Env": [f"PATH={path_env}"]}}).encode()
    files = {"cfg.json": config}
    for i, data in enumerate(layers):
        files[f"l{i}/layer.tar"] = data
    files["manifest.json"] = json.dumps(
        [{"Config": "cfg.json", "Layers": [f"l{i}/layer.tar" for i in range(count)]}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def run_images(c: Campaign, deadline: float, seed: int) -> None:
    """Generated image archives, each scanned as a user scans an image (see ``image_archive``)."""
    import linkcheck
    from linkcheck.errors import LinkcheckError

    c.out_dir = c.out_dir / "images"
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="linkcheck-fuzz-images-") as where:
        archive = Path(where) / "image.tar"
        while time.monotonic() < deadline:
            data = image_archive(rng)
            archive.write_bytes(data)
            c.tried += 1
            start = time.perf_counter()
            problem = None
            try:
                for _result in linkcheck.scan_paths(str(archive), jobs=1):
                    pass
            except LinkcheckError:
                pass
            except Exception as exc:  # noqa: BLE001 - every other exception is what we are looking for
                tb = traceback.extract_tb(exc.__traceback__)
                place = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                              if "linkcheck" in f.filename), "?")
                problem = f"{type(exc).__name__} at {place}"
            elapsed = time.perf_counter() - start
            if problem is None and elapsed > c.slow:
                problem = f"image slow (> {c.slow:g} s)"
            if elapsed > c.slowest[0]:
                c.slowest = (elapsed, data)
            if problem is not None:
                c.failures[problem] += 1
                if c.failures[problem] == 1:
                    c.save(data, problem)
def run_bounds(seconds: float, rss_bound: int) -> int:
    """Each hostile-input generator, read (and checked against debian:bookworm-slim) in a fresh process;
    a row per input with its CPU seconds and peak RSS, and a failure when either is over its bound."""
    import json
    import subprocess

    script = """
import json, resource, sys, tempfile
from pathlib import Path
import hostile_inputs, linkcheck
from linkcheck.facts.reader import analyze
path = hostile_inputs.GENERATORS[sys.argv[1]](Path(tempfile.mkdtemp()) / "input")
target = linkcheck.load_target("debian:bookworm-slim", platform="amd64")
before = resource.getrusage(resource.RUSAGE_SELF)
analysis = analyze(path)
if analysis.elf is not None:
    _ = (analysis.elf.imports, analysis.elf.exports, analysis.elf.symbols.warnings)
verdict = linkcheck.check(analysis, target)
after = resource.getrusage(resource.RUSAGE_SELF)
path.unlink()
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                  "rss": hwm * 1024, "outcome": verdict.outcome.value}))
"""
    from hostile_inputs import GENERATORS as HOSTILE

    failed = 0
    for name in HOSTILE:
        proc = subprocess.run([sys.executable, "-c", script, name], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}, check=False)
        if proc.returncode != 0:
            print(f"{name}: failed: {proc.stderr.strip().splitlines()[-1:]}")
            failed += 1
            continue
        got = json.loads(proc.stdout)
        over = got["cpu"] > seconds or got["rss"] > rss_bound
        failed += over
        print(f"{name:<45} {got['cpu']:6.2f} s CPU {got['rss'] >> 20:5d} MB  {got['outcome']}"
              + ("  OVER THE BOUND" if over else ""))
    from hostile_inputs import SCENARIOS

    # A small launcher runs each command and reports wait4's figures for it: its CPU time and the peak RSS
    # of its largest process, workers included. (Not this process: a child's ru_maxrss starts at the size
    # of the process it was forked from, and this one has just built the inputs.)
    launch = ("import json, os, subprocess, sys\n"
              "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
              "_, status, ru = os.wait4(p.pid, 0)\n"
              "print(json.dumps({'cpu': ru.ru_utime + ru.ru_stime, 'rss': ru.ru_maxrss * 1024,"
              " 'exit': os.waitstatus_to_exitcode(status)}))\n")
    for name, build in SCENARIOS.items():
        with tempfile.TemporaryDirectory(prefix="linkcheck-bounds-") as where:
            args = build(Path(where))  # building the input is not measured
            proc = subprocess.run([sys.executable, "-c", launch, sys.executable, "-m", "linkcheck", *args],
                                  capture_output=True, text=True, cwd=ROOT, check=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        got = json.loads(proc.stdout)
        over = got["cpu"] > seconds or got["rss"] > rss_bound
        failed += over
        print(f"{name:<45} {got['cpu']:6.2f} s CPU {got['rss'] >> 20:5d} MB  exit {got['exit']}"
              + ("  OVER THE BOUND" if over else ""))
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# Generator class "names": hostile bytes in names, through every output format
# ---------------------------------------------------------------------------------------------

_NAME_PIECES = [b"\xff", b"\xfe", b"\x80", b"\xc3(", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                b"\n", b"\r", b"\t", b"\x1b[2J", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae", b"\\x41", b"\\u0041",
                b"\\", b"\\xff", b"'", b'"', b" ", b"%", b"\xc3\xa9", b"\xf0\x9f\x90\x8d", b"lib", b".so.6",
                b"sh"]


def hostile_name(rng: random.Random) -> bytes:
    """A name made of the pieces that break encoders and terminals, no "/" and no NUL."""
    out = b"".join(rng.choice(_NAME_PIECES) if rng.random() < 0.7 else bytes([rng.randrange(1, 256)])
                   for _ in range(rng.randint(1, 8)))
    return out.replace(b"/", b"_").replace(b"\0", b"_") or b"x"


def names_input(rng: random.Random) -> tuple[bytes, bytes]:
    """(file name, file content): a script or an ELF file whose names are hostile."""
    name = hostile_name(rng)
    if rng.random() < 0.5:
        return name, b"#!/" + hostile_name(rng) + b" " + hostile_name(rng) + b"\n"
    from elfwriter import ElfSpec, write

    def text(raw: bytes) -> str:
        return raw.decode("utf-8", "surrogateescape")

    spec = ElfSpec(interp=text(b"/lib/" + hostile_name(rng)), needed=(text(hostile_name(rng)), "libc.so.6"),
                   runpath=text(b"/opt/" + hostile_name(rng)))
    return name, write(spec)


@functools.cache
def _alpine() -> Any:
    from linkcheck.image.target import load_target

    return load_target("alpine")


def check_names(name: bytes, content: bytes) -> str | None:
    """None when every output of this file is valid and (JSON, SARIF) lossless; else what broke."""
    import json
    from urllib.parse import unquote_to_bytes

    from linkcheck.facts.reader import analyze_bytes
    from linkcheck.output import render
    from linkcheck.output.escape import dumps, unescape_json
    from linkcheck.output.sarif import to_sarif
    from linkcheck.scan import ScanResult
    from linkcheck.verdict.checks import check

    shown = "dir/" + name.decode("utf-8", "surrogateescape")
    analysis = analyze_bytes(content, shown)
    verdict = check(analysis, _alpine(), install_dir="/app")
    lines = render.terminal_lines(render.describe_analysis(analysis) + render.describe_verdict(verdict))
    for line in lines:
        if not line.isprintable():
            return "text: a line that does not print"
        line.encode("utf-8")
    document = render.file_document(analysis, [verdict], [])
    for indent in (None, 2):  # JSON lines, JSON
        written = dumps(document, indent=indent)
        if not written.isascii():
            return "json: not ASCII"
        back = json.loads(written)
        json.dumps(back, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
        if unescape_json(back["path"]) != b"dir/" + name:
            return "json: path not lossless"
        if analysis.elf is not None and analysis.elf.interpreter is not None and unescape_json(
                back["interpreter"]) != analysis.elf.interpreter.encode("utf-8", "surrogateescape"):
            return "json: interpreter not lossless"
        if analysis.script is not None and unescape_json(back["script"]["line"]) != \
                analysis.script.line.encode("utf-8", "surrogateescape"):
            return "json: #! line not lossless"
    from linkcheck.output.escape import escape_json

    log = json.dumps(escape_json(to_sarif([ScanResult(shown, analysis, None, (verdict,))], "fuzz")))
    if not log.isascii():
        return "sarif: not ASCII"
    for result in json.loads(log)["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        if unquote_to_bytes(uri) != b"dir/" + name:
            return "sarif: uri not lossless"
    return None


def run_names(c: Campaign, deadline: float, seed: int) -> None:
    """The "names" generator class (see the module's docstring), until ``deadline``."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        name, content = names_input(rng)
        c.tried += 1
        start = time.perf_counter()
        try:
            problem = check_names(name, content)
        except c._error:
            problem = None  # a refused file is a fine answer; the outputs are what is checked here
        except Exception as exc:  # noqa: BLE001 - every other exception is what we are looking for
            tb = traceback.extract_tb(exc.__traceback__)
            place = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                          if "linkcheck" in f.filename), "?")
            problem = f"names: {type(exc).__name__} at {place}"
        elapsed = time.perf_counter() - start
        if elapsed > c.slowest[0]:
            c.slowest = (elapsed, content)
        if problem is not None:
            c.failures[problem] += 1
            if c.failures[problem] == 1:
                c.out_dir.mkdir(parents=True, exist_ok=True)
                saved = name + b"\0" + content
                path = c.out_dir / (hashlib.sha256(saved).hexdigest()[:16] + ".name")
                path.write_bytes(saved)
                c.written.append(path)
                print(f"fuzz: {problem}: saved {path}", flush=True)


# ---------------------------------------------------------------------------------------------
# Generator class "interpreters": what a program's PT_INTERP finds, judged by a real execve
# ---------------------------------------------------------------------------------------------


def run_interpreters(c: Campaign, deadline: float, seed: int) -> None:
    """The "interpreters" generator class (see the module's docstring), until ``deadline``."""
    import errno
    import signal

    import interpreters

    if not interpreters.available():
        print("fuzz: interpreters: skipped (needs root for chroot, and an x86-64 glibc host)", flush=True)
        return
    from linkcheck.facts.reader import analyze
    from linkcheck.image.rootfs import TreeFiles
    from linkcheck.image.tree import DirectoryTree
    from linkcheck.verdict.checks import interpreter_not_a_loader, interpreter_refusal

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="linkcheck-fuzz-") as d:
        root = interpreters.make_root(Path(d))
        program = analyze(root / "prog").elf
        assert program is not None
        loader = interpreters.loader_path(root)
        while time.monotonic() < deadline:
            data = interpreters.mutated_loader(rng)
            loader.unlink()
            kind = rng.random()
            if kind < 0.05:
                os.mkfifo(loader)
            elif kind < 0.1:
                loader.mkdir()
            else:
                loader.write_bytes(data)
                loader.chmod(0o644 if kind < 0.15 else 0o755)
            c.tried += 1
            view = TreeFiles(DirectoryTree(root)).view(interpreters.LOADER)
            refusal = interpreter_refusal(view, program) if view is not None else None
            predicted = None if refusal is None else getattr(errno, refusal.error.value)
            crash = refusal is None and view is not None and bool(interpreter_not_a_loader(view, program))
            real, killed_by = interpreters.real_run(root)
            if loader.is_dir():
                loader.rmdir()
                loader.touch()
            problem = None
            if predicted != real:
                problem = f"interpreters: predicted {predicted}, execve gave {real}"
            elif crash and killed_by != signal.SIGSEGV:
                problem = f"interpreters: predicted a SIGSEGV, the process ended by {killed_by}"
            if problem is not None:
                c.failures[problem] += 1
                if c.failures[problem] == 1 and kind >= 0.1:
                    c.out_dir.mkdir(parents=True, exist_ok=True)
                    path = c.out_dir / (hashlib.sha256(data).hexdigest()[:16] + ".interp")
                    path.write_bytes(data)
                    c.written.append(path)
                    print(f"fuzz: {problem}: saved {path}", flush=True)


# ---------------------------------------------------------------------------------------------
# Generator class "truncation": a file truncated by another process after linkcheck read it
# ---------------------------------------------------------------------------------------------


def run_truncation(c: Campaign, deadline: float, seed: int) -> None:
    """The "truncation" generator class (see the module's docstring), until ``deadline``."""
    import tarfile

    from truncation import touch_after_truncation

    rng = random.Random(seed)
    while time.monotonic() < deadline:
        size = rng.choice([1, 4096, 1 << 20, 8 << 20, (8 << 20) + 1, 9 << 20, 24 << 20,
                           rng.randrange(1, 24 << 20)])
        to = rng.choice([0, 1, size // 2, max(0, size - 1)])
        with tempfile.TemporaryDirectory(prefix="linkcheck-fuzz-") as d:
            where = Path(d)
            (where / "root").mkdir()
            data = b"\x7fELF" + bytes(max(0, size - 4))
            if rng.random() < 0.5:  # a target's file, read through its tree
                victim = where / "root/lib.so"
                victim.write_bytes(data[:size])
                setup = (f"from linkcheck.image.tree import DirectoryTree\n"
                         f"buf = DirectoryTree({str(where / 'root')!r}).read('/lib.so')")
            else:  # a member of an uncompressed layer in a docker save archive, read through the image
                victim = where / "image.tar"
                layer = where / "layer.tar"
                with tarfile.open(layer, "w") as tf:
                    pad = tarfile.TarInfo("pad")
                    pad.size = 512 * rng.randrange(8)
                    tf.addfile(pad, io.BytesIO(bytes(pad.size)))
                    member = tarfile.TarInfo("lib.so")
                    member.size = size
                    tf.addfile(member, io.BytesIO(data[:size]))
                config = b'{"architecture": "amd64", "os": "linux", "config": {}}'
                manifest = b'[{"Config": "cfg.json", "Layers": ["l0/layer.tar"]}]'
                with tarfile.open(victim, "w") as tf:
                    for name, blob in (("cfg.json", config), ("manifest.json", manifest)):
                        info = tarfile.TarInfo(name)
                        info.size = len(blob)
                        tf.addfile(info, io.BytesIO(blob))
                    tf.add(layer, "l0/layer.tar")
                setup = (f"from linkcheck.image.archive import open_image_tree\n"
                         f"buf = open_image_tree({str(victim)!r}).read('/lib.so')")
            c.tried += 1
            code, out = touch_after_truncation(setup, victim, to)
        if code != 0:
            said = "SIGBUS" if code == -7 else out.strip()[-80:]
            problem = f"truncation: reader ended with {code} ({said})"
            c.failures[problem] += 1
            if c.failures[problem] == 1:
                print(f"fuzz: {problem} (size {size}, truncated to {to})", flush=True)


GENERATORS: dict[str, Callable[[Campaign, float, int], None]] = {"names": run_names,
                                                                  "interpreters": run_interpreters,
                                                                  "truncation": run_truncation}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-len", type=int, default=64 << 10, help="largest input (and seed file) in bytes")
    ap.add_argument("--slow", type=float, default=1.0, help="an input slower than this many seconds fails")
    ap.add_argument("--strict", action="store_true", help="check the size bounds on versions and symbols")
    ap.add_argument("--out", type=Path, default=REGRESSIONS, help="where failing inputs are written")
    ap.add_argument("--images", action="store_true", help="generated image archives instead of ELF files")
    ap.add_argument("--generators", default=",".join(GENERATORS),
                    help=f"generator classes run before the engine, comma-separated ({', '.join(GENERATORS)};"
                         " '' for none): each gets an equal share of the time")
    ap.add_argument("--bounds", action="store_true",
                    help="instead of fuzzing: run each generator of tests/hostile_inputs.py (huge declared "
                         "counts, many headers, long chains) and report its CPU time and peak RSS")
    args = ap.parse_args(argv)
    if args.bounds:
        return run_bounds(args.slow * 2, 200 << 20)
    if args.images:
        c = Campaign(args.slow, args.strict, args.out)
        start = time.monotonic()
        run_images(c, start + max(1, int(args.minutes * 60)), args.seed)
        c.report("images", time.monotonic() - start)
        return 1 if c.failures else 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    c = Campaign(args.slow, args.strict, args.out)
    seeds = seed_corpus(args.max_len)
    seconds = max(1, int(args.minutes * 60))
    start = time.monotonic()
    chosen = [g for g in args.generators.split(",") if g]
    unknown = [g for g in chosen if g not in GENERATORS]
    if unknown:
        ap.error(f"unknown generator {unknown[0]!r} (known: {', '.join(GENERATORS)})")
    share = seconds / (len(chosen) + 1)
    if chosen and engine == "atheris":
        # atheris instruments modules imported after it starts: the generators run in a child.
        pid = os.fork()
        if pid == 0:
            c.load()
            for i, generator in enumerate(chosen):
                GENERATORS[generator](c, start + share * (i + 1), args.seed)
            c.report(",".join(chosen), time.monotonic() - start)
            sys.stdout.flush()
            os._exit(1 if c.failures else 0)
        os.waitpid(pid, 0)
    elif chosen:
        c.load()
        for i, generator in enumerate(chosen):
            GENERATORS[generator](c, start + share * (i + 1), args.seed)
    seconds = max(1, int(seconds - (time.monotonic() - start)))
    if engine == "atheris":
        run_atheris(c, seeds, seconds, args.max_len)  # does not return: reports and exits when time is up
        return 0
    c.load()
    run_hypothesis(c, seeds, time.monotonic() + seconds, args.seed)
    c.report("hypothesis", time.monotonic() - start)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
