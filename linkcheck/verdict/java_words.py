"""What Java and the tools around it print, word for word, for the problems linkcheck.verdict.java finds.

The launcher's messages were checked against real runs of OpenJDK 11, 17 and 25 (tests/test_java_runs.py);
Java 8's launcher words a too-new class differently (its "A JNI error has occurred" line), as documented
by every Java 8 user who met it.
"""

from __future__ import annotations

from linkcheck.model import Runtime
from linkcheck.verdict.explain import NO_SHELL, Shell


def java_command(program: str, main_class: str | None, is_jar: bool, class_path: str | None = None) -> str:
    """How the file is started: `java -jar /app/app.jar`, `java -cp /app Hello`; ``class_path`` is the
    directory a class directory is (else the class file's own directory)."""
    if is_jar:
        return f"java -jar {program}"
    directory = class_path or program.rsplit("/", 1)[0] or "/"
    return f"java -cp {directory} {main_class or 'MAIN'}"


def no_main_in_directory(directory: str) -> str:
    """Not Java's words (java needs a class name to start): why nothing there can be started."""
    return (f"no class in {directory} declares public static void main(String[] args): there is no main "
            "class for `java -cp` to start")


def docker_no_java() -> str:
    """`docker run IMAGE java ...` when the image has no java: runc's lookup of argv[0] on PATH."""
    return 'exec: "java": executable file not found in $PATH'


def shell_no_java(shell: Shell) -> str:
    if shell in (Shell.BASH, Shell.OLD_BASH):
        return "bash: java: command not found"
    if shell is Shell.ASH:
        return "sh: java: not found"
    if shell is Shell.DASH:
        return "sh: 1: java: not found"
    return NO_SHELL


def unsupported_class_version(runtime: Runtime, main_class: str, major: int, minor: int) -> str:
    """The launcher's words for a main class newer than the runtime."""
    error = (f"java.lang.UnsupportedClassVersionError: {main_class.replace('.', '/')} has been compiled by a "
             f"more recent version of the Java Runtime (class file version {major}.{minor}), this version "
             f"of the Java Runtime only recognizes class file versions up to {runtime.max_class_major}.0")
    if runtime.release <= 8:
        return ("Error: A JNI error has occurred, please check your installation and try again\n"
                f'Exception in thread "main" {error}')
    return f"Error: LinkageError occurred while loading main class {main_class}\n\t{error}"


def no_main_manifest(program: str) -> str:
    return f"no main manifest attribute, in {program}"


def main_class_not_found(main_class: str) -> str:
    return (f"Error: Could not find or load main class {main_class}\n"
            f"Caused by: java.lang.ClassNotFoundException: {main_class}")


def release_fixes(release: int) -> tuple[str, ...]:
    """How to compile for an older Java."""
    return (f"compile for Java {release}: javac --release {release}; Maven: "
            f"<maven.compiler.release>{release}</maven.compiler.release>; Gradle: "
            f"tasks.withType(JavaCompile) {{ options.release = {release} }}",)


def newer_image_fix(need: int, names: tuple[str, ...]) -> str:
    shown = ", ".join(names) if names else f"an image with Java {need} or newer"
    return f"run it on an image with Java {need} or newer: {shown}"
