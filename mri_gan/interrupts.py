"""SIGTERM handled as Ctrl-C: a batch scheduler or a preemptible machine ends a job with SIGTERM.

`catch_sigterm()` makes SIGTERM raise `Terminated` (a KeyboardInterrupt, so every `except
KeyboardInterrupt` that saves a checkpoint saves it) in the main thread; `restore_sigterm()` puts
the previous handler back. Further SIGTERMs are ignored while the first one is handled, so the
checkpoint it triggers is written whole. The CLI ends with `exit_code` (130 for Ctrl-C, 143 for
SIGTERM: 128 + the signal number) and one line: the one the handler printed (`reported` set), or
`message`.
"""

from __future__ import annotations

import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be."""

    exit_code = 128 + signal.SIGTERM
    message = "terminated (SIGTERM)"


def exit_code(e: KeyboardInterrupt) -> int:
    return getattr(e, "exit_code", 130)


def describe(e: KeyboardInterrupt) -> str:
    """How the interrupt is named in the line the CLI prints."""
    return getattr(e, "message", "interrupted")


def _raise_terminated(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one at a time: the checkpoint it triggers is written whole
    raise Terminated()


def catch_sigterm():
    """Route SIGTERM to `Terminated`; returns the previous handler for `restore_sigterm` (None
    outside the main thread, where Python cannot set handlers: SIGTERM then keeps its action)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
