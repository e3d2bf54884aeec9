"""Reading local input with a size cap: files, stdin, pipes, devices, symlinks.

Every local read of the tool goes through here (the partner config of ``-f``,
connect-test's ``--payload``, a credential on stdin), so that no input can
make the process read for ever or fill memory: ``/dev/zero``, a 4 GiB file or
an endless pipe stop at ``limit + 1`` bytes, read in chunks, and are refused
with one line naming the cap. Reading a file that cannot be read raises
`InputError` (exit 2) with the reason in words: missing, a dangling symbolic
link, a directory, permission denied.

Only bytes come out: decoding is the caller's business (a config file has its
own rules about BOMs and NUL bytes), except for `read_text`, which wants UTF-8.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from stp_ext.core.errors import InputError

KiB = 1024
MiB = 1024 * KiB
STDIN = "-"
STDIN_NAME = "<stdin>"
_CHUNK = 64 * KiB
# The longest wait a timeout may ask for. Sockets, threads' joins and deadlines overflow or
# misbehave on huge values (`--timeout 1e10` gave tracebacks); no answer is worth more than an hour.
MAX_SECONDS = 3600.0


def describe_size(limit: int) -> str:
    """1048576 -> '1 MiB', 131072 -> '128 KiB' (the caps are round numbers)."""
    if limit % MiB == 0:
        return f"{limit // MiB} MiB"
    if limit % KiB == 0:
        return f"{limit // KiB} KiB"
    return f"{limit} bytes"


def read_path(
    path: str,
    *,
    limit: int,
    what: str = "file",
    option: str = "-f",
    too_big_hint: str | None = None,
    too_big: str | None = None,
    error: type[InputError] = InputError,
) -> bytes:
    """The bytes of ``path`` (``~`` expanded), at most ``limit`` of them.

    ``what`` names the input in messages ("config file"); ``option`` is the
    flag the path came after, for the empty-path message; ``error`` is the
    InputError subclass to raise.
    """
    if not path.strip():
        raise error(f"the path after {option} is empty", f"Give the path of the {what} (is a shell variable unset?).")
    expanded = os.path.expanduser(path)
    if os.path.isdir(expanded):
        raise error(f"{path} is a directory, not a file", f"Give the path of the {what}.")
    try:
        with open(expanded, "rb") as stream:
            return read_limited(stream, path, limit=limit, too_big_hint=too_big_hint, too_big=too_big, error=error)
    except FileNotFoundError:
        hint = "Check the path."
        if os.path.islink(expanded):
            hint = "It is a symbolic link to a file that does not exist."
        raise error(f"{what} not found: {path}", hint) from None
    except PermissionError:
        raise error(f"cannot read {path}: permission denied", f"Check the file's permissions (ls -l {path}).") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory, not a file", f"Give the path of the {what}.") from None
    except OSError as e:
        raise error(f"cannot read {path}: {e.strerror or e}") from None


def read_stdin(
    *,
    limit: int,
    stream: IO[Any] | None = None,
    source: str = STDIN_NAME,
    too_big_hint: str | None = None,
    too_big: str | None = None,
    error: type[InputError] = InputError,
) -> bytes:
    """At most ``limit`` bytes of ``stream`` (default: sys.stdin), read from its byte buffer when it has one."""
    if stream is None:
        stream = sys.stdin
    if stream is None:  # no stdin at all (a detached or windowless process)
        raise error(f"cannot read {source}: there is no standard input")
    # Prefer the byte stream under a text stream, so decoding errors are the caller's to report.
    binary = getattr(stream, "buffer", None)
    try:
        return read_limited(
            binary if binary is not None else stream,
            source,
            limit=limit,
            too_big_hint=too_big_hint,
            too_big=too_big,
            error=error,
        )
    except UnicodeDecodeError as e:
        # A text stream with no buffer decoded for us, and failed.
        raise error(f"{source} is not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise error(f"cannot read {source}: {e.strerror or e}") from None


def read_limited(
    stream: IO[Any],
    source: str,
    *,
    limit: int,
    too_big_hint: str | None = None,
    too_big: str | None = None,
    error: type[InputError] = InputError,
) -> bytes:
    """At most ``limit + 1`` bytes are read: enough to tell the input is too big, never the whole of a huge one."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        if isinstance(chunk, str):  # a text stream (e.g. StringIO): count UTF-8 bytes
            chunk = chunk.encode("utf-8", "surrogatepass")
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise error(too_big or f"{source} is larger than {describe_size(limit)}", too_big_hint)
    return b"".join(chunks)


def decode_utf8(raw: bytes, source: str, *, error: type[InputError] = InputError) -> str:
    """UTF-8 text, or one line naming the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            f"{source} is not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start}", "Save it as UTF-8 text."
        ) from None
