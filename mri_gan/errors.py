"""User-facing errors.

Library code raises `MriGanError` for bad input (missing dir, unreadable config, no images);
the CLI turns it into a one-line message and a non-zero exit code, never a traceback. A file that could not be written is a `WriteError`.
"""

import re


class MriGanError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class WriteError(MriGanError, OSError):
    """A file that could not be written (disk full, quota, read-only or failing disk): one line
    naming it and why. An OSError too, so code that catches OSError still does; whoever knows
    what the failure leaves in place (a run's last good checkpoint, the images written so far)
    adds that to the line."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path


def write_error(path, e: BaseException, what: str = "") -> WriteError:
    """The WriteError for `e` raised while writing `path` (`what` names it, e.g. "checkpoint")."""
    reason = getattr(e, "strerror", None) or getattr(e, "message", None) or str(e) or type(e).__name__
    reason = reason.strip().splitlines()[-1] if reason.strip() else type(e).__name__
    reason = reason.rsplit("; ", 1)[-1]  # TensorFlow's "<temp file>; No space left on device [Op:SaveV2]"
    reason = re.sub(r"\s*\[Op:\w+\]$", "", reason)[:200]
    return WriteError(f"cannot write {what + ' ' if what else ''}{path}: {reason}", path)


def as_write_error(e: BaseException) -> WriteError | None:
    """`e` as a WriteError when it is one, or an OSError that only a write raises (disk full,
    quota, read-only filesystem, file too large, I/O error); None otherwise."""
    import errno

    if isinstance(e, WriteError):
        return e
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO):
        return write_error(e.filename or "a file", e)
    return None
