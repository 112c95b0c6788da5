class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


class SetupError(Exception):
    """The machine cannot run the suite (missing packages, build failure): one line, exit 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (CI cancellation, timeout(1), systemd): takes Ctrl-C's path (stop the tests, clean up), then
    exit 143."""


class Reported(SetupError):
    """A set-up problem whose one line a child process (pytest) has already written: exit 2, no more."""
