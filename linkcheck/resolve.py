"""The dynamic loader's library search, replayed inside a target, with provenance (libtree style).

Two families of loader rules are modelled, from our reading of the loaders' sources (neither source
is on this machine; the places we are unsure of are marked "Unsure").

glibc (elf/dl-load.c ``_dl_map_object``), for each DT_NEEDED of an object, in breadth-first order:

0. A name matching an object already loaded (the name it was loaded under, its DT_SONAME or its
   path; the program interpreter counts as loaded) is satisfied by that object.
1. A name containing "/" is opened as a path ($ORIGIN expanded); no search.
2. Unless the needing object has DT_RUNPATH: the DT_RPATH of the needing object, then the DT_RPATH
   of the object that loaded it, and so on up to the executable. An object that has both DT_RUNPATH
   and DT_RPATH has its DT_RPATH dropped when it is read, so it contributes nothing to the chain.
3. LD_LIBRARY_PATH: never set in a container's default environment here, so always "skipped".
4. The needing object's own DT_RUNPATH (never inherited).
5. ld.so.cache, modelled as the ld.so.conf directories in order. Under DF_1_NODEFLIB of the needing
   object, entries inside the default directories are refused (glibc compares path prefixes).
6. The default (trusted) directories, skipped entirely under DF_1_NODEFLIB.

A candidate of the wrong ELF class or machine is skipped and the search goes on, as ld.so does.

musl (ldso/dynlink.c ``load_library``):

0. "lib" + one of c, pthread, rt, m, dl, util, xnet + "." starts the name (libc.so, libc.so.6,
   libm.so.6, libpthread.so.0, libdl.so.2, libc.musl-x86_64.so.1; not libcrypt.so.1, libresolv.so.2
   or libcrypto.so.3): musl itself provides it, no file is looked at. So is a name equal to the
   interpreter path.
1. A name containing "/" is opened as a path.
2. A name equal to the name an already loaded library was searched under is that library (musl does
   not compare DT_SONAME).
3. LD_LIBRARY_PATH (unset: "skipped").
4. The rpath of the needing object, then of the object that loaded it, up to the executable: musl
   walks the whole chain, and for each object uses DT_RUNPATH if present, else DT_RPATH (RUNPATH is
   inherited too, unlike glibc). Only $ORIGIN/${ORIGIN} is expanded; any other "$" token makes musl
   ignore that object's whole path list.
5. The target's search dirs (/etc/ld-musl-ARCH.path, or the built-in /lib:/usr/local/lib:/usr/lib).

musl stops at the first file that opens: it does not skip a library of the wrong class or machine,
the load fails instead (Unsure: the exact error; we report "Exec format error").

Paths are never resolved through symlinks here: two names for one file (musl and glibc compare
device and inode) are only recognised when their searched paths are equal.
"""

from __future__ import annotations

import enum
import posixpath
from dataclasses import dataclass

from linkcheck.arch import libc_of_interpreter
from linkcheck.model import (
    ElfFacts,
    Libc,
    LibraryFile,
    LoadedLibrary,
    SearchDir,
    SearchSource,
    SearchStep,
    Target,
    TargetFiles,
)

# musl: "lib" + one of these (each with its trailing ".") is the C library itself.
MUSL_RESERVED = ("c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet.")

GLIBC_NOT_FOUND = "cannot open shared object file: No such file or directory"
MUSL_NOT_FOUND = "No such file or directory"
MUSL_BAD_FILE = "Exec format error"

FOUND = "found"
NOT_FOUND = "not found"
SKIPPED = "skipped"
WRONG_CLASS = "wrong class"
WRONG_MACHINE = "wrong machine"


class LoaderFamily(str, enum.Enum):
    GLIBC = "glibc"
    MUSL = "musl"


@dataclass(frozen=True, slots=True)
class FoundLibrary:
    loaded: LoadedLibrary
    file: LibraryFile | None  # None for musl built-ins and for files whose contents are not known
    search: tuple[SearchStep, ...]


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    name: str
    needed_by: str  # the program's in-image path, or the needing library's path
    search: tuple[SearchStep, ...]
    error: str  # the loader's reason, as it words it


