class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


class SetupError(Exception):
    """The machine cannot run the suite (missing packages, build failure): one line, exit 2."""
