"""Files newsbeam creates or replaces, never through a link.

- A new file is created exclusively (O_EXCL) without following a link (O_NOFOLLOW), with a
  name no one can guess beforehand where it matters (temporary files).
- A file replaced whole is written to a temporary file in the target's own folder and renamed
  over it: a reader sees the old file or the new one, never half of one.
- Folders newsbeam makes inside the output folder are refused when they are links, except
  the ones a user may deliberately put elsewhere (`LINKABLE_FOLDERS`).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import IO

# Folders inside the output folder that may be links to another place (stories on another
# disk). Every other path newsbeam writes must not be a link.
LINKABLE_FOLDERS = ("stories",)


class UnsafePath(Exception):
    """A path newsbeam would write through a link, or onto a file it must not replace."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Do two paths name one file (the same device and inode, whatever the spelling: links,
    /proc/self/cwd, `..`)?"""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def output_folder(root: str | os.PathLike, name: str) -> pathlib.Path:
    """`root/name`, made if missing; a link there is refused unless `name` is one of the
    LINKABLE_FOLDERS (and then must lead to a folder)."""
    path = pathlib.Path(root) / name
    if path.is_symlink():
        if name not in LINKABLE_FOLDERS:
            raise UnsafePath(f"{path} is a symbolic link; newsbeam does not write through links "
                             f"(only {', '.join(f'{f}/' for f in LINKABLE_FOLDERS)} may be one)")
        if not path.is_dir():
            raise UnsafePath(f"{path} is a link to something that is not a folder")
        return path
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_output_folder(root: str | os.PathLike, sinks: tuple[str, ...]) -> None:
    """Before a run writes anything: `root` is (or can become) a folder, and nothing newsbeam
    will write in it is a link, but the folders a user may deliberately put elsewhere."""
    root = pathlib.Path(root)
    if root.exists() and not root.is_dir():
        raise UnsafePath(f"--output {root}: not a folder")
    parent = root.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UnsafePath(f"--output {root}: {parent} is a file, not a folder")
    for name in ("stories", "dead_letters", "cache"):
        path = root / name
        if path.is_symlink() or path.exists():
            if path.is_symlink() and name not in LINKABLE_FOLDERS:
                raise UnsafePath(f"{path} is a symbolic link; newsbeam does not write through links "
                                 f"(only {', '.join(f'{f}/' for f in LINKABLE_FOLDERS)} may be one)")
            if not path.is_dir():
                raise UnsafePath(f"{path} is not a folder")
    if "sqlite" in sinks:
        check_replaceable(root / "stories.db")


def create_new(path: str | os.PathLike, append: bool = False) -> int:
    """A file descriptor of a new file at `path` (never an existing file, never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | (os.O_APPEND if append else 0)
    return os.open(path, flags, 0o644)


def _umask() -> int:
    """The process's umask: from /proc on Linux (reading it elsewhere means setting it, which
    would race with other threads creating files)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as status:
            return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_replaceable(path: str | os.PathLike) -> None:
    """Refuse to replace a link or a folder."""
    target = pathlib.Path(path)
    if target.is_symlink():
        raise UnsafePath(f"{target} is a symbolic link; newsbeam does not write through links")
    if target.is_dir():
        raise UnsafePath(f"{target} is a folder")


@contextlib.contextmanager
def replaced(path: str | os.PathLike, mode: str = "w", protect: tuple[str, ...] = ()) -> Iterator[IO]:
    """Write a whole file: into an unpredictable temporary file beside `path`, created
    exclusively, renamed over `path` when the `with` block succeeds, removed when it fails.
    `protect`: files that `path` must not be (compared as files, not as spellings)."""
    for other in protect:
        if other and same_file(path, other):
            raise UnsafePath(f"{path} is {other}, which newsbeam must not replace; write the output elsewhere")
    check_replaceable(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    # mkstemp makes it 0600; a report or an export is for people, as run outputs are: the
    # mode create_new gives (0644 less the umask).
    os.fchmod(fd, 0o644 & ~_umask())
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
