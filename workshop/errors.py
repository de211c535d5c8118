"""The one exception type the CLI turns into a one-line error instead of a traceback."""


class WorkshopError(Exception):
    """A user-facing error: the message names the file/key at fault and the fix."""
