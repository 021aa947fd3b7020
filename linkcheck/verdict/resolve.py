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

from linkcheck.facts.arch import libc_of_interpreter
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
MUSL_BAD_RELOCATION = "unsupported relocation type"

FOUND = "found"
NOT_FOUND = "not found"
SKIPPED = "skipped"
WRONG_CLASS = "wrong class"
WRONG_MACHINE = "wrong machine"
NOT_LIBRARY = "not a shared library"


class LoaderFamily(str, enum.Enum):
    GLIBC = "glibc"
    MUSL = "musl"


@dataclass(frozen=True, slots=True)
class FoundLibrary:
    loaded: LoadedLibrary
    file: LibraryFile | None  # None for musl built-ins: no file is looked at
    search: tuple[SearchStep, ...]


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    name: str
    needed_by: str  # the program's in-image path, or the needing library's path
    search: tuple[SearchStep, ...]
    error: str  # the loader's reason, as it words it
    shown: str = ""  # what the loader's message names, when not ``name`` (a path)


@dataclass(frozen=True, slots=True)
class Resolution:
    family: LoaderFamily
    found: tuple[FoundLibrary, ...]  # breadth-first, in the order the loader maps them
    missing: tuple[MissingLibrary, ...]  # each name once, at its first need
    interpreter: LibraryFile | None = None  # the loader itself, when the target can read it

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
    mounted at ``origin_dir``: ``linkcheck.image.rootfs.host_dir_files``), then in the target. ``program`` is
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
                    shown, error = self._glibc_error(name, steps)
                    missing[name] = MissingLibrary(name, obj.display, steps, error, shown)
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
        return Resolution(LoaderFamily.GLIBC, tuple(found), tuple(missing.values()), interp)

    def _glibc_search(self, name: str, obj: _Object) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        if "/" in name:
            return self._direct(name, obj, musl=False)
        plan: list[_Dir | SearchStep] = []
        if obj.runpath:
            if any(o.rpath for o in _chain(obj)):
                plan.append(SearchStep("DT_RPATH", SearchSource.RPATH, SKIPPED,
                                       f"{obj.display} has DT_RUNPATH, so no DT_RPATH is used"))
        else:
            for o in _chain(obj):
                whose = "" if o is obj else " (inherited)"
                if o.runpath and o.rpath:
                    plan.append(SearchStep("DT_RPATH", SearchSource.RPATH, SKIPPED,
                                           f"{o.display} also has DT_RUNPATH, so its DT_RPATH is ignored"))
                    continue
                plan += self._path_list(o.rpath, o, SearchSource.RPATH, f"DT_RPATH of {o.display}{whose}")
        plan.append(_ld_library_path_step())
        plan += self._path_list(obj.runpath, obj, SearchSource.RUNPATH, f"DT_RUNPATH of {obj.display}")
        defaults = [d.path for d in self.target.search_dirs if _dir_source(d) is SearchSource.DEFAULT]
        for d in self.target.search_dirs:
            source = _dir_source(d)
            if obj.nodeflib and (source is SearchSource.DEFAULT or _under_any(d.path, defaults)):
                plan.append(SearchStep(d.path, source, SKIPPED,
                                       f"{obj.display} has DF_1_NODEFLIB: default directories are not used"))
            else:
                plan.append(_Dir(d.path, source, d.source))
        return self._walk(name, plan, musl=False)

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
                steps, hit = self._musl_search(name, obj)
                if hit is None:
                    shown, error = _musl_error(name, steps)
                    missing[name] = MissingLibrary(name, obj.display, steps, error, shown)
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
        return Resolution(LoaderFamily.MUSL, tuple(found), tuple(missing.values()), interp)

    def _musl_search(self, name: str, obj: _Object) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        if "/" in name:
            return self._direct(name, obj, musl=True)
        plan: list[_Dir | SearchStep] = [_ld_library_path_step()]
        for o in _chain(obj):
            own = o.runpath or o.rpath
            tag = "DT_RUNPATH" if o.runpath else "DT_RPATH"
            source = SearchSource.RUNPATH if o.runpath else SearchSource.RPATH
            whose = "" if o is obj else " (inherited)"
            if any(_has_other_token(entry) for entry in own):
                why = f"{tag} of {o.display} uses a $ token other than $ORIGIN: musl ignores it"
                plan.append(SearchStep(tag, source, SKIPPED, why))
                continue
            plan += self._path_list(own, o, source, f"{tag} of {o.display}{whose}", musl=True)
        plan += [_Dir(d.path, _dir_source(d), d.source) for d in self.target.search_dirs]
        return self._walk(name, plan, musl=True)

    # -- shared ------------------------------------------------------------------------------

    def _direct(self, name: str, obj: _Object, *, musl: bool) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        expanded = self._expand(name, obj, musl=musl) or name
        path = _norm(expanded)  # Unsure: a relative name is relative to the working directory; "/" assumed
        d = _Dir(posixpath.dirname(path), SearchSource.DIRECT, "a DT_NEEDED with \"/\" is opened as a path")
        return self._walk(posixpath.basename(path), [d], musl=musl)

    def _walk(
        self, name: str, plan: list[_Dir | SearchStep], *, musl: bool
    ) -> tuple[tuple[SearchStep, ...], _Hit | None]:
        """Try the planned directories in order; pre-made steps (skipped ones) are kept in place.
        glibc goes on past a file of the wrong class or machine; a file that is not a loadable
        shared object stops either loader, and musl stops at any file that opens."""
        stops = (NOT_LIBRARY, WRONG_CLASS, WRONG_MACHINE) if musl else (NOT_LIBRARY,)
        steps: list[SearchStep] = []
        for item in plan:
            if isinstance(item, SearchStep):
                steps.append(item)
                continue
            hit = self._try(name, item, steps, musl=musl)
            if hit is not None:
                return tuple(steps), hit
            if steps[-1].result in stops:
                break
        return tuple(steps), None

    def _try(self, name: str, d: _Dir, steps: list[SearchStep], *, musl: bool) -> _Hit | None:
        path = posixpath.join(d.path, name)
        exists, file = self._lookup(path)
        if not exists:
            steps.append(SearchStep(d.path, d.source, NOT_FOUND, d.reason))
            return None
        if file is None:
            why = _also(d.reason, "not a loadable shared object (not ELF, too short, or an executable): "
                                  "the loader stops with an error")
            steps.append(SearchStep(d.path, d.source, NOT_LIBRARY, why))
            return None
        tail = "musl does not skip it: the load fails" if musl else "skipped, the search goes on"
        if file.elf_class != self.elf.elf_class:
            steps.append(SearchStep(d.path, d.source, WRONG_CLASS, _also(d.reason, f"a {file.elf_class}-bit "
                                                                                  f"file: {tail}")))
            return None
        if file.machine != self.elf.machine:
            steps.append(SearchStep(d.path, d.source, WRONG_MACHINE, _also(d.reason, f"a {file.machine} "
                                                                                    f"file: {tail}")))
            return None
        steps.append(SearchStep(d.path, d.source, FOUND, d.reason))
        return path, file, d.source

    def _lookup(self, path: str) -> tuple[bool, LibraryFile | None]:
        """Whether ``path`` exists in the image and the library there: files copied with the program
        (``origin_files``: its own directory, or the whole tree being scanned, which answers only for
        paths under where it is mounted) first, then the target."""
        beside = self.origin_files
        if beside is not None and beside.exists(path):
            return True, beside.library(path)
        files = self.target.files
        return files.exists(path), files.library(path)

    def _glibc_error(self, name: str, steps: tuple[SearchStep, ...]) -> tuple[str, str]:
        """(what glibc's message names, its error) for a library not loaded."""
        if steps and steps[-1].result == NOT_LIBRARY:
            # Unsure of the wording: "invalid ELF header", "file too short" and "cannot dynamically
            # load executable" are all possible; which one depends on bytes not recorded here.
            return posixpath.join(steps[-1].directory, posixpath.basename(name)), "invalid ELF header"
        if any(s.result == WRONG_CLASS for s in steps):
            other = 32 if self.elf.elf_class == 64 else 64
            return name, f"wrong ELF class: ELFCLASS{other}"
        return name, GLIBC_NOT_FOUND

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


def _also(reason: str, more: str) -> str:
    return f"{reason}; {more}" if reason else more


def _musl_error(name: str, steps: tuple[SearchStep, ...]) -> tuple[str, str]:
    """(what musl's message names, its error). A file of another machine but the same class is
    mapped, and fails at relocation ("Error relocating PATH: unsupported relocation type N")."""
    last = steps[-1].result if steps else ""
    if last == WRONG_MACHINE:
        return posixpath.join(steps[-1].directory, posixpath.basename(name)), MUSL_BAD_RELOCATION
    if last in (NOT_LIBRARY, WRONG_CLASS):
        return name, MUSL_BAD_FILE
    return name, MUSL_NOT_FOUND
