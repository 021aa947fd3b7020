"""Java verdicts against real JREs: jars and class files of several releases really run with `java` in
Debian roots (openjdk-17-jre-headless in bookworm, openjdk-11-jre-headless in bullseye, and the host's
Temurin 25 when this machine has one), compared with linkcheck's verdicts for those roots as directory
targets: the outcome, and the launcher's words exactly.

Class files come from the host's javac 17 (``--release 8/11/17``); newer releases are made by writing a
newer version into a trivial class's header, which is what a newer javac emits for it (the class runs on
a new enough Java: the runs below prove it). Slow (debootstrap): LINKCHECK_SLOW=1.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from linkcheck import load_target
from linkcheck.facts.reader import analyze
from linkcheck.model import Outcome, RuntimeKind
from linkcheck.verdict.checks import check

from conftest import slow
from launch import run_in_root, shell_says
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [slow, pytest.mark.chroot]

HOST_JAVAC = shutil.which("javac")
HOST_TEMURIN_25 = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
JAVA_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

HELLO = """package {package};
public class Main {{ public static void main(String[] a) {{ System.out.println("hello " + {helper}); }} }}
"""


def _compile(tmp: Path, release: int, package: str = "app", helper: bool = False) -> Path:
    """Classes for ``release`` in tmp/classes-N: app/Main (and app/Helper, used only when asked)."""
    if HOST_JAVAC is None:
        pytest.skip("no javac on this machine (apt-get install openjdk-17-jdk-headless)")
    src = tmp / f"src-{release}-{package}"
    out = tmp / f"classes-{release}-{package}-{helper}"
    (src / package).mkdir(parents=True, exist_ok=True)
    call = "Helper.name()" if helper else "System.getProperty(\"java.version\")"
    (src / package / "Main.java").write_text(HELLO.format(package=package, helper=call))
    (src / package / "Helper.java").write_text(
        f"package {package};\nclass Helper {{ static String name() {{ return \"helper\"; }} }}\n")
    compiled = min(release, 17)
    subprocess.run([HOST_JAVAC, "--release", str(compiled), "-nowarn", "-d", str(out),
                    *map(str, (src / package).glob("*.java"))], check=True, capture_output=True)
    if release > 17:
        for cls in out.rglob("*.class"):
            set_major(cls, release + 44)
    return out


def set_major(cls: Path, major: int) -> None:
    data = bytearray(cls.read_bytes())
    struct.pack_into(">H", data, 6, major)
    cls.write_bytes(bytes(data))


def make_jar(path: Path, classes: Path, main: str | None) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        manifest = "Manifest-Version: 1.0\r\n" + (f"Main-Class: {main}\r\n" if main else "") + "\r\n"
        z.writestr("META-INF/MANIFEST.MF", manifest)
        for cls in sorted(classes.rglob("*.class")):
            z.write(cls, cls.relative_to(classes).as_posix())
    return path


def _jre_root(factory: RootFactory, name: str) -> Path:
    if name == "temurin-25":
        if not (HOST_TEMURIN_25 / "release").is_file():
            pytest.skip("this machine has no Temurin 25 in /usr/lib/jvm")
        # A Debian root without Java (hard-linked copy), given the host's Temurin 25 as /opt/java/openjdk.
        plain = factory.get("debian-bookworm")
        root = factory.base / "temurin-25"
        if not (root / "opt/java/openjdk/release").exists():
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(plain, root, symlinks=True, copy_function=os.link)
            shutil.copytree(HOST_TEMURIN_25, root / "opt/java/openjdk", symlinks=True)
            os.symlink("/opt/java/openjdk/bin/java", root / "usr/local/bin/java")
        return root
    return factory.get(name)


ROOTS = {"debian-bookworm-runtimes": 17, "debian-bullseye-jre11": 11, "temurin-25": 25}


def _real_java(root: Path, argv: list[str]) -> tuple[int | None, str, str]:
    got = run_in_root(root, "/usr/bin/env", ["env", *argv], timeout=60, env={"PATH": JAVA_PATH})
    return got.exit_code, got.stdout, got.stderr


@pytest.mark.parametrize("root_name", sorted(ROOTS))
def test_directory_target_reads_the_jre_version(root_factory: RootFactory, root_name: str) -> None:  # noqa: F811
    root = _jre_root(root_factory, root_name)
    runtime = load_target(str(root)).runtime(RuntimeKind.JAVA)
    assert runtime is not None and runtime.release == ROOTS[root_name]
    code, _out, err = _real_java(root, ["java", "-version"])
    assert code == 0 and f'version "{runtime.version}' in err, err


@pytest.mark.parametrize("root_name", sorted(ROOTS))
@pytest.mark.parametrize("release", [8, 11, 17, 21, 25])
@pytest.mark.parametrize("how", ["jar", "class"])
def test_verdict_matches_real_java(root_factory: RootFactory, root_name: str, release: int,  # noqa: F811
                                   how: str, tmp_path: Path) -> None:
    """`java -jar /app/app.jar` and `java -cp /app/classes app.Main`: the verdict's outcome and message
    are what the real java does and prints."""
    root = _jre_root(root_factory, root_name)
    classes = _compile(tmp_path, release)
    app = root / "app" / f"{how}-{release}"
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    if how == "jar":
        path = make_jar(app / "app.jar", classes, "app.Main")
        argv = ["java", "-jar", f"/app/{how}-{release}/app.jar"]
        analysis = analyze(path)
        install_dir = f"/app/{how}-{release}"
    else:
        shutil.copytree(classes, app / "classes")
        path = app / "classes" / "app" / "Main.class"
        argv = ["java", "-cp", f"/app/{how}-{release}/classes", "app.Main"]
        analysis = analyze(path)
        # A class is named by its path under the class path: "app.Main" here.
        from dataclasses import replace

        assert analysis.java is not None
        analysis = replace(analysis, java=replace(analysis.java, main_class="app.Main"))
        install_dir = f"/app/{how}-{release}/classes/app"
    verdict = check(analysis, load_target(str(root)), install_dir=install_dir)
    code, out, err = _real_java(root, argv)
    runs = code == 0 and out.startswith("hello ")
    assert verdict.runs == runs, f"predicted {verdict.outcome.value}; java said {code}: {out!r} {err!r}"
    if not runs:
        assert verdict.outcome is Outcome.JAVA_TOO_NEW
        assert verdict.message == err.rstrip("\n"), err


def test_only_the_main_class_stops_the_start(root_factory: RootFactory, tmp_path: Path) -> None:  # noqa: F811
    """A jar whose Main-Class suits Java 17 but which holds a Java 21 class that main() never loads:
    it starts (a warning names the class); once main() uses it, it fails with that class's name."""
    root = _jre_root(root_factory, "debian-bookworm-runtimes")
    for uses in (False, True):
        classes = _compile(tmp_path, 17, helper=uses)
        set_major(classes / "app" / "Helper.class", 65)
        jar = make_jar(root / "app" / f"mixed-{uses}.jar", classes, "app.Main")
        verdict = check(analyze(jar), load_target(str(root)))
        assert verdict.runs
        assert any("app.Helper" in n and n.startswith("warning:") for n in verdict.notes), verdict.notes
        code, out, err = _real_java(root, ["java", "-jar", f"/app/mixed-{uses}.jar"])
        if uses:
            assert code != 0 and "app/Helper has been compiled by a more recent version" in err, err
        else:
            assert code == 0 and out.startswith("hello "), (out, err)


