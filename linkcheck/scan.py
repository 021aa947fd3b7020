"""Scan whole trees: every ELF file and script under a directory, inside an image archive, or in a wheel.

``scan_paths(paths, target=..., jobs=...)`` yields one ``ScanResult`` per program or library found, in a
stable order (the inputs in the order given, each one's files sorted by path) whatever the number of
jobs. For each input:

* a directory (not an OCI layout): walked without following any symlink; every regular file's first
  bytes decide whether it is read (ELF magic or "#!"); the others are skipped without a result. With a
  ``target``, each file is checked against it as if the directory were copied to /app (so
  ``$ORIGIN/../lib`` finds the directory's own libraries).
* an image archive (``docker save``, OCI layout or tar, rootfs tarball): the image is judged against
  itself: target = the image's own root filesystem, origin files = the image's files, install
  directory = the file's own directory in the image. A glibc program in an alpine image, or a missing
  libssl.so.3, is reported. ``target`` is not used for images.
* a wheel (``*.whl``): each extension module, with the wheel's findings as notes; with a ``target``,
  checked against it with the wheel's own files as $ORIGIN/RPATH candidates.
* any other file: analysed, and checked against ``target`` when one is given.

Work is spread over ``jobs`` worker processes (default: the CPUs this process may use, as
``os.sched_getaffinity`` says, else ``os.cpu_count()``), started with ``fork`` so the
target and an open image are shared without pickling; results come back in chunks and are yielded in
order. Files are never read whole unless they are ELF or scripts (header reads, then ``mmap``).
Results carry each file's facts without its symbol lists (``ElfFacts.symbols`` is
``Symbols.omitted_table()``: imports and exports read as empty, so ``to_dict()``'s "versioned_symbols"
is too): sending them between processes would cost more than reading them; ``linkcheck.analyze()``
on one file gives them. Verdicts are complete.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import posixpath
import signal
import stat
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from linkcheck.errors import LinkcheckError
from linkcheck.model import (
    Analysis,
    EnvVar,
    FileFormat,
    FileView,
    LibraryFile,
    NeedKind,
    Note,
    RuntimeNeeds,
    Symbols,
    Target,
    TargetFiles,
)
from linkcheck.model import ScanResult as ScanResult  # what scan_paths yields (defined with the results)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from linkcheck.image.archive import ImageTree

# How many files one task carries to a worker: big enough to amortise the queues, small enough to
# balance two workers over a few thousand ELF files.
CHUNK_FILES = 256
CHUNK_BYTES = 32 << 10  # and at most about this much text of names (paths can be 4 KiB each)
_HEAD = 4
_WANTED = (b"\x7fELF", b"#!")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

Progress = Callable[[int, int], None]  # (files looked at so far, files to look at in this input)


# ---------------------------------------------------------------------------------------------
# Jobs: what a worker needs to turn a list of relative paths into results
# ---------------------------------------------------------------------------------------------


class _DirectoryJob:
    """Files under a host directory, checked against ``target`` as if the directory were at
    ``install_dir`` in the image."""

    def __init__(self, root: str, targets: tuple[Target, ...], install_dir: str = "/app") -> None:
        self.root = root
        self._prefix = root.rstrip("/")  # "" for "/": paths under it are "/usr/...", not "//usr/..."
        self.targets = targets
        self.install_dir = install_dir
        self._origin: TargetFiles | None = None
        self._linked: dict[tuple[int, int], Analysis] = {}
        self._kinds = _kinds_judged(targets)

    def origin(self) -> TargetFiles:
        if self._origin is None:
            from linkcheck.image.rootfs import host_dir_files

            self._origin = host_dir_files(self.root, self.install_dir)
        return self._origin

    def shown(self, rel: str) -> str:
        return f"{self._prefix}/{rel}" if rel else self.root

    def run(self, rel: str) -> ScanResult | None:
        host = self.shown(rel)
        try:
            fd = os.open(host, _OPEN_FLAGS)
        except OSError as exc:
            return ScanResult(host, None, f"{host}: cannot open ({exc.strerror or exc})")
        try:
            # The walk saw a regular file; O_NONBLOCK keeps a FIFO swapped in since from blocking, and
            # fstat below (only for the files worth reading) refuses it.
            head = os.pread(fd, _HEAD, 0)
            if not head.startswith(_WANTED):
                return None
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
        except OSError as exc:
            return ScanResult(host, None, f"{host}: cannot read ({exc.strerror or exc})")
        finally:
            os.close(fd)
        # Hard links: read once per worker, whatever the number of names.
        key = (st.st_dev, st.st_ino) if st.st_nlink > 1 else None
        seen = self._linked.get(key) if key is not None else None
        if seen is not None:
            analysis = dataclasses.replace(seen, path=host)
        else:
            from linkcheck.facts.reader import analyze

            try:
                analysis = analyze(host)
            except LinkcheckError as exc:
                return ScanResult(host, None, exc.message)
            if key is not None:
                self._linked[key] = analysis
        if not self.targets:
            return ScanResult(host, analysis)
        install = (posixpath.normpath(posixpath.join(self.install_dir, posixpath.dirname(rel))) if rel
                   else self.install_dir)
        needs = None
        if analysis.elf is not None and self._kinds:
            from linkcheck.facts.needs import read_needs

            needs = read_needs(host, analysis.elf, self._kinds)
        return _checked(host, analysis, self.targets, self.origin(), install, needs)


class _ImageJob:
    """Files inside an image, each judged against ``targets``: the image itself when none is named (is
    it sound as built?), else each target named (will the build stage's outputs run on the final base?).
    A file's own directory in the image counts as copied with it ($ORIGIN)."""

    def __init__(self, archive: str, tree: ImageTree, targets: tuple[Target, ...], origin: TargetFiles
                 ) -> None:
        self.archive = archive
        self.tree = tree
        self.targets = targets
        self.origin = origin
        self._linked: dict[tuple[int, int], Analysis] = {}
        self._needs: dict[tuple[int, int], RuntimeNeeds | None] = {}
        self._kinds = _kinds_judged(targets)

    def shown(self, member: str) -> str:
        return f"{self.archive}!{member}"

    def run(self, member: str) -> ScanResult | None:
        shown = self.shown(member)
        try:
            head = self.tree.read_range(member, 0, _HEAD)
        except OSError as exc:
            return _image_result(shown, self, member, None, f"{shown}: cannot read ({exc.strerror or exc})")
        if not head.startswith(_WANTED):
            return None
        from linkcheck.facts.reader import analyze_bytes

        # Hard links (busybox's applets): read once per worker, whatever the number of names.
        shared = self.tree.content_key(member)
        key = shared[0] if shared is not None and shared[1] > 1 else None
        seen = self._linked.get(key) if key is not None else None
        needs: RuntimeNeeds | None = None
        if seen is not None:
            analysis = dataclasses.replace(seen, path=member)
            needs = self._needs.get(key) if key is not None else None
        else:
            try:
                data = self.tree.read(member)
                analysis = analyze_bytes(data, member)
                if analysis.elf is not None and self._kinds:
                    from linkcheck.facts.needs import needs_of

                    needs = needs_of(data, analysis.elf, self._kinds)
            except OSError as exc:
                return _image_result(shown, self, member, None,
                                     f"{shown}: cannot read ({exc.strerror or exc})")
            except LinkcheckError as exc:
                return _image_result(shown, self, member, None, f"{self.archive}!{exc.message}")
            if key is not None:
                self._linked[key] = analysis
                self._needs[key] = needs
        result = _checked(shown, analysis, self.targets, self.origin, posixpath.dirname(member), needs)
        return ScanResult(result.path, analysis, result.error, result.verdicts, self.archive, member)


def _kinds_judged(targets: tuple[Target, ...]) -> frozenset[NeedKind]:
    """The kinds of runtime need worth reading a file's evidence for: those the targets can fail."""
    if not targets:
        return frozenset()
    from linkcheck.verdict.runtime import kinds_judged

    return kinds_judged(targets)


def _image_result(shown: str, job: _ImageJob, member: str, analysis: Analysis | None,
                  error: str | None) -> ScanResult:
    return ScanResult(shown, analysis, error, (), job.archive, member)


def _checked(shown: str, analysis: Analysis, targets: tuple[Target, ...], origin: TargetFiles,
             install_dir: str, needs: RuntimeNeeds | None = None) -> ScanResult:
    from linkcheck.verdict.checks import check

    try:
        verdicts = tuple(check(analysis, t, origin_files=origin, install_dir=install_dir, needs=needs)
                         for t in targets)
    except LinkcheckError as exc:
        return ScanResult(shown, analysis, exc.message)
    return ScanResult(shown, analysis, None, verdicts)


_Job = _DirectoryJob | _ImageJob


class CachedFiles:
    """A ``TargetFiles`` that remembers its answers: a scan asks the same "does /lib/x/libfoo.so.1
    exist?" for thousands of programs. One per process (workers fork their own copy)."""

    def __init__(self, inner: TargetFiles) -> None:
        self._inner = inner
        self._exists: dict[str, bool] = {}
        self._executable: dict[str, bool] = {}
        self._libraries: dict[str, LibraryFile | None] = {}
        self._views: dict[str, FileView | None] = {}

    def exists(self, path: str) -> bool:
        got = self._exists.get(path)
        if got is None:
            got = self._exists[path] = self._inner.exists(path)
        return got

    def is_executable(self, path: str) -> bool:
        got = self._executable.get(path)
        if got is None:
            got = self._executable[path] = self._inner.is_executable(path)
        return got

    def view(self, path: str) -> FileView | None:
        if path not in self._views:
            self._views[path] = self._inner.view(path)
        return self._views[path]

    def library(self, path: str) -> LibraryFile | None:
        if path in self._libraries:
            return self._libraries[path]
        got = self._libraries[path] = self._inner.library(path)
        return got


def cached_target(target: Target) -> Target:
    """``target`` with its files behind a ``CachedFiles`` (a no-op when they already are)."""
    if isinstance(target.files, CachedFiles):
        return target
    return dataclasses.replace(target, files=CachedFiles(target.files))


def _light(result: ScanResult) -> ScanResult:
    """The result as sent back from a worker: the ELF facts without the exported symbols and with only
    the versioned imports (all that ``to_dict`` and the verdicts' explanations use). Pickling every
    symbol of every library would cost more than reading them."""
    a = result.analysis
    if a is None or a.elf is None:
        return result
    # The symbols are replaced, never read here: reading them would decode them.
    light = dataclasses.replace(a, elf=dataclasses.replace(a.elf, symbols=Symbols.omitted_table()))
    return dataclasses.replace(result, analysis=light)


# ---------------------------------------------------------------------------------------------
# Walking
# ---------------------------------------------------------------------------------------------


def iter_files(root: str) -> Iterator[str]:
    """Paths (relative to ``root``) of every regular file under the directory, in sorted order, found
    lazily, without following symlinks (a symlinked directory is not entered, a symlinked file is not
    listed). Entries are visited sorted by name, a directory's name taken with its trailing "/", which
    gives exactly the order of ``sorted()`` over the full paths."""
    top = _sorted_entries(root, "")
    if top is None:
        yield ""  # the root itself cannot be listed
        return
    stack: list[Iterator[tuple[str, str, bool]]] = [iter(top)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        _key, rel, is_dir = item
        if not is_dir:
            yield rel
            continue
        entries = _sorted_entries(root, rel)
        if entries is None:
            yield rel  # a directory that cannot be listed is named, as a file that cannot be opened is
        else:
            stack.append(iter(entries))


def _sorted_entries(root: str, rel: str) -> list[tuple[str, str, bool]] | None:
    out: list[tuple[str, str, bool]] = []
    try:
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for entry in it:
                name = f"{rel}/{entry.name}" if rel else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        out.append((entry.name + "/", name, True))
                    elif entry.is_file(follow_symlinks=False):
                        out.append((entry.name, name, False))
                except OSError:
                    continue
    except OSError:
        return None  # unreadable (permission denied), longer than PATH_MAX ...
    out.sort()
    return out


def walk_files(root: str) -> list[str]:
    """``iter_files`` as a list (sorted)."""
    return list(iter_files(root))


def _image_files(tree: Any) -> list[str]:
    from linkcheck.image.tree import EntryKind

    return [p for p in tree.paths() if (e := tree.lstat(p)) is not None and e.kind is EntryKind.FILE]


# ---------------------------------------------------------------------------------------------
# Running jobs, in this process or in forked workers
# ---------------------------------------------------------------------------------------------


def _run_chunk(job: _Job, names: Sequence[str], light: bool = False) -> list[ScanResult]:
    out = []
    for name in names:
        result = job.run(name)
        if result is not None:
            out.append(_light(result) if light else result)
    return out


def _worker(job: _Job, conn: Connection, inherited: Sequence[Connection]) -> None:
    """A forked worker: runs the chunks it is sent on ``conn`` until told to stop or the parent is gone."""
    for other in inherited:
        # The parent's ends of every pipe, and the other workers' ends: held here, they would hide the
        # parent's exit (no EOF on ``conn``) and keep this process waiting forever under pid 1.
        other.close()
    # Ctrl-C reaches the whole process group: the parent decides, and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent has exited
        if task is None:
            return
        key, names = task
        reply: tuple[Any, list[ScanResult], str | None]
        try:
            reply = (key, _run_chunk(job, names, light=True), None)
        except BaseException:  # a bug: report it instead of hanging the parent
            import traceback  # here: the command's start-up does not pay for it

            reply = (key, [], traceback.format_exc(limit=5))
        try:
            conn.send(reply)
        except OSError:
            return


def _chunked(names: Iterable[str]) -> Iterator[list[str]]:
    """Chunks of at most CHUNK_FILES names and about CHUNK_BYTES of text: two tasks in flight then always
    fit in a pipe's buffer, so sending one never waits for a worker that is itself sending."""
    chunk: list[str] = []
    size = 0
    for name in names:
        chunk.append(name)
        size += len(name) + 8
        if len(chunk) == CHUNK_FILES or size >= CHUNK_BYTES:
            yield chunk
            chunk = []
            size = 0
    if chunk:
        yield chunk


def _run(job: _Job, names: Iterable[str], jobs: int, progress: Progress | None) -> Iterator[ScanResult]:
    """Results for ``names`` (already sorted), in that order. ``names`` may be a lazy walk: chunks go to
    the workers while it is still going, and ``progress``'s total grows until it ends."""
    chunks = _chunked(names)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    rest = itertools.chain([first], [second] if second else [], chunks)
    pool = None
    # Imported here, not at the top: a one-file check must not pay for multiprocessing at start-up.
    import multiprocessing

    if jobs > 1 and second is not None and "fork" in multiprocessing.get_all_start_methods():
        try:
            pool = _Pool(job, jobs)
        except OSError:
            pool = None  # no process may be started here (a sandbox's limits): this one does the work
    if pool is None:
        done = total = 0
        for chunk in rest:
            total += len(chunk)
            yield from _run_chunk(job, chunk, light=True)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return
    with pool:
        yield from pool.run(rest, progress)


_Key = tuple[int, int]  # (chunk, _WHOLE) for a whole chunk; (chunk, i) for its i-th file, run alone
_WHOLE = -1
_SPLIT = -2  # not a task: marks a chunk whose files are being run one by one


class _Pool:
    """Forked workers, each reached through its own pipe (a socket pair). No semaphore, so no /dev/shm:
    it works where that is missing or read-only, and leaves nothing behind there. At most two chunks are
    in flight per worker. A worker that dies (a signal) is replaced; the files of its chunk are run again
    one by one, and a file that kills a worker alone is one unreadable result."""

    def __init__(self, job: _Job, jobs: int) -> None:
        import multiprocessing

        self.job = job
        self.ctx = multiprocessing.get_context("fork")
        self.slots: list[tuple[Any, Connection]] = []
        self.inflight: dict[int, list[tuple[_Key, list[str]]]] = {}
        try:
            for _ in range(jobs):
                self._start(len(self.slots))
        except BaseException:
            self.close()
            raise

    def _start(self, slot: int) -> None:
        mine, theirs = self.ctx.Pipe(duplex=True)
        inherited = [c for _, c in self.slots] + [mine]
        process = self.ctx.Process(target=_worker, args=(self.job, theirs, inherited), daemon=True)
        try:
            process.start()
        finally:
            theirs.close()
        if slot == len(self.slots):
            self.slots.append((process, mine))
        else:
            self.slots[slot] = (process, mine)
        self.inflight[slot] = []

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for process, conn in self.slots:
            conn.close()  # an idle worker sees EOF and exits
            if process.is_alive():
                process.terminate()
        for process, _ in self.slots:
            process.join()
        self.slots = []

    def run(self, chunks: Iterator[list[str]], progress: Progress | None) -> Iterator[ScanResult]:
        sizes: list[int] = []
        pending: dict[int, list[ScanResult]] = {}
        alone: dict[int, dict[int, list[ScanResult]]] = {}  # chunk -> file -> results, after a death
        retry: list[tuple[_Key, list[str]]] = []
        following = done = 0
        exhausted = False
        while True:
            for slot, queued in self.inflight.items():
                while len(queued) < 2:
                    if retry:
                        task = retry.pop()
                    elif not exhausted and (chunk := next(chunks, None)) is not None:
                        sizes.append(len(chunk))
                        task = ((len(sizes) - 1, -1), chunk)
                    else:
                        exhausted = True
                        break
                    self.slots[slot][1].send(task)
                    queued.append(task)
            if not any(self.inflight.values()):
                return
            replies: list[tuple[_Key, list[ScanResult]]] = []
            by_conn = {conn: slot for slot, (_, conn) in enumerate(self.slots) if self.inflight[slot]}
            from multiprocessing.connection import wait

            for conn in wait(list(by_conn)):
                slot = by_conn[conn]  # type: ignore[index]
                try:
                    key, found, failure = self.slots[slot][1].recv()
                except (EOFError, OSError):
                    again, lost = self._died(slot)
                    retry += again
                    replies += lost
                    continue
                self.inflight[slot].pop(0)
                if failure is not None:
                    last = failure.strip().splitlines()[-1] if failure.strip() else "unknown"
                    raise LinkcheckError(f"scan worker failed: {last}")
                replies.append((key, found))
            for (index, position), found in replies:
                if position == _WHOLE:
                    pending[index] = found
                elif position == _SPLIT:
                    alone[index] = {}
                    continue
                else:
                    alone[index][position] = found
                    if len(alone[index]) < sizes[index]:
                        continue
                    files = alone.pop(index)
                    pending[index] = [r for i in sorted(files) for r in files[i]]
                done += sizes[index]
                if progress is not None:
                    progress(done, sum(sizes))
                while following in pending:
                    yield from pending.pop(following)
                    following += 1

    def _died(self, slot: int) -> tuple[list[tuple[_Key, list[str]]], list[tuple[_Key, list[ScanResult]]]]:
        """The worker in ``slot`` is gone: start another. A chunk it had is run again file by file; a file
        it had alone gets one unreadable result. Returns (tasks to send, results decided)."""
        process, conn = self.slots[slot]
        process.join()
        conn.close()
        lost = self.inflight[slot]
        self._start(slot)
        code = process.exitcode or 0
        why = signal.Signals(-code).name if code < 0 else f"exit status {code}"
        decided: list[tuple[_Key, list[ScanResult]]] = []
        (index, position), names = lost[0]  # the task it was running; the others never started
        again = list(lost[1:])
        if position == _WHOLE:
            decided.append(((index, _SPLIT), []))
            again += [((index, i), [name]) for i, name in enumerate(names)]
        else:
            shown = self.job.shown(names[0])
            error = f"{shown}: cannot read (reading it stopped the scan worker: {why})"
            decided.append(((index, position), [ScanResult(shown, None, error)]))
        return again, decided


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------


def default_jobs() -> int:
    """The CPUs this process may run on (a container's CPU set), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def scan_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    targets: Sequence[Target | str] = (),
    target: Target | str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    platform: str | None = None,
    env: Sequence[EnvVar] = (),
    install_dir: str | None = None,
) -> Generator[ScanResult, None, None]:
    """Every program, library and script in ``paths`` (one path or several: directories, image archives,
    wheels, files), each with a verdict per target; see the module's docstring. Public as
    ``linkcheck.scan_paths``.

    ``targets`` (``Target`` objects or names for ``linkcheck.load_target``; ``target`` adds one) are the
    images to judge against: with none, a directory's files get facts only and an image's files are
    judged against the image itself. ``platform`` ("linux/arm64") is the platform of targets given by
    name and picks the image from a multi-platform OCI index (default: this machine's). An input that
    cannot be read at all gives one result with ``error`` set, and the scan goes on; a target that
    cannot be loaded raises ``TargetError`` before anything is read. ``env`` (``image.target.parse_env``)
    is set in every target judged against, after an image's own config Env (as ``docker run -e``).
    ``install_dir`` is where a directory (or a file) named as input lives in the image, for messages
    and $ORIGIN (default: ``default_install_dir``)."""
    workers = jobs if jobs is not None and jobs > 0 else default_jobs()
    from linkcheck.image.target import with_env

    named = [*targets, *([target] if target is not None else [])]
    loaded = tuple(cached_target(with_env(_target_of(t, platform), env)) for t in named)
    inputs = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    for path in inputs:
        where = install_dir if install_dir is not None else default_install_dir(os.fspath(path))
        yield from _scan_one(os.fspath(path), loaded, workers, progress, platform, env,
                             absolute_install_dir(where))


def _target_of(target: Target | str, platform: str | None) -> Target:
    if isinstance(target, Target):
        return target
    from linkcheck.image.target import load_target

    return load_target(target, platform=platform)


def default_install_dir(path: str) -> str:
    """Where an input is taken to live in the image when no one says: /app, or /app/node_modules for a
    directory called node_modules (npm installs it in the app's own directory)."""
    name = os.path.basename(os.path.normpath(path))
    return "/app/node_modules" if name == "node_modules" and os.path.isdir(path) else "/app"


def absolute_install_dir(install_dir: str) -> str:
    """"app/x", "/app/../app/x/" -> "/app/x": an image path, normalised."""
    return "/" + posixpath.normpath("/" + install_dir).lstrip("/")


def _scan_one(path: str, targets: tuple[Target, ...], jobs: int, progress: Progress | None,
              platform: str | None = None, env: Sequence[EnvVar] = (), install_dir: str = "/app"
              ) -> Iterator[ScanResult]:
    from linkcheck.image.archive import is_image_archive

    try:
        st = os.stat(path)
    except OSError as exc:
        yield ScanResult(path, None, f"{path}: cannot open ({exc.strerror or exc})")
        return
    if path.endswith(".whl") and stat.S_ISREG(st.st_mode):
        yield from _scan_wheel(path, targets)
    elif is_image_archive(path):
        yield from _scan_image(path, targets, jobs, progress, platform, env)
    elif stat.S_ISDIR(st.st_mode):
        from linkcheck.facts.venv import is_venv

        if is_venv(path):
            yield _venv_result(path, targets, install_dir)
        classes = _class_dir_result(path, targets, install_dir)
        if classes is not None:
            yield classes
        job = _DirectoryJob(os.path.abspath(path) if path != os.sep else path, targets, install_dir)
        for result in _run(job, iter_files(path), jobs, progress):
            yield _reshow(result, path, job.root)
    else:
        from linkcheck.facts.reader import analyze
        from linkcheck.image.rootfs import host_dir_files

        try:
            analysis = analyze(path)
        except LinkcheckError as exc:
            yield ScanResult(path, None, exc.message)
            return
        if not targets:
            yield ScanResult(path, analysis)
        else:
            origin = host_dir_files(os.path.dirname(path) or ".", install_dir)
            yield _checked(path, analysis, targets, origin, install_dir)


def _venv_result(path: str, targets: tuple[Target, ...], install_dir: str = "/app") -> ScanResult:
    """A virtualenv as a whole: is the interpreter its bin/python links to in the image, and is it the
    image's Python (linkcheck.verdict.python)."""
    from linkcheck.facts.venv import read_venv
    from linkcheck.verdict.python import check_venv

    venv = read_venv(path)
    made = f"Python {venv.version}" if venv.version else "an unknown Python"
    described = (f"Python virtual environment ({made}; bin/python -> {venv.python_link or '?'}; made at "
                 f"{venv.location or '?'})")
    analysis = Analysis(path, FileFormat.VENV, described, 0)
    return ScanResult(path, analysis, None, tuple(check_venv(venv, t, install_dir) for t in targets))


def _class_dir_result(path: str, targets: tuple[Target, ...], install_dir: str) -> ScanResult | None:
    """A directory of loose classes as one app, `java -cp INSTALL_DIR MAIN` (linkcheck.verdict.java);
    None when no class sits at its package path under it."""
    from linkcheck.facts.java import read_class_dir

    found = read_class_dir(path)
    if found is None:
        return None
    facts, mains = found
    if mains:
        others = f"; also with main(): {', '.join(mains[1:4])}{' ...' if len(mains) > 4 else ''}" \
            if len(mains) > 1 else ""
        started = f"main class {mains[0]}{others}"
    else:
        started = "no class with main()"
    described = (f"Java class directory ({facts.classes_read} classes, Java {facts.java_release} at most; "
                 f"{started})")
    analysis = Analysis(path, FileFormat.CLASS_DIR, described, 0, java=facts)
    if not targets:
        return ScanResult(path, analysis)
    from linkcheck.image.rootfs import host_dir_files

    return _checked(path, analysis, targets, host_dir_files(path, install_dir), install_dir)


def _reshow(result: ScanResult, given: str, root: str) -> ScanResult:
    """Show paths under the directory as the user wrote it ("usr/bin/ls", not "/home/me/usr/bin/ls")."""
    if given == root or not result.path.startswith(root):
        return result
    shown = os.path.join(given, result.path[len(root) :].lstrip(os.sep))
    return dataclasses.replace(result, path=shown)


def _scan_image(path: str, targets: tuple[Target, ...], jobs: int, progress: Progress | None,
                platform: str | None = None, env: Sequence[EnvVar] = ()) -> Iterator[ScanResult]:
    from linkcheck.image.archive import open_image_tree
    from linkcheck.image.rootfs import TreeFiles
    from linkcheck.image.target import image_target, with_env

    try:
        tree = open_image_tree(path, platform)
    except LinkcheckError as exc:
        yield ScanResult(path, None, exc.message, container=path)
        return
    with tree:
        origin = CachedFiles(TreeFiles(tree))
        if not targets:
            try:
                own = with_env(image_target(tree, path, platform), env)
            except LinkcheckError as exc:
                yield ScanResult(path, None, exc.message, container=path)
                return
            targets = (dataclasses.replace(own, files=origin),)
        yield from _run(_ImageJob(path, tree, targets, origin), _image_files(tree), jobs, progress)


def _scan_wheel(path: str, targets: tuple[Target, ...]) -> Iterator[ScanResult]:
    """The wheel itself first (its tags, and the findings about the whole wheel: a pure-Python wheel is
    judged by its tags alone), then each module with its own findings and one verdict per target."""
    from linkcheck.facts.wheel import read_wheel

    try:
        reports = [read_wheel(path, target=t) for t in targets] or [read_wheel(path)]
        size = os.stat(path).st_size
    except OSError as exc:
        yield ScanResult(path, None, f"{path}: cannot read ({exc.strerror or exc})", container=path)
        return
    except LinkcheckError as exc:
        yield ScanResult(path, None, exc.message, container=path)
        return
    first = reports[0]
    findings = tuple(dict.fromkeys(f for r in reports for f in r.findings))
    name = " ".join(p for p in (first.distribution, first.version) if p)
    described = f"Python wheel{' ' + name if name else ''}, tags {', '.join(first.tags) or 'none'}"
    wheel = Analysis(path, FileFormat.WHEEL, described, size)
    yield ScanResult(path, wheel, None, (), path, None,
                     tuple(Note(f.severity, f.message) for f in findings if f.member is None))
    for i, module in enumerate(first.modules):
        same = [r.modules[i] for r in reports]
        error = next((m.error for m in same if m.error is not None), None)
        notes = tuple(Note(f.severity, f.message) for f in findings if f.member == module.member)
        yield ScanResult(f"{path}!{module.member}", module.analysis, error,
                         tuple(v for m in same for v in m.verdicts), path, module.member, notes)
