"""What Python and pip say, and the fixes, for linkcheck.verdict.python."""

from __future__ import annotations

from linkcheck.model import Libc


def module_not_found(name: str) -> str:
    return f"ModuleNotFoundError: No module named '{name}'"


def import_error(dlerror: str) -> str:
    """`import` of a module the loader refuses: Python raises dlerror()'s text."""
    return f"ImportError: {dlerror}"


def manylinux_on_musl(name: str) -> str:
    return (f"(pip on a musl image installs no manylinux build; `import {name}` loads this glibc build "
            "only if musl has every symbol it uses)")


def not_supported_wheel(filename: str) -> str:
    """pip's refusal of a wheel file whose tags the interpreter does not accept."""
    return f"ERROR: {filename} is not a supported wheel on this platform."


def same_python_fix(image: str, release: int, built: str) -> str:
    return (f"install the package with the image's own Python (3.{release}) in a build stage FROM {image}, "
            f"or run on a python:3.{built} image")


def triplet_word(libc: Libc) -> str:
    """The libc's word in CPython's platform triplet: x86_64-linux-gnu, x86_64-linux-musl."""
    return "musl" if libc is Libc.MUSL else "gnu"


def glibc_fix(image: str) -> str:
    return (f"install the package with pip in a build stage FROM {image} (it picks the manylinux wheel or "
            "builds from source)")


def musl_fix(image: str) -> str:
    return (f"install the package with pip in a build stage FROM {image} (it picks the musllinux wheel or "
            "builds from source), or use a glibc (Debian) python image")


def build_stage_fix(image: str) -> str:
    return f"create the venv in a build stage FROM {image}, so it links to that image's own python"


def venv_python_fix(minor: int) -> str:
    return f"or run it on a python:3.{minor} image (the Python the venv was made with)"
