"""verdict.java: a jar or class file is judged as the image's `java` runs it (the words themselves are
checked against real JREs in tests/test_java_runs.py)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus
from linkcheck.facts.reader import analyze
from linkcheck.image.target import load_target
from linkcheck.model import Outcome
from linkcheck.verdict.checks import check

from conftest import FIXTURE_BIN, ROOT


def klass(major: int, minor: int = 0) -> bytes:
    return b"\xca\xfe\xba\xbe" + struct.pack(">HH", minor, major) + b"\x00" * 16


def jar(path: Path, entries: dict[str, bytes], main: str | None = "app.Main", extra: str = "") -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF",
                   "Manifest-Version: 1.0\r\n" + (f"Main-Class: {main}\r\n" if main else "") + extra + "\r\n")
        for name, data in entries.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


def test_class_newer_than_the_image_java_exits_1_with_javas_words(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(65)})
    result = run_cli(str(app), "--target", "eclipse-temurin:17-jre", "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.WONT_RUN
    verdict = json.loads(result.stdout)["files"][0]["verdicts"][0]
    assert verdict["outcome"] == "java-too-new"
    assert verdict["message"] == (
        "Error: LinkageError occurred while loading main class app.Main\n"
        "\tjava.lang.UnsupportedClassVersionError: app/Main has been compiled by a more recent version of "
        "the Java Runtime (class file version 65.0), this version of the Java Runtime only recognizes class "
        "file versions up to 61.0")
    ok = run_cli(str(app), "--target", "eclipse-temurin:21-jre", "--platform", "amd64")
    assert ok.returncode == ExitStatus.OK, ok.stdout


def test_image_without_java_says_so(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(61)})
    verdict = check(analyze(app), load_target("alpine", "amd64"))
    assert verdict.outcome is Outcome.MISSING_INTERPRETER and verdict.problems[0].subject == "java"
    assert verdict.message == 'exec: "java": executable file not found in $PATH'
    assert verdict.shell_message == "sh: java: not found"
    assert "no Java runtime" in verdict.explanation
    # The fix names Java images on the same libc, for this release or newer.
    assert any("eclipse-temurin:17-jre-alpine-3.22" in f for f in verdict.fixes), verdict.fixes


def test_java_8_runtime_words_the_error_as_java_8_does(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(55)})
    verdict = check(analyze(app), load_target("eclipse-temurin:8-jre-noble", "amd64"))
    assert verdict.outcome is Outcome.JAVA_TOO_NEW
    assert verdict.message.startswith("Error: A JNI error has occurred, please check your installation")
    assert "up to 52.0" in verdict.message and "javac --release 8" in verdict.fixes[0]


def test_newer_class_that_is_not_main_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(61), "app/Later.class": klass(65),
                                     "app/Other.class": klass(52)})
    verdict = check(analyze(app), load_target("eclipse-temurin:17-jre-noble", "amd64"))
    assert verdict.runs
    assert [n for n in verdict.notes if n.startswith("warning:")] == [
        "warning: 1 class(es) need Java 21 (class version 65), newer than the image's Java 17: app.Later; "
        "each fails with UnsupportedClassVersionError when first loaded"]


def test_the_main_class_decides_not_the_newest(tmp_path: Path) -> None:
    """The main class is Java 21 while the newest class is 21 too, but a Java 8 main with a Java 17
    library class starts on 11 (the library fails only when used)."""
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(52), "lib/Util.class": klass(61)})
    assert check(analyze(app), load_target("openjdk:11-jre-slim", "amd64")).runs


def test_jar_without_main_class(tmp_path: Path) -> None:
    app = jar(tmp_path / "lib.jar", {"app/Main.class": klass(52)}, main=None)
    verdict = check(analyze(app), load_target("eclipse-temurin:21-jre-noble", "amd64"))
    assert verdict.outcome is Outcome.NO_MAIN_CLASS
    assert verdict.message == "no main manifest attribute, in /app/lib.jar"


def test_main_class_absent_from_the_jar(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(52)}, main="app.Gone")
    verdict = check(analyze(app), load_target("eclipse-temurin:21-jre-noble", "amd64"))
    assert verdict.outcome is Outcome.NO_MAIN_CLASS
    assert verdict.message == ("Error: Could not find or load main class app.Gone\n"
                               "Caused by: java.lang.ClassNotFoundException: app.Gone")


def test_class_file_is_run_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "Hello.class"
    path.write_bytes(klass(61))
    verdict = check(analyze(path), load_target("amazoncorretto:11-alpine3.22", "amd64"))
    assert verdict.outcome is Outcome.JAVA_TOO_NEW
    assert verdict.message.startswith("Error: LinkageError occurred while loading main class Hello\n")
    assert "java -cp /app Hello" in verdict.explanation


def test_multi_release_jar_is_noted(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(52), "META-INF/versions/21/app/Main.class":
                                     klass(65)}, extra="Multi-Release: true\r\n")
    verdict = check(analyze(app), load_target("eclipse-temurin:11-jre-noble", "amd64"))
    assert verdict.runs and any("multi-release" in n for n in verdict.notes)


def test_unknown_java_version_is_unknown_not_runs(tmp_path: Path) -> None:
    """A java on PATH whose JRE has no release file: linkcheck cannot tell, and says so."""
    elf = FIXTURE_BIN / "go-static"
    if not elf.exists():
        pytest.skip("fixture go-static not built")
    root = tmp_path / "root"
    for d in ("usr/lib/jvm/x/bin", "usr/bin", "bin"):
        (root / d).mkdir(parents=True)
    for where in ("usr/lib/jvm/x/bin/java", "bin/sh"):  # any ELF there tells the root's machine
        (root / where).write_bytes(elf.read_bytes())
        (root / where).chmod(0o755)
    os.symlink("/usr/lib/jvm/x/bin/java", root / "usr/bin/java")
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(52)})
    verdict = check(analyze(app), load_target(str(root)))
    assert verdict.outcome is Outcome.UNKNOWN and not verdict.runs
    assert "no readable release file" in verdict.explanation


def _javac(tmp: Path, sources: dict[str, str], release: int = 11) -> Path:
    """Classes compiled by this machine's javac into tmp/classes."""
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("no javac on this machine (apt-get install openjdk-17-jdk-headless)")
    src = tmp / "src"
    for rel, text in sources.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    out = tmp / "classes"
    subprocess.run([javac, "--release", str(release), "-nowarn", "-d", str(out),
                    *map(str, src.rglob("*.java"))], check=True, capture_output=True)
    return out


