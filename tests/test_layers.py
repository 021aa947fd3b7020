"""Layers applied as a container runtime applies them: parents resolved through symlinks of earlier
layers inside the root (usrmerge bases), whiteouts and opaque markers through those links, a directory
entry replacing a link, and what a runtime cannot unpack refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from linkcheck.errors import ArchiveError
from linkcheck.image.archive import open_image_tree
from linkcheck.image.layers import PATH_MAX, LayerIndex, MemberKind, tar_members
from linkcheck.image.tree import EntryKind

from test_archive import docker_save, layer_tar

# A usrmerge base (Debian 12 and later, Ubuntu, Fedora): /lib and /bin are links into /usr.
USRMERGE = layer_tar([
    ("d", "usr/lib/x86_64-linux-gnu", None),
    ("f", "usr/lib/x86_64-linux-gnu/libc.so.6", b"\x7fELF libc"),
    ("f", "usr/lib/x86_64-linux-gnu/libold.so", b"\x7fELF old"),
    ("d", "usr/lib/plugins", None),
    ("f", "usr/lib/plugins/a.so", b"\x7fELF a"),
    ("l", "lib", "usr/lib"),
    ("l", "lib64", "/usr/lib64"),  # dangling: layer 2 creates what it names
])


def image(tmp_path: Path, *layers: bytes) -> str:
    return str(docker_save(tmp_path / "img.tar", list(layers)))


def test_a_layer_through_a_usrmerge_link_lands_in_the_linked_directory(tmp_path: Path) -> None:
    top = layer_tar([("f", "lib/x86_64-linux-gnu/libextra.so", b"\x7fELF extra"),
                     ("f", "lib64/ld-linux-x86-64.so.2", b"\x7fELF ld")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        link = tree.lstat("/lib")
        assert link is not None and link.kind is EntryKind.SYMLINK  # /lib stays the link
        assert tree.read("/usr/lib/x86_64-linux-gnu/libextra.so") == b"\x7fELF extra"
        assert tree.read("/usr/lib/x86_64-linux-gnu/libc.so.6") == b"\x7fELF libc"
        assert tree.read("/usr/lib64/ld-linux-x86-64.so.2") == b"\x7fELF ld"


def test_whiteout_through_a_link_deletes_the_linked_file(tmp_path: Path) -> None:
    top = layer_tar([("f", "lib/x86_64-linux-gnu/.wh.libc.so.6", b"")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        assert tree.lstat("/usr/lib/x86_64-linux-gnu/libc.so.6") is None
        assert tree.listdir("/usr/lib/x86_64-linux-gnu") == ("libold.so",)


def test_opaque_whiteout_through_a_link_empties_the_linked_directory(tmp_path: Path) -> None:
    top = layer_tar([("f", "lib/plugins/.wh..wh..opq", b""), ("f", "lib/plugins/b.so", b"\x7fELF b")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        assert tree.listdir("/usr/lib/plugins") == ("b.so",)  # lower content gone, the layer's own kept


def test_whiteouts_leave_their_own_layer_alone(tmp_path: Path) -> None:
    top = layer_tar([("f", "usr/lib/plugins/c.so", b"c"), ("f", "usr/lib/plugins/.wh.c.so", b""),
                     ("f", "usr/lib/plugins/.wh.a.so", b"")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        assert tree.listdir("/usr/lib/plugins") == ("c.so",)


def test_a_directory_entry_over_a_link_replaces_the_link(tmp_path: Path) -> None:
    # The runtime cleans "lib/" to "lib" and replaces what is there unless both are directories.
    top = layer_tar([("d", "lib/", None), ("f", "lib/own.so", b"own")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        lib = tree.lstat("/lib")
        assert lib is not None and lib.kind is EntryKind.DIRECTORY
        assert tree.listdir("/lib") == ("own.so",)
        assert tree.read("/usr/lib/x86_64-linux-gnu/libc.so.6") == b"\x7fELF libc"


def test_a_relative_link_through_dotdot_resolves_inside_the_root(tmp_path: Path) -> None:
    base = layer_tar([("d", "usr/lib", None), ("l", "lib", "../../../usr/lib")])
    top = layer_tar([("f", "lib/x.so", b"x")])
    with open_image_tree(image(tmp_path, base, top)) as tree:
        assert tree.read("/usr/lib/x.so") == b"x"


def test_a_parent_that_is_a_file_cannot_be_unpacked(tmp_path: Path) -> None:
    top = layer_tar([("f", "usr/lib/plugins/a.so/inner", b"x")])
    with pytest.raises(ArchiveError, match=r"layer 2: .*a\.so, which is not a directory"):
        open_image_tree(image(tmp_path, USRMERGE, top))


def test_a_loop_of_links_in_a_parent_is_refused(tmp_path: Path) -> None:
    base = layer_tar([("l", "a", "b"), ("l", "b", "a")])
    top = layer_tar([("f", "a/x", b"x")])
    with pytest.raises(ArchiveError, match="too many levels of symbolic links"):
        open_image_tree(image(tmp_path, base, top))


def test_a_hard_link_through_a_link_shares_the_linked_file(tmp_path: Path) -> None:
    top = layer_tar([("h", "usr/bin/libc-copy", "lib/x86_64-linux-gnu/libc.so.6")])
    with open_image_tree(image(tmp_path, USRMERGE, top)) as tree:
        assert tree.read("/usr/bin/libc-copy") == b"\x7fELF libc"


def test_a_member_path_longer_than_path_max_is_refused_at_once(tmp_path: Path) -> None:
    # 50,000 components: no runtime can create it (ENAMETOOLONG). Refused before any work per component.
    deep = "/".join(["a"] * 50_000) + "/x"
    top = layer_tar([("f", deep, b"x")])
    with pytest.raises(ArchiveError, match="longer than PATH_MAX"):
        open_image_tree(image(tmp_path, top))
    # The longest creatable path still works, and so does the deepest.
    ok = "/".join(["a"] * ((PATH_MAX - 8) // 2))
    (tmp_path / "ok").mkdir()
    with open_image_tree(image(tmp_path / "ok", layer_tar([("f", ok, b"deep")]))) as tree:
        assert tree.read("/" + ok) == b"deep"


def test_members_are_read_from_a_stream_that_cannot_seek() -> None:
    data = layer_tar([("d", "etc", None), ("f", "etc/x", b"xx"), ("l", "etc/y", "x")])

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(min(len(b), 700))
            b[: len(chunk)] = chunk
            return len(chunk)

    members = list(tar_members(Pipe(), len(data), "pipe"))  # type: ignore[arg-type]
    assert [(m.name, m.kind) for m in members] == [
        ("etc", MemberKind.DIRECTORY), ("etc/x", MemberKind.FILE), ("etc/y", MemberKind.SYMLINK)]
    x = members[1]
    assert data[x.offset : x.offset + x.size] == b"xx"
    index = LayerIndex("pipe", 10)
    index.apply(members, 0)
    assert set(index.children["/etc"]) == {"x", "y"}


def test_generated_hostile_images_end_in_results_or_one_error() -> None:
    """The fuzz campaign's image generator (scripts/fuzz.py --images), a few seeds: every archive is
    scanned to the end or refused with one LinkcheckError, never an exception escaping."""
    import importlib.util
    import random
    import tempfile

    import linkcheck
    from linkcheck.errors import LinkcheckError

    script = Path(__file__).parent.parent / "scripts" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("fuzz", script)
    assert spec is not None and spec.loader is not None
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    outcomes = {"scanned": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as where:
        archive = Path(where) / "image.tar"
        for seed in range(12):
            archive.write_bytes(fuzz.image_archive(random.Random(seed)))
            try:
                results = list(linkcheck.scan_paths(str(archive), jobs=1))
            except LinkcheckError:
                outcomes["refused"] += 1
                continue
            outcomes["scanned" if all(r.error is None for r in results) else "refused"] += 1
    assert outcomes["scanned"] > 0 and outcomes["refused"] > 0  # both kinds are generated