@dataclass(frozen=True, slots=True)
class Resolution:
    family: LoaderFamily
    found: tuple[FoundLibrary, ...]  # breadth-first, in the order the loader maps them
    missing: tuple[MissingLibrary, ...]  # each name once, at its first need
    interpreter: LibraryFile | None = None  # the loader itself, when the target can read it
    notes: tuple[str, ...] = ()

    @property
    def loaded(self) -> tuple[LoadedLibrary, ...]:
        return tuple(f.loaded for f in self.found)

    def provider(self, name: str) -> LibraryFile | None:
        """The loaded file a Verneed entry's library name refers to (by DT_NEEDED name or soname)."""
        for f in self.found:
            if f.file is not None and name in (f.loaded.name, f.file.soname):
                return f.file
        interp = self.interpreter
        if interp is not None and name in (interp.soname, posixpath.basename(interp.path)):
            return interp
        return None


@dataclass(frozen=True, slots=True)
class _Object:
    """An object in the loader's list: the program or a library it mapped."""

    display: str  # the path the loader prints for it
    origin: str  # its directory inside the image, for $ORIGIN
    needed: tuple[str, ...]
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    nodeflib: bool
    parent: _Object | None  # the object that caused it to be loaded (glibc l_loader, musl needed_by)


@dataclass(frozen=True, slots=True)
class _Dir:
    path: str
    source: SearchSource
    reason: str


def loader_family(interpreter: str | None, target: Target) -> LoaderFamily:
    """Which loader's rules apply: musl's when the interpreter is musl's, or the image is musl
    (gcompat's glibc-named loader is musl underneath)."""
    if interpreter and posixpath.basename(interpreter).startswith("ld-musl"):
        return LoaderFamily.MUSL
    return LoaderFamily.MUSL if target.libc is Libc.MUSL else LoaderFamily.GLIBC


def is_musl_builtin(name: str) -> bool:
    """musl's rule: "lib" followed by one of c, pthread, rt, m, dl, util, xnet and a "."."""
    return name.startswith("lib") and any(name[3:].startswith(r) for r in MUSL_RESERVED)


def resolve(
    elf: ElfFacts,
    target: Target,
    *,
    origin_dir: str,
    origin_files: TargetFiles | None,
    program: str | None = None,
) -> Resolution:
    """Replay the loader's search for every library ``elf`` needs, recursively, inside ``target``.

    ``origin_dir`` is where the file is installed in the image ($ORIGIN of the program); files under
    it are looked up first in ``origin_files`` (the host directory the file came from, seen as
    mounted at ``origin_dir``: ``linkcheck.rootfs.host_dir_files``), then in the target. ``program`` is
    the program's in-image path as the loader prints it (default ``origin_dir``/a.out).
    """
    origin_dir = _norm(origin_dir)
    resolver = _Resolver(elf, target, origin_dir, origin_files)
    family = loader_family(elf.interpreter, target)
    main = _Object(
        display=program or posixpath.join(origin_dir, "a.out"),
        origin=origin_dir,
        needed=elf.needed,
        rpath=elf.rpath,
        runpath=elf.runpath,
        nodeflib=elf.nodeflib,
        parent=None,
    )
    # A shared library (no PT_INTERP) is judged as loaded by a program there: the image's loader.
    loader = elf.interpreter or _image_loader(target, family)
    interp = target.files.library(loader) if loader else None
    if family is LoaderFamily.MUSL:
        return resolver.run_musl(main, loader, interp)
    return resolver.run_glibc(main, loader, interp)


def _image_loader(target: Target, family: LoaderFamily) -> str | None:
    want = Libc.MUSL if family is LoaderFamily.MUSL else Libc.GLIBC
    for path in target.loaders:
        if libc_of_interpreter(path) is want:
            return path
    return target.loaders[0] if target.loaders else None


