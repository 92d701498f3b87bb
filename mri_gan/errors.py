"""User-facing errors.

Library code raises `MriGanError` for bad input (missing dir, unreadable config, no images);
the CLI turns it into a one-line message and a non-zero exit code, never a traceback.
"""


class MriGanError(Exception):
    """A problem with the user's input or environment, explained in one line."""
