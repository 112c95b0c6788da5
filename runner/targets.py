"""Targets: where the suite's test processes run.

- host     this kernel, directly (the default).
- userns   fresh user, IPC, PID and mount namespaces, as a rootless container sees the kernel: runner/native/
           nsrun maps ids 0..65535 inside to 100000.. outside (only the caller's uid when not root), mounts the
           namespace's /proc and runs each test process as pid 2 under a minimal pid 1.
- bwrap    Debian's bubblewrap with its sandboxing switched on (--unshare-all, read-only /, private /dev,
           /proc and /tmp), started as an unprivileged user (uid 65534) as desktop sandboxes are.
- qemu:K   boot kernel image K under qemu-system-x86_64 with an initramfs of statically linked test binaries
           (see runner/qemu/); the whole run happens in the guest, the runner replays its records.

Each test process of a target gets the same record file ($IPCSUITE_RESULT_FILE) and verdict logic as on the
host (runner/plugin.py); only how the process is started differs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from runner import build as build_mod
from runner import deps, inputs
from runner import target_oci, target_wrap
from runner.errors import SetupError, UsageError
from runner.qemu import vm

ROOT = Path(__file__).resolve().parent.parent
NSRUN_SRC = ROOT / "runner" / "native" / "nsrun.c"
USERNS_UID_BASE = 100000   # what uid 0 of the userns target is outside
BWRAP_UID = 65534          # the unprivileged user bwrap runs as (when the runner is root)
SIMPLE = ("host", "userns", "bwrap")


def _native_dir() -> Path:
    return build_mod.build_dir() / "native"


def nsrun_path() -> Path:
    return _native_dir() / "nsrun"


def build_nsrun() -> Path:
    """Compiles runner/native/nsrun.c into build/native/nsrun (once; again when the source changes)."""
    out = nsrun_path()
    if out.exists() and out.stat().st_mtime >= NSRUN_SRC.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise SetupError("no C compiler (gcc) to build runner/native/nsrun.c")
    tmp = out.with_suffix(".tmp")
    proc = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", str(tmp), str(NSRUN_SRC)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(f"building {NSRUN_SRC.name} failed: {proc.stdout.strip()[:300]}")
    tmp.chmod(0o755)
    tmp.replace(out)
    return out


def _install(packages: list[str], what: str) -> None:
    missing = deps.missing_packages(packages)
    if not missing:
        return
    if os.geteuid() != 0:
        raise SetupError(f"target {what} needs Debian packages {' '.join(missing)}; as root run: "
                         + deps.apt_line(missing))
    deps.install(missing)


@dataclass
class Target:
    name: str                      # as shown in reports: host, userns, bwrap, qemu:<kernel file name>
    kind: str                      # host, userns, bwrap, qemu
    spec: str = ""                 # what the user wrote
    kernel: Path | None = None     # qemu only
    options: dict = field(default_factory=dict)

    # ---- availability ----
    def packages(self) -> list[str]:
        return {"bwrap": ["bubblewrap"], "qemu": ["qemu-system-x86"]}.get(self.kind, [])

    def availability(self) -> tuple[bool, str]:
        """(available, reason) without installing anything."""
        if self.kind == "host":
            return True, f"this kernel ({os.uname().release})"
        if self.kind == "userns":
            try:
                n = int(Path("/proc/sys/user/max_user_namespaces").read_text())
            except (OSError, ValueError):
                n = 0
            if n == 0:
                return False, "user namespaces are disabled (user.max_user_namespaces = 0)"
            if not (shutil.which("gcc") or shutil.which("cc")):
                return False, "no C compiler to build runner/native/nsrun.c (Debian package gcc)"
            try:
                probe = subprocess.run([str(build_nsrun()), "--", "true"], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, timeout=20, check=False)
            except (SetupError, OSError, subprocess.TimeoutExpired) as e:
                return False, f"could not start nsrun: {e}"
            if probe.returncode != 0:
                return False, "creating the namespaces failed: " + " ".join(probe.stdout.split())[:200]
            ids = f"ids 0-65535 -> {USERNS_UID_BASE}-" if os.geteuid() == 0 else "own uid -> 0"
            return True, f"user+ipc+pid+mount namespaces ({ids}), this kernel"
        if self.kind == "bwrap":
            if deps.missing_packages(["bubblewrap"]):
                return False, ("bubblewrap is not installed (Debian package bubblewrap; installed on demand "
                               "when run as root)")
            probe = subprocess.run(self.wrap(["true"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, timeout=20, check=False, **self.popen_kwargs())
            if probe.returncode != 0:
                return False, "bwrap could not create its sandbox: " + " ".join(probe.stdout.split())[:200]
            return True, "bubblewrap --unshare-all as uid %d, this kernel" % (
                BWRAP_UID if os.geteuid() == 0 else os.geteuid())
        if self.kind == "qemu":
            if self.kernel is not None and self.kernel.exists() and (why := kernel_problem(self.kernel)):
                return False, why
            return vm.availability(self)
        if self.kind == "oci":
            return target_oci.availability(self.options)
        if self.kind == "wrap":
            return target_wrap.availability(self.options)
        return False, "unknown target"

    def ensure(self) -> None:
        """Installs what the target needs (as root) or raises SetupError saying what is missing."""
        if self.packages():
            _install(self.packages(), self.name)
        if self.kind == "userns":
            build_nsrun()
        if self.kind == "qemu" and self.kernel is None and self.options.get("version"):
            self.kernel = vm.fetch_kernel(vm.kernel_package(self.options["version"]))
        if self.kind == "oci":  # installs the runtime, probes it once (one line, exit 2), writes the rootfs
            target_oci.ensure(self.options)
            return
        if self.kind == "wrap":  # one probe: the wrapper starts a test binary (one line, exit 2 if not)
            target_wrap.probe(self.options, target_wrap.probe_binary(build_mod.build_dir()),
                              self.options.get("timeout_scale", 1.0))
        ok, why = self.availability()
        if not ok:
            raise SetupError(f"target {self.name} is not available here: {why}")

    # ---- running a test process ----
    def outer_uid(self) -> int | None:
        """The uid the test processes have outside their namespaces (None: the runner's own)."""
        if os.geteuid() != 0:
            return None
        if self.kind == "userns":
            return USERNS_UID_BASE
        if self.kind == "bwrap":
            return BWRAP_UID
        return None

    def give(self, path: str | Path) -> None:
        """Makes a file or directory the runner created writable by the test processes."""
        uid = self.outer_uid()
        if uid is not None:
            os.chown(path, uid, uid)

    def tmp_dir(self, run_tmp: str | None) -> str | None:
        """$TMPDIR for the test processes: a per-target directory inside the run's temporary directory."""
        if not run_tmp or self.kind == "host":
            return run_tmp
        d = Path(run_tmp) / self.kind
        try:
            d.mkdir(mode=0o711, exist_ok=True)
            self.give(d)
        except OSError:
            pass
        return str(d)

    def wrap(self, cmd: list[str], tmp: str | None = None) -> list[str]:
        if self.kind == "userns":
            return [str(nsrun_path()), "--uid-base", str(USERNS_UID_BASE), "--", *cmd]
        if self.kind == "bwrap":
            out = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                   "--unshare-all", "--die-with-parent"]
            # The private /tmp hides whatever lives under the host's /tmp: a build there (a CI clone's)
            # comes back read-only, the run's directory read-write. The binary is named by its real path
            # (a checkout may reach its build through symlinks the sandbox's user cannot follow), and its
            # build directory (bin/.., which also holds the preload libraries) is bound.
            if os.sep in cmd[0]:
                cmd = [os.path.realpath(cmd[0]), *cmd[1:]]
                if Path(cmd[0]).is_relative_to("/tmp"):
                    keep = os.path.dirname(os.path.dirname(cmd[0]))
                    out += ["--ro-bind", keep, keep]
            if tmp:
                out += ["--bind", tmp, tmp]
            return out + ["--", *cmd]
        if self.kind == "oci":
            return target_oci.wrap(self.options, cmd, tmp)
        if self.kind == "wrap":
            return target_wrap.wrap(self.options, cmd)
        return list(cmd)

    def popen_kwargs(self) -> dict:
        if self.kind == "bwrap" and os.geteuid() == 0:
            return {"user": BWRAP_UID, "group": BWRAP_UID, "extra_groups": []}
        return {}

    # ---- as data (the run's plan.json carries the target; nothing parses the spec again) ----
    def to_data(self) -> dict:
        return {"name": self.name, "kind": self.kind, "spec": self.spec,
                "kernel": str(self.kernel) if self.kernel is not None else None, "options": dict(self.options)}


