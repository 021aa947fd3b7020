"""The checks Linux's ELF loader (fs/binfmt_elf.c, load_elf_binary) makes before it starts a file, in
its order, on the file's own bytes: which of them refuses it, and with which errno.

Only what depends on the file alone is decided here; the interpreter's own checks (open_exec on the
image's file, its header) depend on the target and belong to the verdict. Each check names the place in
the kernel it models. Measured with real execve on Linux 6.18 (tests/test_kernel.py): the kernel reads
the header in its own byte order and class, so a file's declared EI_CLASS/EI_DATA decide nothing here
beyond how linkcheck reads the fields (a file for another byte order fails the machine check anyway).
"""

from __future__ import annotations

import mmap
import struct

from linkcheck.model import ExecError, KernelRefusal

PATH_MAX = 4096  # include/uapi/linux/limits.h
# execve's limits on what it copies onto the new stack (fs/exec.c; each measured on Linux 6.18):
# one argument or environment string, its NUL included, at most MAX_ARG_STRLEN (include/uapi/linux/binfmts.h);
MAX_ARG_STRLEN = 32 * 4096
# all of them (the path, arguments, environment, each with its NUL) plus a pointer to each (argc counted as
# at least 1) at most min(_STK_LIM / 4 * 3, RLIMIT_STACK / 4), and never less than ARG_MAX
# (bprm_stack_limits). Containers start with an 8 MiB stack limit: 2 MiB.
ARG_MAX = 32 * 4096
STK_LIM = 8 << 20  # include/uapi/linux/resource.h _STK_LIM
CONTAINER_STACK_LIMIT = 8 << 20


def exec_strings_limit(stack_limit: int = CONTAINER_STACK_LIMIT) -> int:
    """The bytes execve copies at most (strings and pointers) under the stack limit ``stack_limit``."""
    return max(min(STK_LIM // 4 * 3, stack_limit // 4), ARG_MAX)
# load_elf_phdrs: the whole program header table may be at most 64 KiB (older kernels: one page).
PHDR_TABLE_LIMIT = 65536
ET_EXEC, ET_DYN = 2, 3
PT_INTERP = 3

_Data = bytes | bytearray | memoryview | mmap.mmap


def exec_refusal(data: _Data) -> KernelRefusal | None:
    """The first of the kernel's file-only checks that refuses ``data`` (an ELF file, magic checked by
    the caller), or None when the kernel would go on to open the interpreter and map the file. The
    machine check (elf_check_arch) is the verdict's: it depends on the target's kernel."""
    found = _first_refusal(data)
    header = 52 if len(data) > 4 and data[4] == 1 else 64
    if found is not None and len(data) < header:
        why = f"the file is {len(data)} bytes, shorter than an ELF header; its missing fields read as 0, so "
        return KernelRefusal(found.error, why + found.reason, found.rule)
    return found


def _first_refusal(data: _Data) -> KernelRefusal | None:
    size = len(data)
    # fs/exec.c prepare_binprm reads the first BINPRM_BUF_SIZE bytes into a zeroed buffer: a header
    # cut short reads as zeros there (e_type 0 is then refused below).
    head = bytes(data[:64]).ljust(64, b"\0")
    # The kernel reads the header in its own layout; the file's identification stands in for it when
    # valid, else the layout of the 64-bit little-endian kernels that run amd64 and arm64 images.
    is64 = head[4] != 1
    e = ">" if head[5] == 2 else "<"
    e_type = struct.unpack_from(e + "H", head, 16)[0]
    if e_type not in (ET_EXEC, ET_DYN):
        return KernelRefusal(ExecError.ENOEXEC, f"ELF type {e_type} is neither ET_EXEC nor ET_DYN",
                             "fs/binfmt_elf.c load_elf_binary: e_type != ET_EXEC && e_type != ET_DYN")
    if is64:
        phoff = struct.unpack_from(e + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", head, 54)
    else:
        phoff = struct.unpack_from(e + "I", head, 28)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", head, 42)
    abi_phentsize = 56 if is64 else 32
    # load_elf_phdrs, in its order: entry size, table size, then the read itself.
    if phentsize != abi_phentsize:
        return KernelRefusal(
            ExecError.ENOEXEC,
            f"program header entries are {phentsize} bytes; the kernel reads only {abi_phentsize}-byte ones",
            "fs/binfmt_elf.c load_elf_phdrs: e_phentsize != sizeof(struct elf_phdr)")
    table = phentsize * phnum
    if table == 0:
        return KernelRefusal(ExecError.ENOEXEC, "no program headers",
                             "fs/binfmt_elf.c load_elf_phdrs: size == 0")
    if table > PHDR_TABLE_LIMIT:
        return KernelRefusal(
            ExecError.ENOEXEC,
            f"{phnum} program headers ({table} bytes) are more than the kernel reads ({PHDR_TABLE_LIMIT})",
            "fs/binfmt_elf.c load_elf_phdrs: size > 65536")
    if phoff + table > size:
        return KernelRefusal(
            ExecError.ENOEXEC,
            f"the program header table ({phnum} entries at {phoff:#x}) runs past the end of the file "
            f"({size} bytes)",
            "fs/binfmt_elf.c load_elf_phdrs: elf_read of the table is short")
    fmt = e + ("I4xQ16xQ" if is64 else "II8xI")  # p_type, p_offset, p_filesz
    for i in range(phnum):
        p_type, p_offset, p_filesz = struct.unpack_from(fmt, data, phoff + i * phentsize)
        if p_type != PT_INTERP:
            continue
        # load_elf_binary, PT_INTERP (only the first one counts).
        if p_filesz > PATH_MAX or p_filesz < 2:
            return KernelRefusal(
                ExecError.ENOEXEC,
                f"PT_INTERP is {p_filesz} bytes long (the kernel accepts 2 to {PATH_MAX})",
                "fs/binfmt_elf.c load_elf_binary: p_filesz > PATH_MAX || p_filesz < 2")
        if p_offset + p_filesz > size:
            return KernelRefusal(
                ExecError.EIO,
                f"PT_INTERP ({p_filesz} bytes at {p_offset:#x}) lies past the end of the file ({size} bytes)",
                "fs/binfmt_elf.c load_elf_binary: elf_read of the interpreter path is short (-EIO)")
        if data[p_offset + p_filesz - 1] != 0:
            return KernelRefusal(
                ExecError.ENOEXEC, "PT_INTERP does not end in a NUL byte",
                "fs/binfmt_elf.c load_elf_binary: elf_interpreter[p_filesz - 1] != '\\0'")
        break
    return None
