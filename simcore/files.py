"""Atomic file writes: a crash leaves either the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def _default_mode() -> int:
    """Return the mode open() would give a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(
    path: Path,
    write: Callable[[BinaryIO], object],
    check: Callable[[Path], None] | None = None,
) -> None:
    """Write `path` through a temporary file in its folder, then rename it into place.

    `check`, if given, is called with the temporary file's path before the rename and
    may raise to keep the old file. The new file gets the permissions of a file made
    by open(), not the private mode of a temporary file. An OSError of the write
    names `path` rather than the temporary file.
    """
    temporary = None
    try:
        fd, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        temporary = Path(name)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, _default_mode())
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except OSError as error:
        if error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error
    finally:
        if temporary is not None and temporary.exists():
            temporary.unlink()