def from_data(d: dict) -> Target:
    """The Target that Target.to_data() described (no spec parsing, no file lookups)."""
    kernel = d.get("kernel")
    return Target(name=d["name"], kind=d["kind"], spec=d.get("spec", ""),
                  kernel=Path(kernel) if kernel else None, options=dict(d.get("options") or {}))


# x86 boot protocol (Documentation/arch/x86/boot.rst): a bzImage has "HdrS" at 0x202 of its real-mode header.
BZIMAGE_MAGIC_AT, BZIMAGE_MAGIC = 0x202, b"HdrS"


def kernel_problem(path: Path) -> str | None:
    """Why `path` is not a kernel image qemu-system-x86_64 -kernel boots (a bzImage), or None. Checked
    before the build, so that qemu:/etc/passwd is one line at once and not a build and a run of failures."""
    if Path(path).is_dir():
        return f"{path} is a directory, not a kernel image"
    if not inputs.is_regular(path) and Path(path).exists():  # a FIFO, a device: opening one may wait forever
        return f"{path} is not a regular file, not a kernel image"
    try:
        with open(path, "rb") as f:
            f.seek(BZIMAGE_MAGIC_AT)
            magic = f.read(len(BZIMAGE_MAGIC))
    except OSError as e:
        return f"cannot read the kernel image {path}: {e.strerror}"
    if magic != BZIMAGE_MAGIC:
        return (f"{path} is not a Linux kernel image (an x86 bzImage has 'HdrS' at offset 0x202; "
                "./ipcsuite fetch-kernel gets one)")
    return None


