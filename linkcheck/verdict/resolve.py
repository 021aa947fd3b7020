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
3. LD_LIBRARY_PATH (unset: "skipped").
4. The needing object's own DT_RUNPATH (never inherited).
5. ld.so.cache, modelled as the ld.so.conf directories in order. Under DF_1_NODEFLIB of the needing
   object, entries inside the default directories are refused (glibc compares path prefixes).
6. The default (trusted) directories, skipped entirely under DF_1_NODEFLIB.

A candidate of the wrong ELF class or machine is skipped and the search goes on, as ld.so does.

glibc >= 2.33 (elf/dl-hwcaps.c) tries DIR/glibc-hwcaps/LEVEL/ before each DIR, for the levels the CPU
supports, highest first (x86-64-v4, -v3, -v2; power10, power9; z15, z14, z13). An image does not say
which CPU it will run on, so every level present is tried, highest first, and a library found there
records its level and the file a CPU without it loads instead (or that there is none): the verdict then
says which CPUs it runs on. Only the target's own search directories are looked into for such
subdirectories (``Target.hwcaps_dirs``, read once per target), not RPATH, RUNPATH or LD_LIBRARY_PATH ones.

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

One search driver (``_Search``) runs both; the rules of each family are a ``_Rules`` implementation
(``_GlibcRules``, ``_MuslRules``): which names the loader satisfies itself, the directories to try in
order, which candidates end the search, and the error when nothing loads.

