"""Debian packages the project needs, and installing the missing ones."""
from __future__ import annotations

import os
import subprocess
import sys

from runner.errors import SetupError

# Debian package -> why it is needed.
PACKAGES = {
    "cmake": "build",
    "ninja-build": "build",
    "g++": "build",
    "pkg-config": "finding libseccomp",
    "libgtest-dev": "GoogleTest",
    "libgmock-dev": "GoogleMock",
    "librapidcheck-dev": "property tests",
    "libseccomp-dev": "fault layer",
    "python3-pytest": "runner",
    "python3-pytest-xdist": "parallel runs",
    "strace": "./ipcsuite bench inject compares with strace --inject",
}

# What an installed suite (cmake --install) needs to run: the runner's Python modules.
RUNTIME_PACKAGES = {k: PACKAGES[k] for k in ("python3-pytest", "python3-pytest-xdist")}

# Needed by ./ipcsuite test only (the project's own tests), on top of PACKAGES.
TEST_PACKAGES = {
    "clang-format": "format check",
    "manpages-dev": "ERRORS sections the catalogue is checked against",
    "clang": "libFuzzer targets",
    "libclang-rt-14-dev": "libFuzzer and sanitizer runtimes for clang",
    "util-linux": "setpriv and prlimit for the hostile-condition tests",
    "python3-yaml": "reading docs/ci-matrix.yml, whose steps test_ci_example.py runs",
    "libpython3.11-dev": "embedded CPython for the expectations fuzzer (runner/fuzz)",
    "stress-ng": "the load of ./ipcsuite run --load, which test_leaks.py checks",
    "python3-tap": "reading results.ktap back with an independent TAP parser (test_formats.py)",
    "python3-jsonschema": "validating results.json against reports/results.schema.json",
    "python3-hypothesis": "generated inputs for the report commands (test_report_inputs.py)",
    "python3-junitparser": "reading junit.xml back with an independent JUnit parser",
    "python3-lxml": "XPath checks of junit.xml",
    # The real systems the runner's self-tests run under: each reproducer in repro/<system>/ is checked
    # under its system (test_wrap.py), the bwrap and oci targets start real sandboxes and containers.
    "qemu-user": "repro/qemu-user/ reproducers, run under qemu-x86_64",
    "proot": "repro/proot/ reproducers",
    "firejail": "repro/firejail/ reproducers",
    "valgrind": "repro/valgrind/ reproducers and the wrap:valgrind target",
    "bubblewrap": "the bwrap target",
    "runc": "the oci:runc target",
    "crun": "the oci:crun target (where crun cannot start containers: its one-line refusal)",
}


# How long apt-get waits for the dpkg lock that another apt or dpkg holds (seconds).
APT_LOCK_WAIT_S = 600


def missing_packages(packages=None) -> list[str]:
    packages = list(packages or PACKAGES)
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    installed = {line.split()[0] for line in proc.stdout.splitlines()
                 if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


def apt_line(packages: list[str]) -> str:
    return "apt-get update && apt-get install -y " + " ".join(packages)


def ensure_packages(log=sys.stderr, extra=(), packages=None) -> None:
    """Installs missing packages as root (apt-get update once, then install); otherwise SetupError."""
    wanted = [*(PACKAGES if packages is None else packages), *extra]
    missing = missing_packages(wanted)
    if not missing:
        return
    if os.geteuid() != 0:
        raise SetupError("missing Debian packages " + " ".join(missing) + "; as root run: " + apt_line(missing))
    install(missing, log)


def install(missing: list[str], log=sys.stderr) -> None:
    """apt-get update, then apt-get install of the given packages (root only)."""
    if os.geteuid() != 0:
        raise SetupError("missing Debian packages " + " ".join(missing) + "; as root run: " + apt_line(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"ipcsuite: installing Debian packages: {' '.join(missing)}", file=log, flush=True)
    # Wait for another apt/dpkg (unattended-upgrades, a second run) to release its lock instead of failing.
    wait = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_S}"]
    for cmd in (["apt-get", *wait, "update", "-qq"],
                ["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", *missing]):
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env, check=False)
        if proc.returncode != 0:
            tail = " | ".join(proc.stdout.strip().splitlines()[-3:])
            raise SetupError(f"'{' '.join(cmd)}' failed (exit {proc.returncode}): {tail}")
    still = missing_packages(missing)
    if still:
        raise SetupError("packages still missing after apt-get install: " + " ".join(still))


def main(packages: list[str]) -> int:
    """`python3 -m runner.deps PACKAGE...`: installs those packages now (as root; otherwise one line with the
    apt-get command), exit 2 when that fails. ./ipcsuite runs it for python3-pytest before its command line
    (which imports pytest) starts."""
    try:
        install(packages)
    except SetupError as e:
        print(f"ipcsuite: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
