"""Start a program inside a root filesystem the way a container runtime does, and say what happened.

``run_in_root`` does a plain ``chroot()`` + ``execve()`` (as runc does): no shell, no ``execvp``
fallback that would re-run an ENOEXEC file through ``/bin/sh`` (coreutils ``chroot(1)`` does that and
hides "exec format error"). The outcome is classified from the real evidence only: the errno of
``execve``, the exit status, and the loader's words on stderr.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import errno as errno_mod
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from linkcheck.model import Outcome

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# glibc's loader stops at the first library it cannot open.
# ... "cannot open shared object file", or a file it found but refused ("file too short", "invalid ELF
# header"), named by its path: both stop the loader.
GLIBC_MISSING_LIB = re.compile(r"error while loading shared libraries: (?P<name>[^:]+): ")
GLIBC_MISSING_VERSION = re.compile(r"version `(?P<name>[^']+)' not found")
GLIBC_SYMBOL_LOOKUP = re.compile(
    r"(?:symbol lookup error|relocation error): .*?undefined symbol: (?P<name>[^\s,]+)"
)
GLIBC_UNDEFINED = re.compile(r"undefined symbol: (?P<name>[^\s,]+)")
# musl's loader reports every library it cannot load, one line each, then exits 127.
MUSL_MISSING_LIB = re.compile(r"Error loading shared library (?P<name>[^:\s]+): ")
MUSL_MISSING_SYMBOL = re.compile(r"Error relocating [^:]+: (?P<name>[^:]+): symbol not found")
# busybox env / coreutils env when the program it looks up on PATH is absent.
ENV_CANT_EXEC = re.compile(
    r"env: (?:can't execute '(?P<bb>.*?)'|'?(?P<cu>[^:']*)'?): No such file or directory", re.S
)


CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_LIBC = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _private_proc(root: bytes) -> None:
    """In the child: a private mount namespace with /proc mounted in the root, as runc does.

    glibc's loader reads /proc/self/exe to expand $ORIGIN for the main program; without /proc a
    container-faithful run is impossible. The mount dies with the namespace when the program exits.
    """
    _check(_LIBC.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_LIBC.mount(b"proc", root + b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
           "mount proc")


_PROC_OK: list[bool] = []


def private_proc_works() -> bool:
    """Whether this machine lets us give a child its own mount namespace with /proc mounted (root
    with CAP_SYS_ADMIN, as a container runtime needs). Probed once, on the host's own root."""
    if not _PROC_OK:
        try:
            proc = subprocess.run(["true"], executable="/bin/true", preexec_fn=lambda: _private_proc(b""),
                                  capture_output=True, check=False, timeout=10)
            _PROC_OK.append(proc.returncode == 0)
        except (OSError, subprocess.SubprocessError):
            _PROC_OK.append(False)
    return _PROC_OK[0]


@dataclass(frozen=True)
class RealOutcome:
    """What really happened when the program was started in the root."""

    outcome: Outcome
    errno: int | None  # the execve errno, when execve itself failed
    exit_code: int | None  # the exit status; negative: killed by that signal; None: execve failed
    stdout: str
    stderr: str
    names: tuple[str, ...] = ()  # the missing libraries / versions / symbols / interpreter, as shown
    detail: str = ""  # one line: which evidence decided

    @property
    def started(self) -> bool:
        return self.errno is None


HOST_ELF = {"x86_64": (2, 62), "aarch64": (2, 183), "i686": (1, 3), "riscv64": (2, 243), "s390x": (2, 22)}


def _elf_for_another_cpu(path: Path) -> bool | None:
    """None: not an ELF file. True: an ELF for another CPU than this kernel's (class + e_machine)."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    if head[:4] != b"\x7fELF":
        return None
    host = HOST_ELF.get(os.uname().machine)
    if host is None or len(head) < 20:
        return True
    return (head[4], int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")) != host


def resolve_in_root(root: Path, path: str, hops: int = 40) -> Path | None:
    """The host path of ``path`` as seen after chroot(root): symlinks (absolute ones included) are
    followed inside the root, ".." stops at its top. None when a component is missing or loops."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    done: list[str] = []
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        here = root.joinpath(*done, part)
        if here.is_symlink():
            hops -= 1
            if hops < 0:
                return None
            link = os.readlink(here)
            if link.startswith("/"):
                done = []
            parts = [p for p in link.split("/") if p not in ("", ".")] + parts
            continue
        if not here.exists():
            return None
        done.append(part)
    return root.joinpath(*done)


def install(root: Path, source: Path, dest_in_root: str, mode: int = 0o755) -> str:
    """Copy ``source`` into the root at ``dest_in_root`` (absolute inside the root)."""
    target = root / dest_in_root.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    shutil.copyfile(source, target)
    os.chmod(target, mode)
    return dest_in_root


