"""Will `java` in the image run this jar or class file? Decided in the order the launcher meets each
problem: a ``java`` on PATH at all, the jar's Main-Class, then the main class's version. Classes newer than
the runtime that are not the main class fail only when first loaded: a note, not a failure.

Pure: reads only the file's facts and the target's runtime (``Target.runtimes``). Words are in
linkcheck.verdict.java_words.
"""

from __future__ import annotations

import posixpath

from linkcheck.model import (
    Analysis,
    FileFormat,
    JavaFacts,
    Libc,
    Outcome,
    Problem,
    Runtime,
    RuntimeKind,
    Target,
    Verdict,
)
from linkcheck.verdict import java_words as words
from linkcheck.verdict.explain import Shell, shell_of

PREVIEW_MINOR = 0xFFFF  # a class compiled with --enable-preview


def check_java(analysis: Analysis, target: Target, program: str) -> Verdict:
    """The verdict for a jar or class file installed at ``program`` and started with `java`."""
    java = analysis.java
    assert java is not None
    is_jar = analysis.format is FileFormat.JAR
    class_path = program if analysis.format is FileFormat.CLASS_DIR else None
    command = words.java_command(program, java.main_class, is_jar, class_path)
    runtime = target.runtime(RuntimeKind.JAVA)
    shell = shell_of(target)
    if runtime is None:
        return _no_java(java, target, program, command, shell)
    if runtime.release == 0:
        return _verdict(target, Outcome.UNKNOWN, Problem(
            Outcome.UNKNOWN, "java version", program,
            f"the version of {runtime.command} is unknown"), "", "",
            f"{target.name} runs `{command}` with {runtime.command}, whose version linkcheck cannot read "
            f"({runtime.source}).", (), _newer_notes(java, runtime))
    if is_jar and java.main_class is None:
        message = words.no_main_manifest(program)
        why = (f"`{command}` needs a Main-Class attribute in the jar's META-INF/MANIFEST.MF, and "
               f"{posixpath.basename(program)} has {'none' if java.has_manifest else 'no manifest at all'}.")
        return _verdict(target, Outcome.NO_MAIN_CLASS, Problem(
            Outcome.NO_MAIN_CLASS, "Main-Class", program, "no Main-Class in the manifest"), message, message,
            why, ("set Main-Class in the manifest (Maven: maven-jar-plugin <mainClass>; Gradle: "
                  "jar { manifest { attributes 'Main-Class': '...' } }), or run it with "
                  f"`java -cp {program} MAIN.CLASS`",), ())
    if class_path is not None and java.main_class is None:
        message = words.no_main_in_directory(program)
        why = (f"{program} is a class directory: it is started as `java -cp {program} MAIN`, and none of its "
               f"{java.classes_read} classes declares public static void main(String[] args).")
        return _verdict(target, Outcome.NO_MAIN_CLASS, Problem(
            Outcome.NO_MAIN_CLASS, "main", program, "no class with a main method"), message, message, why,
            ("add the class with main(String[]) to the directory, or start a class of another class path",),
            _newer_notes(java, runtime))
    main = java.main_class or ""
    if is_jar and java.main_class_major is None:
        message = words.main_class_not_found(main)
        why = (f"the manifest's Main-Class is {main}, and {posixpath.basename(program)} has no "
               f"{main.replace('.', '/')}.class.")
        return _verdict(target, Outcome.NO_MAIN_CLASS, Problem(
            Outcome.NO_MAIN_CLASS, main, program, f"Main-Class {main} is not in the jar"), message, message,
            why, ("fix Main-Class in the manifest, or package the class in the jar",), ())
    major = java.main_class_major if java.main_class_major is not None else java.class_major
    if major > runtime.max_class_major:
        need = major - 44
        message = words.unsupported_class_version(runtime, main, major, java.main_class_minor)
        why = (f"{main} is compiled for Java {need} (class file version {major}); {target.name}'s java "
               f"({runtime.command}, Java {runtime.version}) loads class files up to version "
               f"{runtime.max_class_major} (Java {runtime.release}), so `{command}` stops before main() "
               "runs.")
        fixes = words.release_fixes(runtime.release) + (words.newer_image_fix(need, newer_java_images(
            need, target)),)
        return _verdict(target, Outcome.JAVA_TOO_NEW, Problem(
            Outcome.JAVA_TOO_NEW, f"Java {need}", program,
            f"{main} needs Java {need} (class version {major}); the image has Java {runtime.release}"),
            message, message, why, fixes, _newer_notes(java, runtime, skip=main))
    notes = _newer_notes(java, runtime)
    if java.main_class_minor == PREVIEW_MINOR:
        notes += (f"{main} uses preview features of Java {major - 44}: java runs it only with "
                  "--enable-preview, and only Java " f"{major - 44} itself",)
    return Verdict(target=target.name, runs=True, outcome=Outcome.RUNS, problems=(), message="",
                   shell_message="", explanation=f"`{command}` runs it with {runtime.command} (Java "
                   f"{runtime.version}), which loads its class files.", fixes=(), notes=notes)


