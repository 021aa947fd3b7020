"""Symlink resolution confined to a root, as the kernel does after chroot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkcheck.image.tree import READ_WHOLE_BYTES, DirectoryTree, EntryKind, normalize, resolve


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/libz.so.1.3").write_bytes(b"inside")
    os.symlink("libz.so.1.3", root / "usr/lib/libz.so.1")
    os.symlink("usr/lib", root / "lib")
    return root


def test_normalize_cannot_climb_above_root() -> None:
    assert normalize("/../../etc/./passwd") == "/etc/passwd"
    assert normalize("a//b/../c") == "/a/c"


@given(st.lists(st.sampled_from(["", ".", "..", "a", ".b", "c.", "..d", "/"]), max_size=8),
       st.booleans(), st.booleans())
def test_normalize_answers_paths_normal_already_as_it_normalizes_others(parts: list[str], absolute: bool,
                                                                      trailing: bool) -> None:
    """A path normal already is answered as is (a library search asks thousands): the same result as
    normalizing it part by part."""
    path = ("/" if absolute else "") + "/".join(parts) + ("/" if trailing else "")
    kept = [p for p in path.split("/") if p not in ("", ".")]
    stack: list[str] = []
    for part in kept:
        if part == "..":
            if stack:
                stack.pop()
        else:
            stack.append(part)
    assert normalize(path) == "/" + "/".join(stack)


def test_relative_symlinks_resolve_inside(tmp_path: Path) -> None:
    tree = DirectoryTree(make_root(tmp_path))
    found = resolve(tree, "/lib/libz.so.1")
    assert found is not None
    assert found[0] == "/usr/lib/libz.so.1.3"
    assert found[1].kind is EntryKind.FILE
    assert bytes(tree.read(found[0])) == b"inside"


def test_absolute_symlink_is_rerooted_not_followed_on_host(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    # On the host, /etc/hostname-like bait: a file that exists only outside the root.
    bait = tmp_path / "outside.so"
    bait.write_bytes(b"host")
    os.symlink(str(bait), root / "usr/lib/libbait.so")
    os.symlink("/usr/lib/libz.so.1", root / "usr/lib/libabs.so")
    tree = DirectoryTree(root)
    assert resolve(tree, "/usr/lib/libbait.so") is None  # re-rooted: <root>/<tmp>/outside.so does not exist
    found = resolve(tree, "/usr/lib/libabs.so")
    assert found is not None and found[0] == "/usr/lib/libz.so.1.3"


def test_dotdot_links_stop_at_root(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (tmp_path / "secret").write_bytes(b"host")
    os.symlink("../../../../secret", root / "usr/lib/libup.so")
    tree = DirectoryTree(root)
    assert resolve(tree, "/usr/lib/libup.so") is None
    (root / "secret").write_bytes(b"in root")
    found = resolve(tree, "/usr/lib/libup.so")
    assert found is not None and found[0] == "/secret"


def test_symlink_loop_gives_none(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    assert resolve(DirectoryTree(root), "/a") is None


def test_file_used_as_directory_gives_none(tmp_path: Path) -> None:
    tree = DirectoryTree(make_root(tmp_path))
    assert resolve(tree, "/usr/lib/libz.so.1.3/x") is None


def test_fifo_is_listed_but_never_read(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    os.mkfifo(root / "usr/lib/libfifo.so")
    tree = DirectoryTree(root)
    entry = tree.lstat("/usr/lib/libfifo.so")
    assert entry is not None and entry.kind is EntryKind.OTHER
    try:
        tree.read("/usr/lib/libfifo.so")
    except OSError:
        pass
    else:
        raise AssertionError("a FIFO must not be read")


@pytest.mark.parametrize("size", [1 << 20, READ_WHOLE_BYTES, READ_WHOLE_BYTES + 4096, 20 << 20],
                         ids=["read whole", "largest read whole", "smallest copied", "copied and mapped"])
def test_a_file_truncated_while_read_cannot_fault(tmp_path: Path, size: int) -> None:
    """Another process truncates a file after DirectoryTree.read returned its bytes: they stay readable
    (a mapping of the file itself would kill the process with SIGBUS when a page past the new end is
    touched)."""
    from truncation import touch_after_truncation

    root = tmp_path / "root"
    root.mkdir()
    with open(root / "big", "wb") as f:
        f.write(b"\x7fELF" + bytes(4092))
        f.seek(size - 4096)
        f.write(b"\x01" * 4096)
    setup = (f"from linkcheck.image.tree import DirectoryTree\n"
             f"buf = DirectoryTree({str(root)!r}).read('/big')")
    code, out = touch_after_truncation(setup, root / "big")
    assert code == 0, out
    assert out.split()[:2] == [str(size), str(0x7F + 1)]  # the bytes as they were when read