MAIN = "public static void main(String[] a) {}"


def test_class_directory_is_judged_as_one_app_by_its_main_class(tmp_path: Path) -> None:
    classes = _javac(tmp_path, {"app/Main.java": f"package app; public class Main {{ {MAIN} }}",
                                "app/util/Text.java": "package app.util; public class Text { int n; }"}, 17)
    result = run_cli(str(classes), "--target", "eclipse-temurin:11-jre-noble", "--platform", "amd64",
                     "--json")
    assert result.returncode == ExitStatus.WONT_RUN, result.stderr
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["format"] == "class-dir" and "main class app.Main" in entry["description"]
    verdict = entry["verdicts"][0]
    assert verdict["outcome"] == "java-too-new" and "java -cp /app app.Main" in verdict["explanation"]
    assert verdict["message"].startswith("Error: LinkageError occurred while loading main class app.Main\n")
    ok = run_cli(str(classes), "--target", "eclipse-temurin:17-jre-noble", "--platform", "amd64",
                 "--install-dir", "/opt/app/classes", "--json")
    assert ok.returncode == ExitStatus.OK
    explanation = json.loads(ok.stdout)["files"][0]["verdicts"][0]["explanation"]
    assert "java -cp /opt/app/classes app.Main" in explanation


def test_class_directory_without_a_main_method_has_no_main_class(tmp_path: Path) -> None:
    # A method called main that is not `public static void main(String[])` is not one java starts.
    classes = _javac(tmp_path, {"lib/Lib.java": "package lib; public class Lib { "
                                                "public void main(String[] a) {} static void main() {} }"})
    result = run_cli(str(classes), "--target", "eclipse-temurin:17-jre-noble", "--platform", "amd64",
                     "--json")
    assert result.returncode == ExitStatus.WONT_RUN
    verdict = json.loads(result.stdout)["files"][0]["verdicts"][0]
    assert verdict["outcome"] == "no-main-class" and "no class in /app declares" in verdict["message"]


def test_class_directory_with_several_mains_names_them(tmp_path: Path) -> None:
    classes = _javac(tmp_path, {"b/Tool.java": f"package b; public class Tool {{ {MAIN} }}",
                                "a/App.java": f"package a; public class App {{ {MAIN} }}"})
    result = run_cli(str(classes), "--json")
    (entry,) = json.loads(result.stdout)["files"]
    assert "main class a.App; also with main(): b.Tool" in entry["description"]
    assert result.returncode == ExitStatus.OK


def test_classes_away_from_their_package_path_are_no_class_path(tmp_path: Path) -> None:
    """java -cp DIR loads app.Main only from DIR/app/Main.class: a directory holding it elsewhere (here
    the package's own directory named as input) is not a class path, and is not judged as one."""
    classes = _javac(tmp_path, {"app/Main.java": f"package app; public class Main {{ {MAIN} }}"})
    result = run_cli(str(classes / "app"), "--target", "eclipse-temurin:17-jre-noble", "--json")
    assert json.loads(result.stdout)["files"] == []


def test_without_a_target_a_jar_is_judged_on_every_builtin_java_image(tmp_path: Path) -> None:
    app = jar(tmp_path / "app.jar", {"app/Main.class": klass(65)})  # Java 21
    result = run_cli(str(app), "--platform", "arm64", "--json")
    assert result.returncode == ExitStatus.OK, result.stderr  # a matrix informs, it does not fail
    (entry,) = json.loads(result.stdout)["files"]
    outcomes = {v["target"]: v["outcome"] for v in entry["verdicts"]}
    assert entry["matrix_platform"] == "linux/arm64"
    assert outcomes["eclipse-temurin:17-jre-noble"] == "java-too-new"
    assert outcomes["eclipse-temurin:21-jre-noble"] == "runs"
    assert "alpine" not in outcomes and "python:3.12-slim-bookworm" not in outcomes  # Java images only
    # The smallest that runs it: an Alpine JRE of Java 21, not a JDK or an older Java.
    assert entry["smallest_target"] == "eclipse-temurin:21-jre-alpine-3.22"
    text = run_cli(str(app), "--platform", "arm64")
    assert "smallest image it runs on: eclipse-temurin:21-jre-alpine-3.22" in text.stdout


def test_without_a_target_a_class_directory_gets_the_java_matrix(tmp_path: Path) -> None:
    classes = _javac(tmp_path, {"app/Main.java": f"package app; public class Main {{ {MAIN} }}"}, 11)
    result = run_cli(str(classes), "--platform", "amd64", "--json")
    assert result.returncode == ExitStatus.OK
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["format"] == "class-dir" and entry["smallest_target"] == "eclipse-temurin:11-jre-alpine-3.22"
    too_old = [v["target"] for v in entry["verdicts"] if v["outcome"] == "java-too-new"]
    assert too_old and all(t.split(":")[1].startswith("8") for t in too_old), too_old  # Java 8 only