def _no_java(java: JavaFacts, target: Target, program: str, command: str, shell: Shell) -> Verdict:
    path = ":".join(target.path_env) or "(empty)"
    need = java.java_release
    why = (f"{posixpath.basename(program)} is started by `{command}`, and {target.name} has no java on its "
           f"PATH ({path}): it has no Java runtime.")
    message = words.docker_no_java()
    fixes = (words.newer_image_fix(max(need, 8), newer_java_images(max(need, 8), target)),
             "or install a JRE in the image (apk add openjdk17-jre-headless, apt-get install "
             "openjdk-17-jre-headless)" if target.libc is not Libc.NONE else
             "or use an image that has a JRE and a libc: this one has no libc for a JRE to run on")
    return _verdict(target, Outcome.MISSING_INTERPRETER, Problem(
        Outcome.MISSING_INTERPRETER, "java", program, "no java on the image's PATH"), message,
        words.shell_no_java(shell), why, fixes, ())


def _newer_notes(java: JavaFacts, runtime: Runtime, skip: str | None = None) -> tuple[str, ...]:
    """Classes this Java cannot load, other than ``skip`` (the main class, when it is already the
    problem): they fail when first used."""
    notes = []
    limit = runtime.max_class_major if runtime.release else None
    for group in java.versions:
        if limit is None or group.major <= limit:
            continue
        examples = [c for c in group.examples if c != skip]
        count = group.count - (len(group.examples) - len(examples))
        if count == 0:
            continue
        shown = ", ".join(examples) + (" ..." if count > len(examples) else "")
        notes.append(f"warning: {count} class(es) need Java {group.major - 44} (class version "
                     f"{group.major}), newer than the image's Java {runtime.release}: {shown}; each fails "
                     "with UnsupportedClassVersionError when first loaded")
    if java.multi_release:
        notes.append("a multi-release jar: classes under META-INF/versions/N/ load only on Java N or newer "
                     "and were not judged")
    if not java.all_read:
        notes.append(f"only the first {java.classes_read} classes were read")
    return tuple(notes)


def newer_java_images(need: int, target: Target) -> tuple[str, ...]:
    """Built-in runtime images with Java >= ``need`` and the target's libc, smallest first (unknown
    sizes after, then by name), at most three."""
    from linkcheck.image.runtimes import all_runtime_images, libc_of_image

    fits = [im for im in all_runtime_images() if im.runtime.kind is RuntimeKind.JAVA
            and im.runtime.release >= need and target.docker_arch in im.architectures]
    same_libc = [im for im in fits if libc_of_image(im) is target.libc]
    chosen = same_libc or fits
    # Unknown sizes: an older release and a JRE are smaller than a newer one and a JDK.
    chosen.sort(key=lambda im: (im.size_bytes is None, im.size_bytes or 0, im.runtime.release,
                                "jdk" in im.name.lower() or "JDK" in im.description, im.name))
    return tuple(im.name for im in chosen[:3])


def _verdict(target: Target, outcome: Outcome, problem: Problem, message: str, shell_message: str,
             why: str, fixes: tuple[str, ...], notes: tuple[str, ...]) -> Verdict:
    return Verdict(target=target.name, runs=False, outcome=outcome, problems=(problem,), message=message,
                   shell_message=shell_message, explanation=why, fixes=fixes, notes=notes)