def execve_result(program: str, root: Path | None = None, env: dict[str, str] | None = None
                  ) -> tuple[int | None, int | None]:
    """One bare execve of ``program`` (inside ``root`` by chroot when given), stdout silenced and an alarm
    ending a program that loops: (errno execve failed with, or None; signal that ended the process, or
    None). For the kernel's own refusals, where the errno itself is the evidence."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            if root is not None:
                os.chroot(root)
                os.chdir("/")
            os.dup2(os.open("/", os.O_RDONLY), 1)  # stdout: a directory, so the program prints nothing
            signal.alarm(5)  # kept across execve
            os.execve(program, [program], os.environ if env is None else env)
        except OSError as exc:
            os.write(write, str(exc.errno).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as r:
        got = r.read()
    _, status = os.waitpid(pid, 0)
    return (int(got) if got else None), (os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)


def run_in_root(
    root: Path,
    program_in_root: str,
    argv: list[str] | None = None,
    timeout: float = 10,
    env: dict[str, str] | None = None,
    mount_proc: bool = True,
    stdin: bytes | None = None,
) -> RealOutcome:
    """chroot(root), chdir("/"), execve(program_in_root, argv, env); classify the outcome.

    With ``mount_proc`` (the default, as in any container) the child gets a private mount namespace
    with /proc mounted inside the root (the empty /proc directory is created when missing, as a
    runtime does)."""
    if os.geteuid() != 0:
        raise PermissionError("chroot needs root")
    root = Path(root).resolve()
    if not program_in_root.startswith("/"):
        raise ValueError("program_in_root must be absolute inside the root")
    host_path = resolve_in_root(root, program_in_root)
    if host_path is None or not host_path.is_file():
        raise FileNotFoundError(f"{program_in_root} is not a file in {root}")
    if argv is None:
        argv = [program_in_root]
    environment = {"PATH": DEFAULT_PATH} if env is None else dict(env)

    return _exec(root, program_in_root, argv, timeout, environment, mount_proc, host_path, stdin)


def _exec(root: Path, program_in_root: str, argv: list[str], timeout: float, environment: dict[str, str],
          mount_proc: bool = True, host_path: Path | None = None, stdin: bytes | None = None) -> RealOutcome:
    root_bytes = os.fsencode(root)
    if mount_proc:
        proc_dir = root / "proc"
        if proc_dir.is_symlink() or (proc_dir.exists() and not proc_dir.is_dir()):
            raise ValueError(f"{proc_dir} is not a directory")
        proc_dir.mkdir(exist_ok=True)

    def enter() -> None:
        if mount_proc:
            _private_proc(root_bytes)
        os.chroot(root)
        os.chdir("/")

    try:
        # executable= holds a "/": Popen makes exactly one execve of it, never a shell, never PATH.
        proc = subprocess.Popen(
            argv,
            executable=program_in_root,
            preexec_fn=enter,
            env=environment,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        return _classify_exec_error(exc, host_path or root / program_in_root.lstrip("/"))
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return RealOutcome(Outcome.UNKNOWN, None, proc.returncode, _text(out), _text(err),
                           detail=f"timed out after {timeout}s")
    finally:
        _kill_group(proc)
    return classify_exit(proc.returncode, _text(out), _text(err))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "backslashreplace")


def _classify_exec_error(exc: OSError, host_path: Path) -> RealOutcome:
    code = exc.errno
    name = errno_mod.errorcode.get(code or 0, str(code))
    if code == errno_mod.ENOENT:
        # The file is there (checked above): the kernel could not find its interpreter.
        return RealOutcome(Outcome.MISSING_INTERPRETER, code, None, "", "", detail="execve: ENOENT")
    if code == errno_mod.ENOEXEC:
        foreign = _elf_for_another_cpu(host_path)
        if foreign:
            return RealOutcome(Outcome.WRONG_ARCHITECTURE, code, None, "", "",
                               detail="execve: ENOEXEC (an ELF for another CPU)")
        what = "not an ELF file or script" if foreign is None else "an ELF for this CPU, refused"
        return RealOutcome(Outcome.NOT_EXECUTABLE, code, None, "", "", detail=f"execve: ENOEXEC ({what})")
    if code in (errno_mod.EACCES, errno_mod.EPERM):
        return RealOutcome(Outcome.NOT_EXECUTABLE, code, None, "", "", detail=f"execve: {name}")
    return RealOutcome(Outcome.UNKNOWN, code, None, "", "", detail=f"execve: {name}")


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def classify_exit(code: int, out: str, err: str) -> RealOutcome:
    """Classify a process that did start (execve succeeded) from its status and stderr."""

    def result(outcome: Outcome, names: list[str], detail: str) -> RealOutcome:
        return RealOutcome(outcome, None, code, out, err, _unique(names), detail)

    if code == 0:
        return result(Outcome.RUNS, [], "exit 0")
    libs = [os.path.basename(m["name"]) for m in GLIBC_MISSING_LIB.finditer(err)]
    libs += [m["name"] for m in MUSL_MISSING_LIB.finditer(err)]
    if libs:
        return result(Outcome.MISSING_LIBRARY, libs, f"exit {code}: loader could not open a library")
    versions = [m["name"] for m in GLIBC_MISSING_VERSION.finditer(err)]
    if versions:
        return result(Outcome.MISSING_SYMBOL_VERSION, versions, f"exit {code}: loader: version not found")
    symbols = [m["name"] for m in MUSL_MISSING_SYMBOL.finditer(err)]
    symbols += [m["name"] for m in GLIBC_SYMBOL_LOOKUP.finditer(err)]
    if not symbols:
        symbols = [m["name"] for m in GLIBC_UNDEFINED.finditer(err)]
    if symbols and out and GLIBC_SYMBOL_LOOKUP.search(err):
        # The program printed before glibc's lazy binding met the missing function: it started.
        return result(Outcome.STARTS_THEN_FAILS, symbols, f"exit {code}: started, then symbol lookup error")
    if symbols:
        return result(Outcome.MISSING_SYMBOL, symbols, f"exit {code}: loader: symbol not found")
    env_miss = ENV_CANT_EXEC.search(err)
    if env_miss and code == 127:
        if env_miss["bb"] is not None:
            program = env_miss["bb"]  # busybox prints the name raw
        else:
            # coreutils quotes it C-style: 'sh\r' stands for "sh" + carriage return.
            program = codecs.decode(env_miss["cu"], "unicode_escape")
        return result(Outcome.MISSING_INTERPRETER, [program], f"exit {code}: env could not find {program!r}")
    if code < 0:
        return result(Outcome.UNKNOWN, [], f"killed by signal {-code}")
    return result(Outcome.UNKNOWN, [], f"exit {code} without a loader message")


GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
TRACE_NOT_FOUND = re.compile(r"^\s+(\S+) => not found$", re.M)
TRACE_FOUND = re.compile(r"^\s+(\S+) => (/\S+) \(0x[0-9a-f]+\)$", re.M)
TRACE_VERSION = re.compile(r"version `([^']+)' not found \(required by ([^)]+)\)")


def loader_flavour(root: Path, loader: str) -> str | None:
    """Run the loader path inside the root with no arguments and let it say what it is: "musl"
    (it prints "musl libc"), "glibc" (it prints "missing program name"), "other", or None when
    execve finds no file there (ENOENT). A path can lie: /lib64/ld-linux-x86-64.so.2 may be musl."""
    got = _exec(root, loader, [loader], 10, {"PATH": DEFAULT_PATH})
    if got.errno == errno_mod.ENOENT:
        return None
    text = got.stdout + got.stderr
    if "musl libc" in text:
        return "musl"
    if "missing program name" in text or "ld.so" in text:
        return "glibc"
    return "other"


def load_library_in_root(root: Path, library_in_root: str, family: str) -> RealOutcome:
    """What the root's own dynamic loader does with a shared library (which the kernel cannot run).

    ``family`` ("glibc", "musl", "none") is the library's C library, from the fixture's recipe; its
    loader is used when the root has it, else any loader the root has (glibc's, then musl's: a
    program of the image would load the library with that one). glibc's loader runs in trace mode
    with relocation checks (``ldd -r``), musl's in ldd mode: both map every library and bind every
    symbol, and neither runs the library's code. No loader at all: MISSING_INTERPRETER.
    """
    order = [GLIBC_LOADER, MUSL_LOADER]
    if family == "musl":
        order.reverse()
    present = [(loader, flavour) for loader in order if (flavour := loader_flavour(root, loader))]
    present = [p for p in present if p[1] in ("glibc", "musl")]
    if not present:
        return RealOutcome(Outcome.MISSING_INTERPRETER, errno_mod.ENOENT, None, "", "",
                           detail=f"execve of every known loader path ({', '.join(order)}): ENOENT")
    present.sort(key=lambda p: p[1] != family)  # the library's own C library's loader first
    loader, flavour = present[0]
    if flavour == "musl":
        got = run_in_root(root, loader, ["ldd", library_in_root])
        return RealOutcome(got.outcome, got.errno, got.exit_code, got.stdout, got.stderr, got.names,
                           f"musl loader in ldd mode: {got.detail}")
    env = {"PATH": DEFAULT_PATH, "LD_TRACE_LOADED_OBJECTS": "1", "LD_WARN": "yes", "LD_BIND_NOW": "yes"}
    got = run_in_root(root, loader, ["ld.so", library_in_root], env=env)
    text = got.stdout + got.stderr
    libs = TRACE_NOT_FOUND.findall(got.stdout)
    versions = [m["name"] for m in GLIBC_MISSING_VERSION.finditer(text)]
    symbols = [m["name"] for m in GLIBC_UNDEFINED.finditer(text)]
    for outcome, names in ((Outcome.MISSING_LIBRARY, libs), (Outcome.MISSING_SYMBOL_VERSION, versions),
                           (Outcome.MISSING_SYMBOL, symbols)):
        if names:
            return RealOutcome(outcome, None, got.exit_code, got.stdout, got.stderr, _unique(names),
                               "glibc loader in trace mode (ldd -r)")
    if got.exit_code != 0:
        return RealOutcome(Outcome.UNKNOWN, None, got.exit_code, got.stdout, got.stderr,
                           detail=f"glibc loader in trace mode: exit {got.exit_code}")
    return RealOutcome(Outcome.RUNS, None, 0, got.stdout, got.stderr,
                       detail="glibc loader in trace mode: loads")


@dataclass(frozen=True)
class Trace:
    missing: frozenset[str]
    versions: frozenset[str]
    loaded: dict[str, str]  # library name -> the file the loader mapped (real path inside the root)
    version_lines: tuple[tuple[str, str], ...]  # (version, required by)
    output: str


def trace(root: Path, program_in_root: str, loader: str = GLIBC_LOADER) -> Trace:
    """The root's glibc loader in trace mode (what ldd does): every library mapped, every version
    checked, nothing run."""
    got = run_in_root(root, loader, ["ld.so", program_in_root], timeout=30,
                      env={"PATH": DEFAULT_PATH, "LD_TRACE_LOADED_OBJECTS": "1"})
    if got.errno is not None:
        raise RuntimeError(f"the root's loader could not start: {got}")
    text = got.stdout + got.stderr
    lines = tuple((m[1], m[2]) for m in TRACE_VERSION.finditer(text))
    loaded = {name: in_root_file(root, path) for name, path in TRACE_FOUND.findall(got.stdout)}
    missing = frozenset(TRACE_NOT_FOUND.findall(got.stdout))
    return Trace(missing, frozenset(v for v, _ in lines), loaded, lines, text)


def in_root_file(root: Path, path: str) -> str:
    """The file a path inside the root finally names (symlinks followed inside the root), as a path
    inside the root, so that /lib/x/libc.so.6 and /usr/lib/x/libc.so.6 compare equal when they are
    one file."""
    found = resolve_in_root(root, path)
    if found is None:
        return f"{path} (does not resolve in the root)"
    return "/" + str(found.relative_to(root))


@dataclass(frozen=True)
class MuslList:
    missing: frozenset[str]  # "Error loading shared library X"
    symbols: frozenset[str]  # "Error relocating F: S: symbol not found"
    exit_code: int | None
    output: str


def musl_list(root: Path, file_in_root: str, loader: str = MUSL_LOADER) -> MuslList:
    """The root's musl loader in ldd mode (argv[0] "ldd"): it maps every library and performs every
    relocation, reporting each failure, without running the file."""
    got = run_in_root(root, loader, ["ldd", file_in_root], timeout=30)
    if got.errno is not None:
        raise RuntimeError(f"the root's musl loader could not start: {got}")
    return MuslList(
        frozenset(m["name"] for m in MUSL_MISSING_LIB.finditer(got.stderr)),
        frozenset(m["name"] for m in MUSL_MISSING_SYMBOL.finditer(got.stderr)),
        got.exit_code,
        got.stdout + got.stderr,
    )


PROMPT = re.compile(r"^(?:\S*\s?[#$] )+")


def shell_says(root: Path, command: str, shell: str = "/bin/sh") -> str:
    """What the image's shell prints when a person types ``command`` at its prompt: the shell runs
    interactively (-i) on the command from stdin; prompts and the no-tty job-control notice are
    removed, and so is bash's echo of the line. (``sh -c`` can differ: busybox 1.37+ then adds
    "line 0:", dash adds "1:".)"""
    got = run_in_root(root, shell, [os.path.basename(shell), "-i"], stdin=(command + "\n").encode())
    lines = []
    for line in got.stderr.split("\n"):  # not splitlines(): a "\r" in a name is part of it
        line = PROMPT.sub("", line)
        # Interactive noise without a tty: job-control notices, bash echoing the line and "exit".
        if (not line.strip() or "job control" in line or "terminal process group" in line
                or line == command or line == "exit"):
            continue
        lines.append(line)
    return "\n".join(lines)