class _Resolver:
    """One resolution's context. Its state lives only for one call of ``resolve``."""

    def __init__(
        self, elf: ElfFacts, target: Target, origin_dir: str, origin_files: TargetFiles | None
    ) -> None:
        self.elf = elf
        self.target = target
        self.origin_dir = origin_dir
        self.origin_files = origin_files

    # -- glibc -------------------------------------------------------------------------------

    def run_glibc(self, main: _Object, loader: str | None, interp: LibraryFile | None) -> Resolution:
        # Every name each loaded object answers to (glibc's l_name, l_libname list and DT_SONAME).
        names: list[set[str]] = []
        if self.elf.soname:
            names.append({self.elf.soname})
        if loader:
            rtld = {loader, posixpath.basename(loader)}
            if interp is not None and interp.soname:
                rtld.add(interp.soname)
            names.append(rtld)
        found: list[FoundLibrary] = []
        paths: dict[str, int] = {}  # found path -> index in names, to load one file once
        missing: dict[str, MissingLibrary] = {}
        queue = [main]
        while queue:
            obj = queue.pop(0)
            for name in obj.needed:
                if any(name in n for n in names) or name in missing:
                    continue
                steps, hit = self._glibc_search(name, obj)
                if hit is None:
                    missing[name] = MissingLibrary(name, obj.display, steps, GLIBC_NOT_FOUND)
                    continue
                path, file, source = hit
                if path in paths:  # the same file under another name: glibc's file-id match
                    names[paths[path]].add(name)
                    continue
                known = {name, path} | ({file.soname} if file and file.soname else set())
                paths[path] = len(names)
                names.append(known)
                found.append(FoundLibrary(LoadedLibrary(name, path, source, obj.display), file, steps))
                if file is not None:
                    queue.append(self._child(path, file, obj))
        return Resolution(LoaderFamily.GLIBC, tuple(found), tuple(missing.values()), interp,
                          self._unknown_notes(found))

    def _glibc_search(self, name: str, obj: _Object) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        if "/" in name:
            return self._direct(name, obj, musl=False)
        dirs: list[_Dir] = []
        skipped: list[SearchStep] = []
        if obj.runpath:
            if any(o.rpath for o in _chain(obj)):
                skipped.append(SearchStep("DT_RPATH", SearchSource.RPATH, SKIPPED,
                                          f"{obj.display} has DT_RUNPATH, so no DT_RPATH is used"))
        else:
            for o in _chain(obj):
                whose = "" if o is obj else " (inherited)"
                if o.runpath and o.rpath:
                    skipped.append(SearchStep("DT_RPATH", SearchSource.RPATH, SKIPPED,
                                              f"{o.display} also has DT_RUNPATH, so its DT_RPATH is ignored"))
                    continue
                dirs += self._path_list(o.rpath, o, SearchSource.RPATH, f"DT_RPATH of {o.display}{whose}")
        steps = list(skipped)
        hit = self._try_dirs(name, dirs, steps, skip_wrong=True)
        if hit is not None:
            return tuple(steps), hit
        steps.append(_ld_library_path_step())
        later = self._path_list(obj.runpath, obj, SearchSource.RUNPATH, f"DT_RUNPATH of {obj.display}")
        hit = self._try_dirs(name, later, steps, skip_wrong=True)
        if hit is not None:
            return tuple(steps), hit
        defaults = [d.path for d in self.target.search_dirs if _dir_source(d) is SearchSource.DEFAULT]
        for d in self.target.search_dirs:
            source = _dir_source(d)
            if obj.nodeflib and (source is SearchSource.DEFAULT or _under_any(d.path, defaults)):
                steps.append(SearchStep(d.path, source, SKIPPED,
                                        f"{obj.display} has DF_1_NODEFLIB: default directories are not used"))
                continue
            hit = self._try(name, _Dir(d.path, source, d.source), steps, skip_wrong=True)
            if hit is not None:
                return tuple(steps), hit
        return tuple(steps), None

    # -- musl --------------------------------------------------------------------------------

    def run_musl(self, main: _Object, loader: str | None, interp: LibraryFile | None) -> Resolution:
        by_short: dict[str, str] = {}  # the name a library was searched under -> its path
        paths: set[str] = set()
        builtins: set[str] = set()
        found: list[FoundLibrary] = []
        missing: dict[str, MissingLibrary] = {}
        queue = [main]
        while queue:
            obj = queue.pop(0)
            for name in obj.needed:
                if is_musl_builtin(name) or name == loader:
                    if name not in builtins:
                        builtins.add(name)
                        step = SearchStep(loader or "musl", SearchSource.MUSL_BUILTIN, FOUND,
                                          "musl's loader is libc, libpthread, librt, libm, libdl, libutil "
                                          "and libxnet itself")
                        found.append(FoundLibrary(
                            LoadedLibrary(name, None, SearchSource.MUSL_BUILTIN, obj.display), None, (step,)))
                    continue
                if name in missing or ("/" not in name and name in by_short):
                    continue
                steps, hit, error = self._musl_search(name, obj)
                if hit is None:
                    missing[name] = MissingLibrary(name, obj.display, steps, error)
                    continue
                path, file, source = hit
                if "/" not in name:
                    by_short[name] = path
                if path in paths:  # the same file again: musl's device and inode match
                    continue
                paths.add(path)
                found.append(FoundLibrary(LoadedLibrary(name, path, source, obj.display), file, steps))
                if file is not None:
                    queue.append(self._child(path, file, obj))
        return Resolution(LoaderFamily.MUSL, tuple(found), tuple(missing.values()), interp,
                          self._unknown_notes(found))

    def _musl_search(
        self, name: str, obj: _Object
    ) -> tuple[tuple[SearchStep, ...], _Hit | None, str]:
        if "/" in name:
            direct, hit = self._direct(name, obj, musl=True)
            return direct, hit, _musl_error(direct)
        steps: list[SearchStep] = [_ld_library_path_step()]
        dirs: list[_Dir] = []
        for o in _chain(obj):
            own = o.runpath or o.rpath
            tag = "DT_RUNPATH" if o.runpath else "DT_RPATH"
            source = SearchSource.RUNPATH if o.runpath else SearchSource.RPATH
            whose = "" if o is obj else " (inherited)"
            if any(_has_other_token(entry) for entry in own):
                why = f"{tag} of {o.display} uses a $ token other than $ORIGIN: musl ignores it"
                steps.append(SearchStep(tag, source, SKIPPED, why))
                continue
            dirs += self._path_list(own, o, source, f"{tag} of {o.display}{whose}", musl=True)
        dirs += [_Dir(d.path, _dir_source(d), d.source) for d in self.target.search_dirs]
        hit = self._try_dirs(name, dirs, steps, skip_wrong=False)
        return tuple(steps), hit, _musl_error(tuple(steps))

    # -- shared ------------------------------------------------------------------------------

    def _direct(self, name: str, obj: _Object, *, musl: bool) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        expanded = self._expand(name, obj, musl=musl) or name
        path = _norm(expanded)  # Unsure: a relative name is relative to the working directory; "/" assumed
        steps: list[SearchStep] = []
        d = _Dir(posixpath.dirname(path), SearchSource.DIRECT, "a DT_NEEDED with \"/\" is opened as a path")
        hit = self._try(posixpath.basename(path), d, steps, skip_wrong=False)
        return tuple(steps), hit

    def _try_dirs(
        self, name: str, dirs: list[_Dir], steps: list[SearchStep], *, skip_wrong: bool
    ) -> _Hit | None:
        for d in dirs:
            hit = self._try(name, d, steps, skip_wrong=skip_wrong)
            if hit is not None:
                return hit
            if steps and steps[-1].result in (WRONG_CLASS, WRONG_MACHINE) and not skip_wrong:
                return None  # musl: the first file that opens is used, right or wrong
        return None

    def _try(self, name: str, d: _Dir, steps: list[SearchStep], *, skip_wrong: bool) -> _Hit | None:
        path = posixpath.join(d.path, name)
        exists, file = self._lookup(path)
        if not exists:
            steps.append(SearchStep(d.path, d.source, NOT_FOUND, d.reason))
            return None
        if file is not None and file.elf_class != self.elf.elf_class:
            why = _wrong(d.reason, f"{file.elf_class}-bit", skip_wrong)
            steps.append(SearchStep(d.path, d.source, WRONG_CLASS, why))
            return None
        if file is not None and file.machine != self.elf.machine:
            why = _wrong(d.reason, file.machine, skip_wrong)
            steps.append(SearchStep(d.path, d.source, WRONG_MACHINE, why))
            return None
        steps.append(SearchStep(d.path, d.source, FOUND, d.reason))
        return path, file, d.source

    def _lookup(self, path: str) -> tuple[bool, LibraryFile | None]:
        """Whether ``path`` exists in the image and the library there: files beside the program
        (``origin_files``) first, since they are copied with it, then the target."""
        beside = self.origin_files
        if beside is not None and _under(path, self.origin_dir) and beside.exists(path):
            return True, beside.library(path)
        files = self.target.files
        return files.exists(path), files.library(path)

    def _path_list(
        self, entries: tuple[str, ...], obj: _Object, source: SearchSource, why: str, musl: bool = False
    ) -> list[_Dir]:
        out: list[_Dir] = []
        for entry in entries:
            expanded = self._expand(entry, obj, musl=musl)
            if expanded is None:
                continue
            # Unsure: a relative entry (or glibc's empty one, meaning ".") is relative to the
            # process's working directory, which we take to be "/".
            path = _norm(expanded or ".")
            if "ORIGIN" in entry:
                out.append(_Dir(path, SearchSource.ORIGIN, f"{why}: {entry}"))
            else:
                out.append(_Dir(path, source, why))
        return out

    def _expand(self, entry: str, obj: _Object, *, musl: bool) -> str | None:
        """Dynamic string tokens. $ORIGIN: the object's directory in the image. glibc only: $LIB is
        the multiarch directory when the target has one (Debian: lib/x86_64-linux-gnu), else
        lib64/lib by class; $PLATFORM is the machine name (AT_PLATFORM). An empty musl entry is
        skipped (musl's path_open skips empty elements)."""
        if musl and not entry:
            return None
        out = entry.replace("${ORIGIN}", obj.origin).replace("$ORIGIN", obj.origin)
        if musl:
            return out
        lib = self._lib_token()
        out = out.replace("${LIB}", lib).replace("$LIB", lib)
        return out.replace("${PLATFORM}", self.elf.machine).replace("$PLATFORM", self.elf.machine)

    def _lib_token(self) -> str:
        for d in self.target.search_dirs:
            parts = d.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "lib" and "-linux-" in parts[1]:
                return d.path.strip("/")
        return "lib64" if self.elf.elf_class == 64 else "lib"

    def _child(self, path: str, file: LibraryFile, parent: _Object) -> _Object:
        return _Object(
            display=path,
            origin=posixpath.dirname(path),
            needed=file.needed,
            rpath=file.rpath,
            runpath=file.runpath,
            nodeflib=False,  # Unsure: LibraryFile does not record DF_1_NODEFLIB; taken as unset
            parent=parent,
        )

    @staticmethod
    def _unknown_notes(found: list[FoundLibrary]) -> tuple[str, ...]:
        return tuple(
            f"{f.loaded.path} exists in the image but could not be read as a library: "
            "its own dependencies are not checked"
            for f in found
            if f.file is None and f.loaded.path is not None
        )