Paths are never resolved through symlinks here: two names for one file (musl and glibc compare
device and inode) are only recognised when their searched paths are equal.
"""

from __future__ import annotations

import enum
import posixpath
from dataclasses import dataclass
from typing import Protocol

from linkcheck.facts.arch import libc_of_interpreter
from linkcheck.model import (
    ElfFacts,
    EnvVar,
    Libc,
    LibraryFile,
    LoadedLibrary,
    SearchSource,
    SearchStep,
    StepResult,
    Target,
    TargetFiles,
)

# musl: "lib" + one of these (each with its trailing ".") is the C library itself.
MUSL_RESERVED = ("c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet.")
# Missing libraries searched for at most; the names needed after that are listed as not searched.
# glibc's loader stops at the first missing library and musl's lists each one: a real program misses
# a few, and a file naming 100,000 (issue 12.5) must not cost a search (and a fix) for each.
MAX_MISSING_SEARCHED = 256


class LoaderFamily(str, enum.Enum):
    GLIBC = "glibc"
    MUSL = "musl"


class LoadError(enum.Enum):
    """Why a library was not loaded (``explain`` words it as each loader prints it)."""

    NOT_FOUND = enum.auto()  # no candidate anywhere
    WRONG_CLASS = enum.auto()  # glibc: only candidates of the other ELF class
    NOT_LIBRARY = enum.auto()  # glibc: a file that is not a loadable shared object stopped the search
    BAD_FILE = enum.auto()  # musl: the first file that opened is not one it can map
    BAD_RELOCATION = enum.auto()  # musl: another machine's library, mapped, fails at relocation


@dataclass(frozen=True, slots=True)
class FoundLibrary:
    loaded: LoadedLibrary
    file: LibraryFile | None  # None for musl built-ins: no file is looked at
    search: tuple[SearchStep, ...]
    # Found in a glibc-hwcaps subdirectory: the CPU level it needs ("x86-64-v3"), and the file a CPU
    # without it loads instead (None: no other copy, the library is missing there).
    cpu_level: str | None = None
    baseline: str | None = None


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    name: str
    needed_by: str  # the program's in-image path, or the needing library's path
    search: tuple[SearchStep, ...]
    error: LoadError
    shown: str = ""  # what the loader's message names, when not ``name`` (a path)


@dataclass(frozen=True, slots=True)
class Resolution:
    family: LoaderFamily
    found: tuple[FoundLibrary, ...]  # breadth-first, in the order the loader maps them
    missing: tuple[MissingLibrary, ...]  # each name once, at its first need
    interpreter: LibraryFile | None = None  # the loader itself, when the target can read it
    # LD_PRELOAD names not found: both loaders go on without them (glibc says so on stderr).
    preload_missing: tuple[MissingLibrary, ...] = ()
    # Names needed after MAX_MISSING_SEARCHED libraries were missing: not searched for.
    unsearched: tuple[str, ...] = ()

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
    level: str = ""  # a glibc-hwcaps subdirectory's CPU level: searched only on CPUs that support it


_STOPS = "not a loadable shared object (not ELF, too short, or an executable): the loader stops with an error"
_Plan = list["_Dir | SearchStep"]  # directories to try, with pre-made (skipped) steps in place
_Hit = tuple[str, "LibraryFile | None", SearchSource, str]  # path, file, source, CPU level ("" none)


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
    rules: _Rules = (_MuslRules(elf, target, loader) if family is LoaderFamily.MUSL
                     else _GlibcRules(elf, target, loader, interp))
    return _Search(elf, target, origin_files, rules).run(main, interp)


def _image_loader(target: Target, family: LoaderFamily) -> str | None:
    want = Libc.MUSL if family is LoaderFamily.MUSL else Libc.GLIBC
    for path in target.loaders:
        if libc_of_interpreter(path) is want:
            return path
    return target.loaders[0] if target.loaders else None


# --------------------------------------------------------------------------------------------
# The rules of one loader family
# --------------------------------------------------------------------------------------------


class _Rules(Protocol):
    family: LoaderFamily
    wrong_file: str  # what happens at a candidate of the wrong class or machine, for the replay

    def stops_at(self, step: SearchStep) -> bool:
        """Whether a candidate that is not loaded ends the search (the load fails there)."""
        ...

    def not_library(self, d: _Dir) -> str:
        """What a file that is no loadable shared object in ``d`` does to the search, for the replay."""
        ...

    def known_at_start(self) -> list[set[str]]:
        """The names objects loaded before any search answer to, one set per object."""
        ...

    def builtin(self, name: str) -> SearchStep | None:
        """The step by which the loader satisfies ``name`` itself, without a file."""
        ...

    def aliases(self, name: str, path: str, file: LibraryFile | None) -> set[str]:
        """The names a library loaded as ``name`` from ``path`` answers to for later needs."""
        ...

    def plan(self, obj: _Object, search: _Search) -> _Plan:
        """The directories to try for a name without "/", in order."""
        ...

    def expand(self, entry: str, obj: _Object) -> str | None:
        """A path entry with its dynamic string tokens replaced; None to ignore it."""
        ...

    def error(self, name: str, steps: tuple[SearchStep, ...]) -> tuple[str, LoadError]:
        """(what the loader's message names, why) for a library not loaded."""
        ...


class _GlibcRules:
    family = LoaderFamily.GLIBC
    wrong_file = "skipped, the search goes on"

    def stops_at(self, step: SearchStep) -> bool:
        # ld.so.conf directories stand for ld.so.cache, which ldconfig writes with loadable libraries
        # only: a file that is none is not in it, and the search goes on.
        return step.result is StepResult.NOT_LIBRARY and step.source is not SearchSource.LD_SO_CONF

    def not_library(self, d: _Dir) -> str:
        if d.source is SearchSource.LD_SO_CONF:
            return ("not a loadable shared object, so ld.so.cache (ldconfig lists only those) does not name "
                    "it: the search goes on")
        return _STOPS

    def __init__(self, elf: ElfFacts, target: Target, loader: str | None, interp: LibraryFile | None) -> None:
        self.elf = elf
        self.target = target
        self.loader = loader
        self.interp = interp
        self._lib = _lib_token(elf, target)
        self._hwcaps: dict[str, list[str]] = {}  # DIR -> its glibc-hwcaps subdirectories, by priority
        for sub in target.hwcaps_dirs:
            self._hwcaps.setdefault(posixpath.dirname(posixpath.dirname(sub)), []).append(sub)

    def known_at_start(self) -> list[set[str]]:
        # Every name each loaded object answers to (glibc's l_name, l_libname list and DT_SONAME):
        # the program's soname, and the loader (which glibc counts as loaded).
        names: list[set[str]] = []
        if self.elf.soname:
            names.append({self.elf.soname})
        if self.loader:
            rtld = {self.loader, posixpath.basename(self.loader)}
            if self.interp is not None and self.interp.soname:
                rtld.add(self.interp.soname)
            names.append(rtld)
        return names

    def builtin(self, name: str) -> SearchStep | None:  # noqa: ARG002 (glibc's loader provides no names)
        return None

    def aliases(self, name: str, path: str, file: LibraryFile | None) -> set[str]:
        return {name, path} | ({file.soname} if file is not None and file.soname else set())

    def plan(self, obj: _Object, search: _Search) -> _Plan:
        plan: _Plan = []
        if obj.runpath:
            if any(o.rpath for o in _chain(obj)):
                plan.append(SearchStep("DT_RPATH", SearchSource.RPATH, StepResult.SKIPPED,
                                       f"{obj.display} has DT_RUNPATH, so no DT_RPATH is used"))
        else:
            for o in _chain(obj):
                whose = "" if o is obj else " (inherited)"
                if o.runpath and o.rpath:
                    plan.append(SearchStep("DT_RPATH", SearchSource.RPATH, StepResult.SKIPPED,
                                           f"{o.display} also has DT_RUNPATH, so its DT_RPATH is ignored"))
                    continue
                plan += search.path_list(o.rpath, o, SearchSource.RPATH, f"DT_RPATH of {o.display}{whose}")
        plan += self._ld_library_path(obj, search)
        plan += search.path_list(obj.runpath, obj, SearchSource.RUNPATH, f"DT_RUNPATH of {obj.display}")
        defaults = [d.path for d in self.target.search_dirs if d.kind is SearchSource.DEFAULT]
        for d in self.target.search_dirs:
            if obj.nodeflib and (d.kind is SearchSource.DEFAULT or _under_any(d.path, defaults)):
                plan.append(SearchStep(d.path, d.kind, StepResult.SKIPPED,
                                       f"{obj.display} has DF_1_NODEFLIB: default directories are not used"))
            else:
                plan.append(_Dir(d.path, d.kind, d.source))
        return self._with_hwcaps(plan) if self._hwcaps else plan

    def _with_hwcaps(self, plan: _Plan) -> _Plan:
        """glibc >= 2.33 tries DIR/glibc-hwcaps/LEVEL/ before each DIR, for the levels the CPU supports
        (which an image does not tell): every existing one is tried, highest first."""
        out: _Plan = []
        for item in plan:
            if isinstance(item, _Dir):
                for sub in self._hwcaps.get(item.path, ()):
                    level = posixpath.basename(sub)
                    why = f"glibc-hwcaps subdirectory, searched before {item.path} on CPUs supporting {level}"
                    out.append(_Dir(sub, item.source, _also(item.reason, why), level))
            out.append(item)
        return out

    def _ld_library_path(self, obj: _Object, search: _Search) -> _Plan:
        """glibc splits LD_LIBRARY_PATH on ":" and ";" (an empty entry is the working directory) and
        expands its tokens as the program's own ($ORIGIN: the program's directory); an empty
        variable counts as unset."""
        var = self.target.getenv("LD_LIBRARY_PATH")
        if var is None or not var.value:
            return [_ld_library_path_step(var)]
        entries = tuple(var.value.replace(";", ":").split(":"))
        why = f"LD_LIBRARY_PATH ({var.origin})"
        return [*search.path_list(entries, _chain(obj)[-1], SearchSource.LD_LIBRARY_PATH, why)]

    def expand(self, entry: str, obj: _Object) -> str | None:
        """$ORIGIN: the object's directory in the image; $LIB: the multiarch directory when the
        target has one (Debian: lib/x86_64-linux-gnu), else lib64/lib by class; $PLATFORM: the
        machine name (AT_PLATFORM)."""
        out = entry.replace("${ORIGIN}", obj.origin).replace("$ORIGIN", obj.origin)
        out = out.replace("${LIB}", self._lib).replace("$LIB", self._lib)
        return out.replace("${PLATFORM}", self.elf.machine).replace("$PLATFORM", self.elf.machine)

    def error(self, name: str, steps: tuple[SearchStep, ...]) -> tuple[str, LoadError]:
        if steps and self.stops_at(steps[-1]):
            return posixpath.join(steps[-1].directory, posixpath.basename(name)), LoadError.NOT_LIBRARY
        if any(s.result is StepResult.WRONG_CLASS for s in steps):
            return name, LoadError.WRONG_CLASS
        return name, LoadError.NOT_FOUND


class _MuslRules:
    family = LoaderFamily.MUSL
    wrong_file = "musl does not skip it: the load fails"

    def stops_at(self, step: SearchStep) -> bool:
        return step.result in (StepResult.NOT_LIBRARY, StepResult.WRONG_CLASS, StepResult.WRONG_MACHINE)

    def not_library(self, d: _Dir) -> str:  # noqa: ARG002 (musl opens the first file whatever the dir)
        return _STOPS

    def __init__(self, elf: ElfFacts, target: Target, loader: str | None) -> None:
        self.elf = elf
        self.target = target
        self.loader = loader

    def known_at_start(self) -> list[set[str]]:
        return []  # musl compares no soname; the program's own name is never searched for

    def builtin(self, name: str) -> SearchStep | None:
        if is_musl_builtin(name) or name == self.loader:
            return SearchStep(self.loader or "musl", SearchSource.MUSL_BUILTIN, StepResult.FOUND,
                              "musl's loader is libc, libpthread, librt, libm, libdl, libutil and libxnet "
                              "itself")
        return None

    def aliases(self, name: str, path: str, file: LibraryFile | None) -> set[str]:  # noqa: ARG002
        # musl matches a later need by the name a library was searched under, not by DT_SONAME; a
        # name with "/" is opened again, and only then recognised as the same file.
        return set() if "/" in name else {name}

    def plan(self, obj: _Object, search: _Search) -> _Plan:
        plan = self._ld_library_path()
        for o in _chain(obj):
            own = o.runpath or o.rpath
            tag = "DT_RUNPATH" if o.runpath else "DT_RPATH"
            source = SearchSource.RUNPATH if o.runpath else SearchSource.RPATH
            whose = "" if o is obj else " (inherited)"
            if any(_has_other_token(entry) for entry in own):
                why = f"{tag} of {o.display} uses a $ token other than $ORIGIN: musl ignores it"
                plan.append(SearchStep(tag, source, StepResult.SKIPPED, why))
                continue
            plan += search.path_list(own, o, source, f"{tag} of {o.display}{whose}")
        plan += [_Dir(d.path, d.kind, d.source) for d in self.target.search_dirs]
        return plan

    def _ld_library_path(self) -> _Plan:
        """musl searches LD_LIBRARY_PATH before anything else, split on ":" and newlines, empty
        entries skipped, no token expanded."""
        var = self.target.getenv("LD_LIBRARY_PATH")
        entries = [e for e in (var.value.replace("\n", ":").split(":") if var else ()) if e]
        if var is None or not entries:
            return [_ld_library_path_step(var)]
        why = f"LD_LIBRARY_PATH ({var.origin})"
        return [_Dir(_norm(e), SearchSource.LD_LIBRARY_PATH, why) for e in entries]

    def expand(self, entry: str, obj: _Object) -> str | None:
        """Only $ORIGIN; an empty entry is skipped (musl's path_open skips empty elements)."""
        if not entry:
            return None
        return entry.replace("${ORIGIN}", obj.origin).replace("$ORIGIN", obj.origin)

    def error(self, name: str, steps: tuple[SearchStep, ...]) -> tuple[str, LoadError]:
        """A file of another machine but the same class is mapped, and fails at relocation
        ("Error relocating PATH: unsupported relocation type N")."""
        last = steps[-1].result if steps else None
        if last is StepResult.WRONG_MACHINE:
            return posixpath.join(steps[-1].directory, posixpath.basename(name)), LoadError.BAD_RELOCATION
        if last in (StepResult.NOT_LIBRARY, StepResult.WRONG_CLASS):
            return name, LoadError.BAD_FILE
        return name, LoadError.NOT_FOUND


# --------------------------------------------------------------------------------------------
# The search driver
# --------------------------------------------------------------------------------------------


class _Search:
    """One resolution: breadth-first over the loaded objects' needs, by one family's rules. Its
    state lives only for one call of ``resolve``."""

    def __init__(self, elf: ElfFacts, target: Target, origin_files: TargetFiles | None,
                 rules: _Rules) -> None:
        self.elf = elf
        self.target = target
        self.origin_files = origin_files
        self.rules = rules
        # Per object (by identity: each lives as long as the search), its plan; per directory, the step
        # that finds nothing there. A file needing thousands of libraries reuses both.
        self._plans: dict[int, tuple[_Object, _Plan]] = {}
        self._absent: dict[_Dir, SearchStep] = {}

    def run(self, main: _Object, interp: LibraryFile | None) -> Resolution:
        self.known = self.rules.known_at_start()  # per loaded object, the names it answers to
        self.by_path: dict[str, int] = {}  # found path -> its index in known, to load one file once
        self.found: list[FoundLibrary] = []
        missing: dict[str, MissingLibrary] = {}
        queue = [main]
        # LD_PRELOAD: loaded after the program and before its needs; one not found is left out.
        preload_missing: list[MissingLibrary] = []
        var = self.target.getenv("LD_PRELOAD")
        names = var.value.replace(":", " ").split() if var is not None else []
        # glibc maps them as the program's needs; musl as needed by nobody (no RPATH chain).
        loader = main if self.rules.family is LoaderFamily.GLIBC else _Object(
            main.display, main.origin, (), (), (), False, None)
        for name in names:
            if any(name in n for n in self.known) or any(m.name == name for m in preload_missing):
                continue
            got = self._load(name, loader, f"LD_PRELOAD ({var.origin if var else ''})")
            if isinstance(got, MissingLibrary):
                preload_missing.append(got)
            elif got is not None:
                queue.append(got)
        unsearched: dict[str, None] = {}
        while queue:
            obj = queue.pop(0)
            for name in obj.needed:
                if name in missing or name in unsearched or any(name in n for n in self.known):
                    continue
                if len(missing) >= MAX_MISSING_SEARCHED:
                    unsearched[name] = None
                    continue
                got = self._load(name, obj, obj.display)
                if isinstance(got, MissingLibrary):
                    missing[name] = got
                elif got is not None:
                    queue.append(got)
        return Resolution(self.rules.family, tuple(self.found), tuple(missing.values()), interp,
                          tuple(preload_missing), tuple(unsearched))

    def _load(self, name: str, obj: _Object, needed_by: str) -> _Object | MissingLibrary | None:
        """Find ``name`` for ``obj`` and record it: the object whose needs come next, the reason it is
        missing, or None (the loader provides it, or the file is loaded already)."""
        rules = self.rules
        step = rules.builtin(name)
        if step is not None:
            self.known.append({name})
            self.found.append(FoundLibrary(LoadedLibrary(name, None, step.source, needed_by), None, (step,)))
            return None
        steps, hit, baseline = self._search(name, obj)
        if hit is None:
            shown, error = rules.error(name, steps)
            return MissingLibrary(name, needed_by, steps, error, shown)
        path, file, source, level = hit
        if path in self.by_path:  # the same file under another name: the loaders' file-id match
            self.known[self.by_path[path]] |= rules.aliases(name, path, file)
            return None
        self.by_path[path] = len(self.known)
        self.known.append(rules.aliases(name, path, file))
        self.found.append(FoundLibrary(LoadedLibrary(name, path, source, needed_by), file, steps,
                                       level or None, baseline))
        return None if file is None else _child(path, file, obj)

    def _search(self, name: str, obj: _Object) -> tuple[tuple[SearchStep, ...], _Hit | None, str | None]:
        if "/" in name:  # opened as a path, no search
            path = _norm(self.rules.expand(name, obj) or name)  # Unsure: relative to the working directory
            d = _Dir(posixpath.dirname(path), SearchSource.DIRECT, 'a DT_NEEDED with "/" is opened as a path')
            return self._walk(posixpath.basename(path), [d])
        planned = self._plans.get(id(obj))
        if planned is None:
            planned = self._plans[id(obj)] = (obj, self.rules.plan(obj, self))  # (obj kept: its id stays)
        return self._walk(name, planned[1])

    def _walk(self, name: str, plan: _Plan) -> tuple[tuple[SearchStep, ...], _Hit | None, str | None]:
        """Try the planned directories in order; pre-made (skipped) steps are kept in place. A hit in a
        glibc-hwcaps subdirectory also gives the path a CPU without that level finds (None: none)."""
        steps: list[SearchStep] = []
        for i, item in enumerate(plan):
            if isinstance(item, SearchStep):
                steps.append(item)
                continue
            step, hit = self._try(name, item)
            steps.append(step)
            if hit is not None:
                baseline = self._baseline(name, plan[i + 1:]) if item.level else None
                return tuple(steps), hit, baseline
            if self.rules.stops_at(step):
                break
        return tuple(steps), None, None

    def _baseline(self, name: str, rest: _Plan) -> str | None:
        """The file the rest of the search finds on a CPU that supports no glibc-hwcaps level."""
        for item in rest:
            if isinstance(item, _Dir) and not item.level:
                step, hit = self._try(name, item)
                if hit is not None:
                    return hit[0]
                if self.rules.stops_at(step):
                    return None
        return None

    def _try(self, name: str, d: _Dir) -> tuple[SearchStep, _Hit | None]:
        path = posixpath.join(d.path, name)
        exists, file = self._lookup(path)
        if not exists:
            step = self._absent.get(d)
            if step is None:
                step = self._absent[d] = SearchStep(d.path, d.source, StepResult.NOT_FOUND, d.reason)
            return step, None
        if file is None:
            why = _also(d.reason, self.rules.not_library(d))
            return SearchStep(d.path, d.source, StepResult.NOT_LIBRARY, why), None
        tail = self.rules.wrong_file
        if file.elf_class != self.elf.elf_class:
            why = _also(d.reason, f"a {file.elf_class}-bit file: {tail}")
            return SearchStep(d.path, d.source, StepResult.WRONG_CLASS, why), None
        if file.machine != self.elf.machine:
            why = _also(d.reason, f"a file for {file.machine}: {tail}")
            return SearchStep(d.path, d.source, StepResult.WRONG_MACHINE, why), None
        return SearchStep(d.path, d.source, StepResult.FOUND, d.reason), (path, file, d.source, d.level)

    def _lookup(self, path: str) -> tuple[bool, LibraryFile | None]:
        """Whether ``path`` exists in the image and the library there: files copied with the program
        (``origin_files``: its own directory, or the whole tree being scanned, which answers only for
        paths under where it is mounted) first, then the target."""
        beside = self.origin_files
        if beside is not None and beside.exists(path):
            return True, beside.library(path)
        files = self.target.files
        return files.exists(path), files.library(path)

    def path_list(self, entries: tuple[str, ...], obj: _Object, source: SearchSource, why: str) -> list[_Dir]:
        out: list[_Dir] = []
        for entry in entries:
            expanded = self.rules.expand(entry, obj)
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


def _child(path: str, file: LibraryFile, parent: _Object) -> _Object:
    return _Object(
        display=path,
        origin=posixpath.dirname(path),
        needed=file.needed,
        rpath=file.rpath,
        runpath=file.runpath,
        nodeflib=False,  # Unsure: LibraryFile does not record DF_1_NODEFLIB; taken as unset
        parent=parent,
    )


def _lib_token(elf: ElfFacts, target: Target) -> str:
    for d in target.search_dirs:
        parts = d.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "lib" and "-linux-" in parts[1]:
            return d.path.strip("/")
    return "lib64" if elf.elf_class == 64 else "lib"


def _chain(obj: _Object) -> list[_Object]:
    """The object, the object that loaded it, and so on up to the program."""
    out: list[_Object] = []
    o: _Object | None = obj
    while o is not None:
        out.append(o)
        o = o.parent
    return out


def _ld_library_path_step(var: EnvVar | None) -> SearchStep:
    why = "not set" if var is None else f"empty ({var.origin})"
    return SearchStep("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, StepResult.SKIPPED, why)


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
