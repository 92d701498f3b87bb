"""SIGTERM handled as Ctrl-C: a batch scheduler or a preemptible machine ends a job with SIGTERM.

`catch_sigterm()` makes SIGTERM raise `Terminated` (a KeyboardInterrupt, so every `except
KeyboardInterrupt` that saves a checkpoint saves it) in the main thread; `restore_sigterm()` puts
the previous handler back. Further SIGTERMs are ignored while the first one is handled, so the
checkpoint it triggers is written whole. The CLI ends with `exit_code` (130 for Ctrl-C, 143 for
SIGTERM: 128 + the signal number) and one line: the one the handler printed (`reported` set), or
`message`.

`deferred()`: while it is active, Ctrl-C and SIGTERM raise nowhere: they are recorded, and
`raise_pending()` raises them at a point where the state is whole (fit and classify: after a
batch's callbacks, `mri_gan.gans.callbacks.PendingInterrupt`; classify also between seeds). A
signal raised where it lands can land while a train step runs: the step finishes in TensorFlow's
C++ code and the KeyboardInterrupt comes right after it, before the callbacks count that batch,
so a checkpoint would record one batch fewer than its weights were trained on and a resumed run
would train that batch twice. A second Ctrl-C while one waits raises at once (a step that hangs
can still be stopped); a second SIGTERM is ignored. Recording also keeps an interrupt from being
lost: Python drops an exception raised inside a garbage-collection callback or `__del__`
("Exception ignored in ..."), where a signal handler that raises may run (JAX registers such a
callback).
"""

from __future__ import annotations

import contextlib
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


_PENDING: list = []  # the interrupt `deferred()` recorded, raised by `raise_pending()`


def _record(signum, frame):
    if signum == signal.SIGINT and _PENDING:  # a second Ctrl-C: at once
        raise KeyboardInterrupt()
    if not _PENDING:
        _PENDING.append(Terminated() if signum == signal.SIGTERM else KeyboardInterrupt())


def raise_pending() -> None:
    """Raise the interrupt `deferred()` recorded, if any."""
    if _PENDING:
        raise _PENDING.pop()


@contextlib.contextmanager
def deferred():
    """Ctrl-C and SIGTERM recorded instead of raised while active (main thread only; elsewhere a
    no-op), for `raise_pending()`; on leaving, the previous handlers are back, SIGTERM ignored
    when a `Terminated` goes through (as `catch_sigterm`'s handler does)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is _record:
        yield  # not the main thread, or inside another `deferred()`: that one records
        return
    _PENDING.clear()
    previous = signal.signal(signal.SIGINT, _record), signal.signal(signal.SIGTERM, _record)
    terminated = False
    try:
        yield
    except Terminated:
        terminated = True
        raise
    finally:
        _PENDING.clear()
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, signal.SIG_IGN if terminated else previous[1])