_Hit = tuple[str, LibraryFile | None, SearchSource]


def _chain(obj: _Object) -> list[_Object]:
    """The object, the object that loaded it, and so on up to the program."""
    out: list[_Object] = []
    o: _Object | None = obj
    while o is not None:
        out.append(o)
        o = o.parent
    return out


def _ld_library_path_step() -> SearchStep:
    return SearchStep("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, SKIPPED, "not set")


def _dir_source(d: SearchDir) -> SearchSource:
    """ld.so.conf / ld-musl-ARCH.path directories versus the loader's built-in defaults."""
    text = d.source.lower()
    if text.startswith(("ld.so.conf", "ld.so.cache", "musl path file")) or text.endswith(".path)"):
        return SearchSource.LD_SO_CONF
    return SearchSource.DEFAULT


def _norm(path: str) -> str:
    """An absolute, normalised path; relative ones are taken from "/" (normpath keeps a leading "//")."""
    out = posixpath.normpath(posixpath.join("/", path))
    return "/" + out.lstrip("/")


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _under_any(path: str, directories: list[str]) -> bool:
    return any(_under(path, d) for d in directories)


def _has_other_token(entry: str) -> bool:
    rest = entry.replace("${ORIGIN}", "").replace("$ORIGIN", "")
    return "$" in rest


def _wrong(reason: str, what: str, skip_wrong: bool) -> str:
    tail = "skipped, the search goes on" if skip_wrong else "musl does not skip it: the load fails"
    return f"{reason}; a {what} file: {tail}" if reason else f"a {what} file: {tail}"


def _musl_error(steps: tuple[SearchStep, ...]) -> str:
    if steps and steps[-1].result in (WRONG_CLASS, WRONG_MACHINE):
        return MUSL_BAD_FILE
    return MUSL_NOT_FOUND
