"""Writing a file whole, and only the file named: every file the tool writes goes through here.

A temporary file with a predictable name (``out.xml.tmp-PID``) lets anyone who
can write to the folder plant a symbolic link there first: the tool then
writes through it, over the link's target (and changes its mode). So the
temporary file is new, with an unpredictable name, in the target's own folder
(a rename stays on one file system), created exclusively without following
links (``O_CREAT | O_EXCL | O_NOFOLLOW``), written and flushed to disk, then
renamed over the target. A reader sees the old file or the new one, never
half of one; a link at the target itself is replaced, never written through.

``overwrite=False`` refuses a target that exists in any form, a dangling link
included, and does so at the moment of the rename (a hard link, which fails
if the name is taken), so nothing appears there between a check and a write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets

# Unpredictable names: 64 random bits. A name already taken is tried again, a few times.
_ATTEMPTS = 8
PRIVATE = 0o600  # for files that may hold what a peer said, or a secret
SHARED = 0o644  # for files meant to be read by others (a config, a schema); the umask still applies


def write_whole(path: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` through a new private temporary file and a rename.

    Raises FileExistsError when ``overwrite`` is False and something is at
    ``path``; OSError as the system reports it otherwise.
    """
    target = os.fspath(path)
    folder = os.path.dirname(target) or "."
    name = os.path.basename(target)
    temporary, fd = _create_temporary(folder, name, mode)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if overwrite:
            os.replace(temporary, target)
        else:
            _rename_no_clobber(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _create_temporary(folder: str, name: str, mode: int) -> tuple[str, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temporary, flags, mode)
        except FileExistsError:
            continue
        # The umask may have taken bits away; it never adds any, so a private file stays private.
        return temporary, fd
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)


def _rename_no_clobber(temporary: str, target: str) -> None:
    """Give ``temporary`` the name ``target`` only if nothing has it: a hard link fails when the name
    exists (whatever it is, a link included). Where hard links are not supported, check, then rename."""
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target) from None
        os.rename(temporary, target)
