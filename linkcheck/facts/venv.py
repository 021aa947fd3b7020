"""Python virtual environments (``python -m venv``, virtualenv): what a venv copied from a build stage
(``COPY --from=build /venv /venv``) expects of the image it lands in. Nothing in it is run.

``pyvenv.cfg`` names the interpreter the venv was made with (``home``, ``version``; Python 3.11+ also
writes the ``command`` that made it, with the venv's own path); ``bin/python`` is a symlink to that
interpreter, absolute as venv writes it. Where the venv lives (``/venv``) comes from ``command``, else from
the ``#!`` line of a script venv wrote into ``bin/``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

MAX_CFG_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class VenvFacts:
    path: str  # the directory on this host
    location: str | None  # where it was made (and must be copied to): "/venv"
    python_link: str | None  # what bin/python points at: "/usr/local/bin/python3.11"
    version: str | None  # "3.11.9" (pyvenv.cfg version / version_info)
    home: str | None  # pyvenv.cfg home: "/usr/local/bin"
    site_versions: tuple[str, ...]  # "3.11" for each lib/python3.11/site-packages

    @property
    def minor(self) -> int | None:
        m = re.match(r"3\.(\d+)", self.version or (self.site_versions[0] if self.site_versions else ""))
        return int(m[1]) if m else None


def is_venv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def read_venv(path: str) -> VenvFacts:
    cfg: dict[str, str] = {}
    try:
        with open(os.path.join(path, "pyvenv.cfg"), "rb") as f:
            text = f.read(MAX_CFG_BYTES).decode("utf-8", "replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            cfg[key.strip().lower()] = value.strip()
    link = _python_link(os.path.join(path, "bin"))
    location = None
    command = cfg.get("command", "").split()
    if len(command) >= 2 and command[-1].startswith("/"):
        location = os.path.normpath(command[-1])
    if location is None:
        location = _from_shebangs(os.path.join(path, "bin"))
    if link is not None and not link.startswith("/") and location is not None:
        link = os.path.normpath(os.path.join(location, "bin", link))
    lib = os.path.join(path, "lib")
    try:
        names = sorted(os.listdir(lib))
    except OSError:
        names = []
    sites = tuple(n[len("python"):] for n in names if re.fullmatch(r"python3\.\d+", n)
                  and os.path.isdir(os.path.join(lib, n, "site-packages")))
    return VenvFacts(path, location, link, cfg.get("version") or cfg.get("version_info"), cfg.get("home"),
                     sites)


def _python_link(bindir: str) -> str | None:
    """Where bin/python leads: relative links are followed inside bin/ (python -> python3 ->
    /usr/local/bin/python3), never outside the venv; the first absolute target is the answer."""
    name = "python"
    for _ in range(8):
        try:
            target = os.readlink(os.path.join(bindir, name))
        except OSError:
            return None if name == "python" else name
        if target.startswith("/"):
            return os.path.normpath(target)
        if "/" in target:
            return target
        name = target
    return None


def _from_shebangs(bindir: str) -> str | None:
    """"#!/venv/bin/python" in bin/pip (or any script venv wrote) -> "/venv"."""
    try:
        names = sorted(os.listdir(bindir))
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(bindir, name), "rb") as f:
                head = f.read(512)
        except OSError:
            continue
        m = re.match(rb"#!(/\S+)/bin/python[0-9.]*\s", head)
        if m:
            return m[1].decode("utf-8", "replace")
    return None
