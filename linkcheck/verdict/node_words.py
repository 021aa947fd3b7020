"""What node prints when `require()` of a native addon fails (checked against real runs of Debian's
Node.js 18 in tests/test_node_runs.py)."""

from __future__ import annotations

from linkcheck.model import Libc


def require_error(dlerror: str) -> str:
    """node throws an Error whose message is the loader's dlerror() text."""
    return f"Error: {dlerror}"


def module_version_error(path: str, built: int, required: int) -> str:
    return (f"Error: The module '{path}'\n"
            f"was compiled against a different Node.js version using\n"
            f"NODE_MODULE_VERSION {built}. This version of Node.js requires\n"
            f"NODE_MODULE_VERSION {required}. Please try re-compiling or re-installing\n"
            "the module (for instance, using `npm rebuild` or `npm install`).")


def libc_fix(image_libc: Libc) -> str:
    which = "musl (linux-x64-musl / musllinux)" if image_libc is Libc.MUSL else "glibc (linux-x64-gnu)"
    return (f"install the package's {which} build: run `npm ci` in the image (or a build stage on the same "
            "base image), not on the host, so npm picks the optional dependency for the image's libc")


def rebuild_fix() -> str:
    return ("rebuild it for the image's Node.js: `npm rebuild` in a build stage FROM the same node image, or "
            "use a release of the package built on Node-API")