@pytest.mark.parametrize("case", ["no-main-class", "missing-main-class"])
def test_jar_main_class_problems_match_real_java(root_factory: RootFactory, case: str,  # noqa: F811
                                                 tmp_path: Path) -> None:
    root = _jre_root(root_factory, "debian-bookworm-runtimes")
    classes = _compile(tmp_path, 11)
    jar = make_jar(root / "app" / f"{case}.jar", classes, None if case == "no-main-class" else "app.Gone")
    verdict = check(analyze(jar), load_target(str(root)))
    code, _out, err = _real_java(root, ["java", "-jar", f"/app/{case}.jar"])
    assert code != 0 and verdict.outcome is Outcome.NO_MAIN_CLASS
    assert verdict.message == err.rstrip("\n")


@pytest.mark.parametrize("root_name", ["debian-bookworm", "alpine-3.20.3-x86_64"])
def test_no_java_is_what_the_shell_says(root_factory: RootFactory, root_name: str,  # noqa: F811
                                        tmp_path: Path) -> None:
    root = root_factory.get(root_name)
    classes = _compile(tmp_path, 11)
    jar = make_jar(tmp_path / "app.jar", classes, "app.Main")
    verdict = check(analyze(jar), load_target(str(root)))
    assert verdict.outcome is Outcome.MISSING_INTERPRETER and not verdict.runs
    shell = "/bin/bash" if verdict.shell_message.startswith("bash:") else "/bin/sh"
    assert shell_says(root, "java -jar /app/app.jar", shell) == verdict.shell_message


@pytest.mark.parametrize("root_name", ["debian-bookworm-runtimes", "debian-bullseye-jre11"])
@pytest.mark.parametrize("release", [11, 17, 21])
def test_class_directory_is_one_app_as_java_cp_runs_it(root_factory: RootFactory, root_name: str,  # noqa: F811
                                                       release: int, tmp_path: Path) -> None:
    """A directory of loose classes (target/classes) scanned as one app: its main class found by its
    main method, judged as `java -cp /app/classes app.Main` runs in the root, word for word."""
    from linkcheck import scan_paths

    root = _jre_root(root_factory, root_name)
    classes = _compile(tmp_path, release, helper=True)
    where = f"/app/dir-{release}"
    shutil.rmtree(root / where.lstrip("/"), ignore_errors=True)
    shutil.copytree(classes, root / where.lstrip("/"))
    results = [r for r in scan_paths(classes, targets=[load_target(str(root))], install_dir=where)
               if r.analysis is not None and r.analysis.java is not None]
    assert len(results) == 1, [r.path for r in results]
    (verdict,) = results[0].verdicts
    assert results[0].analysis is not None and results[0].analysis.java is not None
    assert results[0].analysis.java.main_class == "app.Main"
    assert f"java -cp {where} app.Main" in verdict.explanation or verdict.runs
    code, out, err = _real_java(root, ["java", "-cp", where, "app.Main"])
    assert verdict.runs == (code == 0 and out == "hello helper\n"), (verdict.outcome, code, out, err)
    if not verdict.runs:
        assert verdict.outcome is Outcome.JAVA_TOO_NEW and verdict.message == err.rstrip("\n"), err
