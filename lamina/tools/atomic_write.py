"""Outputs are written to a temporary file beside the target and renamed over it, so a failure
half-way never leaves a truncated or corrupted output behind."""

from __future__ import annotations

import os
import tempfile


def process_umask() -> int:
    """The process umask. Linux reports it in /proc without touching it; elsewhere it is set
    and put back, which for that instant lets other threads create files unmasked."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _mode_for(path: str) -> int:
    """The permissions a plain `open(path, "w")` would leave: the existing file's when it is
    being replaced, else 0666 less the process umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~process_umask()


def write_bytes_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes the file private (0600); give it the mode any new file would get.
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomically(path: str, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))
