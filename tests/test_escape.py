"""Names that are not UTF-8: every output is valid and (JSON, JSON lines, SARIF) lossless, in any locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkcheck.output import sarif
from linkcheck.output.escape import dumps, escape_json, escape_text, unescape_json

from conftest import ROOT
from elfwriter import ElfSpec, write

SCHEMA = json.loads((ROOT / "linkcheck" / "schema.json").read_text())


def named(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@given(st.binary(max_size=40))
def test_json_strings_round_trip_every_byte_string(raw: bytes) -> None:
    text = dumps({"path": named(raw)})
    assert text.isascii()
    back = json.loads(text)["path"]
    back.encode("utf-8")  # valid Unicode: no lone surrogate reaches a strict reader
    assert unescape_json(back) == raw


@given(st.binary(max_size=40))
def test_text_is_printable_and_names_each_byte_that_is_not_utf8(raw: bytes) -> None:
    shown = escape_text(named(raw))
    assert shown.isprintable()
    shown.encode("utf-8")
    for c in named(raw):
        if 0xDC80 <= ord(c) <= 0xDCFF:
            assert f"\\x{ord(c) & 0xFF:02x}" in shown


def test_a_backslash_that_reads_as_an_escape_is_escaped_in_json() -> None:
    assert escape_json("a\\x41b\\u0041c\\n") == "a\\x5cx41b\\x5cu0041c\\n"
    assert unescape_json("a\\x5cx41b") == b"a\\x41b"
    assert escape_json({"k\udcff": ["\udcfe"]}) == {"k\\xff": ["\\xfe"]}


def test_text_escapes_controls_line_breaks_and_bidi_overrides() -> None:
    assert escape_text("a\nb\x1b[2Jc\u202ed\udce9") == "a\\x0ab\\x1b[2Jc\\u202ed\\xe9"
    assert escape_text("plain é") == "plain é"


def test_sarif_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.sarif"
    out.write_text("previous log")

    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("interrupted half-way")

    monkeypatch.setattr(sarif, "to_sarif", broken)
    with pytest.raises(RuntimeError):
        sarif.write_sarif(str(out), [], "0")
    assert out.read_text() == "previous log"
    assert os.listdir(tmp_path) == ["out.sarif"]
    monkeypatch.undo()
    sarif.write_sarif(str(out), [], "0")
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert os.listdir(tmp_path) == ["out.sarif"]


def _locale_available(name: str) -> bool:
    try:
        listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return False
    return name.lower().replace("-", "") in listed.lower().replace("-", "").split()


HOSTILE_DIR = b"d\xe9j\xe0"
HOSTILE_SCRIPT = b"s\xff\n\x1b[2J.sh"
HOSTILE_INTERP = b"/lib/ld-\xfe\xff.so"
HOSTILE_NEEDED = b"libq\xc3(.so"  # an invalid two-byte sequence
HOSTILE_SHEBANG = b"#!/bin/\xe9sh -\xfe\n"


def _hostile_tree(tmp_path: Path) -> bytes:
    top = os.path.join(os.fsencode(tmp_path), HOSTILE_DIR)
    os.mkdir(top)
    with open(os.path.join(top, HOSTILE_SCRIPT), "wb") as f:
        f.write(HOSTILE_SHEBANG + b"echo\n")
    elf = write(ElfSpec(interp=named(HOSTILE_INTERP), needed=(named(HOSTILE_NEEDED),)))
    with open(os.path.join(top, b"prog"), "wb") as f:
        f.write(elf)
    return top


@pytest.mark.parametrize("locale", ["en_US.UTF-8", "C", "POSIX"])
def test_every_output_format_survives_hostile_names_in_every_locale(tmp_path: Path, locale: str) -> None:
    if not _locale_available(locale) and locale != "POSIX":
        pytest.skip(f"locale {locale} not generated (scripts/test.sh generates it)")
    top = _hostile_tree(tmp_path)
    env = {**os.environ, "LC_ALL": locale, "LANG": locale}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    script = os.path.join(top, HOSTILE_SCRIPT)

    def run(*args: bytes | str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, env=env,
                              timeout=120, check=False)

    for args in ([top, b"-t", b"alpine"], [script, b"-t", b"alpine"], [os.path.join(top, b"prog")]):
        sarif_path = tmp_path / f"out-{len(args)}.sarif"
        text = run(*args, "--sarif", str(sarif_path))
        assert text.returncode == 1 or (text.returncode == 0 and len(args) == 1), text.stderr
        assert b"Traceback" not in text.stderr
        shown = text.stdout.decode("utf-8")  # valid UTF-8 whatever the locale
        assert shown.isprintable() or all(line.isprintable() for line in shown.splitlines())
        assert "\x1b" not in shown
        log = json.loads(sarif_path.read_bytes())
        for result in log["runs"][0]["results"]:
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            on_disk = unquote_to_bytes(urlsplit(uri).path)
            assert os.path.lexists(on_disk), uri
        for fmt in ("--json", "--jsonl"):
            done = run(*args, fmt)
            assert b"Traceback" not in done.stderr and done.returncode in (0, 1), done.stderr
            docs = ([json.loads(done.stdout)] if fmt == "--json"
                    else [json.loads(line) for line in done.stdout.splitlines()])
            for doc in docs:
                json.dumps(doc, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
                if fmt == "--json":
                    jsonschema.validate(doc, SCHEMA)
            files = [f for d in docs for f in (d.get("files", [d]))]
            by_path = {unescape_json(f["path"]): f for f in files}
            prog = by_path.get(os.path.join(args[0], b"prog") if args[0] == top else args[0])
            if prog is not None and prog.get("interpreter") is not None:
                assert unescape_json(prog["interpreter"]) == HOSTILE_INTERP
                assert [unescape_json(n) for n in prog["needed"]] == [HOSTILE_NEEDED]
            shebang = by_path.get(script)
            if shebang is not None:
                assert unescape_json(shebang["script"]["interpreter"]) == b"/bin/\xe9sh"
                assert unescape_json(shebang["script"]["argument"]) == b"-\xfe"
    printed = run(script, "-t", "alpine").stdout.decode()
    assert "s\\xff\\x0a\\x1b[2J.sh" in printed and "/bin/\\xe9sh" in printed
