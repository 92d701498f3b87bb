"""One writer per folder: `FolderLock(DIR)` holds DIR/.lock while a process writes DIR.

The lock file holds the holder's pid, hostname, start time (and, on Linux, the boot id and the
process's start tick, so a reused pid or a reboot is told apart from the holder). It is written
to a temp file and linked into place, so a reader sees either no lock or a complete one. The
holder also keeps an exclusive `flock` on it, which the kernel drops when the process dies.

A second writer is refused with one line naming the holder. A lock on this host whose process is
gone (kill -9, power loss) is taken over with a one-line note on stderr. A lock from another
host is refused (its process cannot be checked from here): the line says to delete the file
once that process is known to be gone.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from mri_gan.errors import MriGanError

LOCK_NAME = ".lock"


def _proc_start(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (Linux /proc), None where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def _flock(fd: int) -> bool | None:
    """Take an exclusive flock without waiting: True taken, False held by another open file,
    None where the filesystem has no flock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return None


def holder_alive(holder: dict) -> bool:
    """Whether the process a lock names may still run: True for another host (not checkable)."""
    if holder.get("host") != socket.gethostname():
        return True
    boot = _boot_id()
    if holder.get("boot_id") and boot and holder["boot_id"] != boot:
        return False  # written before the last boot
    pid = int(holder.get("pid", -1))
    if pid <= 0 or not _pid_alive(pid):
        return False
    start = _proc_start(pid)
    return holder.get("pid_start") is None or start is None or start == holder["pid_start"]


def describe(holder: dict) -> str:
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} (since {holder.get('started', '?')})"


class FolderLock:
    """`with FolderLock(dir, what):` or `acquire()` / `release()`; `what` names the writer in
    the refusal (e.g. "fit"). Not reentrant: a second lock on the same folder, in this process
    or another, is refused."""

    def __init__(self, directory, what: str = "a writer"):
        self.dir = Path(directory)
        self.path = self.dir / LOCK_NAME
        self.what = what
        self.fd: int | None = None
        self.note: str | None = None

    def _content(self) -> bytes:
        pid = os.getpid()
        return (json.dumps({"pid": pid, "host": socket.gethostname(),
                            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "pid_start": _proc_start(pid), "boot_id": _boot_id(), "what": self.what}) + "\n").encode()

    @staticmethod
    def _read(fd: int) -> dict:
        try:
            holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        except (OSError, ValueError):
            return {}
        return holder if isinstance(holder, dict) else {}

    def _refuse(self, holder: dict) -> MriGanError:
        other = holder.get("host") not in (None, socket.gethostname())
        hint = (f"; if that process is gone, delete {self.path}" if other
                else ": wait for it to end or stop it, then run again")
        return MriGanError(f"{self.dir} is being written by {describe(holder)}{hint}")

    def acquire(self) -> "FolderLock":
        if self.fd is not None:
            raise MriGanError(f"{self.path} is held already by this lock")
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f"{LOCK_NAME}.", suffix=".tmp")
        try:
            os.write(fd, self._content())
            os.fsync(fd)
            flocked = _flock(fd)
            for _ in range(20):  # each pass ends in a lock taken or refused, unless the file changed under it
                try:
                    os.link(tmp, self.path)
                    self.fd, fd = fd, None
                    return self
                except FileExistsError:
                    pass
                if self._take_over(tmp, flocked):
                    self.fd, fd = fd, None
                    return self
            raise MriGanError(f"{self.path} keeps changing: another process is taking the lock; run again")
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if fd is not None:
                os.close(fd)

    def _take_over(self, tmp: str, flocked: bool | None) -> bool:
        """The lock exists: refuse a live holder; replace a dead one's lock by ours (True);
        False when the file changed meanwhile, or another process is taking it over (look again)."""
        try:
            old = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            free = _flock(old) if flocked is not None else None
            holder = self._read(old)
            if free is False:
                if holder and not holder_alive(holder):  # another process is taking this dead lock over
                    time.sleep(0.05)
                    return False
                raise self._refuse(holder)
            if holder and holder_alive(holder):
                raise self._refuse(holder)
            try:
                if os.fstat(old).st_ino != os.stat(self.path).st_ino:
                    return False  # replaced since it was opened
            except FileNotFoundError:
                return False
            os.replace(tmp, self.path)  # under the old lock's flock, so one taker at a time
            what = describe(holder) if holder else "an unreadable lock"
            self.note = f"note: {self.path} was left by {what}, which is gone: taken over"
            print(self.note, file=sys.stderr, flush=True)
            return True
        finally:
            os.close(old)

    def release(self) -> None:
        """Remove the lock file (if it is still this lock's) and drop the flock."""
        if self.fd is None:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