def _parse_qemu(spec: str) -> Target:
    text = spec[len("qemu:"):]
    if not text:
        raise UsageError("target qemu needs a kernel image: qemu:<vmlinuz> (./ipcsuite fetch-kernel gets one)")
    if text in vm.KERNEL_VERSIONS:  # the kernel matrix: qemu:6.1, qemu:6.12, qemu:6.1-rt (fetched on first use)
        kernel = vm.fetched_kernel(text)
        return Target(name=spec, kind="qemu", spec=spec, kernel=kernel, options={"version": text})
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path)
    if not path.exists():
        # a bare name such as qemu:vmlinuz-6.1.0-56-amd64 or qemu:6.1 finds a fetched kernel
        hits = [k for k in vm.known_kernels() if text in k.name]
        if len(hits) == 1:
            path = hits[0]
    try:
        kernel = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop (RuntimeError before Python 3.13)
        raise UsageError(f"--target {spec}: cannot resolve the kernel image path: {e}") from None
    return Target(name=f"qemu:{path.name}", kind="qemu", spec=spec, kernel=kernel)


def parse(spec: str) -> Target:
    spec = spec.strip()
    if spec in SIMPLE:
        return Target(name=spec, kind=spec, spec=spec)
    if spec.startswith("qemu:"):
        return _parse_qemu(spec)
    if spec.startswith(target_wrap.PREFIX):
        name, options = target_wrap.parse(spec)
        return Target(name=name, kind="wrap", spec=spec, options=options)
    if spec.startswith(target_oci.PREFIX):
        name, options = target_oci.parse(spec)
        return Target(name=name, kind="oci", spec=spec, options=options)
    if spec == "qemu":
        raise UsageError("target qemu needs a kernel image: qemu:<vmlinuz> (./ipcsuite fetch-kernel gets one)")
    raise UsageError(f"unknown target {spec!r} (known: host, userns, bwrap, qemu:<kernel image>, wrap:CMD, "
                     "oci:RUNTIME)")


def parse_list(texts: list[str]) -> list[Target]:
    out: list[Target] = []
    for text in texts or ["host"]:
        for part in target_wrap.split_targets(text):
            if part.strip():
                t = parse(part)
                if any(o.name == t.name for o in out):
                    raise UsageError(f"target {t.name} given twice")
                out.append(t)
    if not out:
        raise UsageError("--target: no target given")
    return out
