"""The qemu target: boot a kernel image with an initramfs holding the statically linked suite.

- build-static/ (cmake -DIPCSUITE_STATIC=ON) holds the statically linked test binaries;
- build-static/qemu/init is runner/qemu/init.c linked statically: it runs every planned test as its own
  process in the guest and writes one JSON line per test to the second serial port;
- the initramfs (newc cpio, uncompressed) is written by this module: no cpio or busybox needed;
- KVM is used when /dev/kvm opens and a probe boot (a plan with no tests) finishes in time; otherwise TCG.
  The probe's verdict is cached per kernel image in build-static/qemu/accel-<kernel>.txt.
- ./ipcsuite fetch-kernel downloads Debian's linux-image-amd64 kernel (apt-get download, dpkg-deb -x)
  into build-static/kernels/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from runner import deps
from runner.catalogue import SELF_AREAS
from runner.errors import SetupError, UsageError

ROOT = Path(__file__).resolve().parents[2]
INIT_SRC = Path(__file__).resolve().parent / "init.c"
QEMU = "qemu-system-x86_64"
# Areas whose binaries cannot work statically linked, so the qemu target does not run them: none now (the
# property area's fault agent, linked in, issues the system call itself where dlsym(RTLD_NEXT) finds nothing).
DYNAMIC_ONLY_AREAS: dict[str, str] = {}


def static_build_dir() -> Path:
    return Path(os.environ.get("IPCSUITE_STATIC_BUILD_DIR", ROOT / "build-static"))


def kernels_dir() -> Path:
    return static_build_dir() / "kernels"


def known_kernels() -> list[Path]:
    return sorted(kernels_dir().glob("*/boot/vmlinuz-*"))


# The kernel matrix: VERSION (as in qemu:VERSION and fetch-kernel VERSION) -> Debian's meta package and the
# pattern of the versioned package it depends on (which names the directory fetch_kernel unpacks it into).
KERNEL_VERSIONS = {
    "6.1": ("linux-image-amd64", re.compile(r"^linux-image-6\.1\.\d+-\d+-amd64$")),
    "6.1-rt": ("linux-image-rt-amd64", re.compile(r"^linux-image-6\.1\.\d+-\d+-rt-amd64$")),
    "6.12": ("linux-image-6.12-amd64", re.compile(r"^linux-image-6\.12\.\d+\+deb\d+-amd64$")),
    "6.12-rt": ("linux-image-6.12-rt-amd64", re.compile(r"^linux-image-6\.12\.\d+\+deb\d+-rt-amd64$")),
}


def kernel_package(version: str) -> str:
    if version not in KERNEL_VERSIONS:
        raise UsageError(f"unknown kernel version {version!r} (known: {', '.join(KERNEL_VERSIONS)}; "
                         "--package names any Debian kernel package)")
    return KERNEL_VERSIONS[version][0]


def fetched_kernel(version: str) -> Path | None:
    """The newest fetched kernel image of a matrix VERSION (None: not fetched yet)."""
    pattern = KERNEL_VERSIONS[version][1]
    hits = [k for k in known_kernels() if pattern.match(k.parent.parent.name)]
    return hits[-1] if hits else None


def availability(target) -> tuple[bool, str]:
    if target.kernel is None:
        return False, "no kernel image: ./ipcsuite fetch-kernel downloads Debian's 6.1 kernel"
    if deps.missing_packages(["qemu-system-x86"]):
        return False, "qemu-system-x86 is not installed (Debian package; installed on demand when run as root)"
    if not target.kernel.is_file():
        return False, f"kernel image {target.kernel} does not exist"
    accel = cached_accel(target.kernel)
    how = {"kvm": "KVM", "tcg": "TCG (software emulation)"}.get(accel or "", "KVM if a probe boot works, else TCG")
    return True, f"boots {target.kernel} with {how}"


# ---- fetching Debian's kernel ----

def fetch_kernel(package: str = "linux-image-amd64", log=sys.stderr) -> Path:
    if shutil.which("apt-get") is None:
        raise SetupError("apt-get is missing: fetch-kernel needs Debian's apt")
    real = package
    proc = subprocess.run(["apt-cache", "depends", package], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        if os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            proc = subprocess.run(["apt-cache", "depends", package], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise SetupError(f"apt-cache does not know {package}: {proc.stderr.strip()[:200]}")
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            real = line.split(":", 1)[1].strip()
            break
    dest = kernels_dir() / real
    found = sorted(dest.glob("boot/vmlinuz-*"))
    if found:
        print(f"ipcsuite: {real} is already unpacked", file=log)
        return found[0]
    dl = kernels_dir() / "deb"
    dl.mkdir(parents=True, exist_ok=True)
    os.chmod(dl, 0o777)  # apt-get download drops privileges to _apt where it can
    print(f"ipcsuite: downloading Debian package {real}", file=log, flush=True)
    proc = subprocess.run(["apt-get", "download", real], cwd=dl, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    debs = sorted(dl.glob(f"{real}_*.deb"))
    if proc.returncode != 0 or not debs:
        raise SetupError(f"apt-get download {real} failed: {proc.stdout.strip()[-300:]}")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(f"dpkg-deb -x {debs[-1].name} failed: {proc.stdout.strip()[:300]}")
    # keep the kernel, its config and System.map; drop the modules (the suite needs none)
    shutil.rmtree(tmp / "lib", ignore_errors=True)
    shutil.rmtree(tmp / "usr", ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    debs[-1].unlink()
    found = sorted(dest.glob("boot/vmlinuz-*"))
    if not found:
        raise SetupError(f"{real} holds no boot/vmlinuz-*")
    return found[0]


# ---- building the guest ----

def _run_logged(cmd, log_path: Path, what: str, cwd=None):
    with open(log_path, "a") as out:
        out.write("$ " + " ".join(map(str, cmd)) + "\n")
        out.flush()
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-10:]
        raise SetupError(f"{what} failed (exit {proc.returncode}); see {log_path}: " + " | ".join(tail)[-400:])


def build_static(binary_names: list[str], log=sys.stderr) -> Path:
    """Configures build-static/ with IPCSUITE_STATIC=ON and builds the given test binaries."""
    bdir = static_build_dir()
    bdir.mkdir(parents=True, exist_ok=True)
    logf = bdir / "ipcsuite-build.log"
    logf.write_text("")
    print(f"ipcsuite: building static test binaries in {bdir} (log: {logf})", file=log, flush=True)
    if not (bdir / "build.ninja").exists():
        _run_logged(["cmake", "-S", ROOT, "-B", bdir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                     "-DIPCSUITE_STATIC=ON"], logf, "configuring build-static")
    try:
        _run_logged(["cmake", "--build", bdir, "--parallel", str(os.cpu_count() or 1), "--target",
                     *binary_names, "--", "-k", "0"], logf, "building the static test binaries")
    except SetupError as e:
        built = [n for n in binary_names if (bdir / "bin" / n).is_file()]
        if not built:
            raise
        print(f"ipcsuite: warning: {e}", file=log, flush=True)
    return bdir / "bin"


def build_init(log=sys.stderr) -> Path:
    out = static_build_dir() / "qemu" / "init"
    if out.exists() and out.stat().st_mtime >= INIT_SRC.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise SetupError("no C compiler (gcc) for runner/qemu/init.c")
    proc = subprocess.run([cc, "-static", "-O2", "-Wall", "-Wextra", "-o", str(out), str(INIT_SRC)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(f"building runner/qemu/init.c failed: {proc.stdout.strip()[:400]}")
    return out


class Cpio:
    """A newc cpio archive (what the kernel unpacks as initramfs)."""

    def __init__(self, f):
        self.f = f
        self.ino = 1000

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev=(0, 0)):
        self.ino += 1
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08X}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0))
        self.f.write(hdr.encode() + nb)
        self.f.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        self.f.write(data)
        self.f.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data: bytes, mode=0o755):
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)


def build_initramfs(out: Path, init: Path, binaries: dict[str, Path], plan: list[tuple[str, str]],
                    jobs: int, timeout: float) -> Path:
    """binaries: guest name -> static binary; plan: (guest name, Suite.Name) pairs."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stripped = out.parent / "stripped"
    stripped.mkdir(exist_ok=True)
    strip = shutil.which("strip")
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        c = Cpio(f)
        for d in ("dev", "proc", "sys", "tmp", "bin"):
            c.dir(d)
        c.chardev("dev/console", 5, 1)
        c.chardev("dev/null", 1, 3)
        c.file("init", init.read_bytes())
        for name, path in sorted(binaries.items()):
            src = path
            if strip:
                dst = stripped / name
                if not dst.exists() or dst.stat().st_mtime < path.stat().st_mtime:
                    subprocess.run([strip, "--strip-debug", "-o", str(dst), str(path)], check=True)
                src = dst
            c.file(f"bin/{name}", src.read_bytes())
        text = f"jobs\t{jobs}\ttimeout_s\t{timeout:g}\n" + "".join(f"/bin/{b}\t{t}\n" for b, t in plan)
        c.file("plan.tsv", text.encode(), 0o644)
        c.close()
    tmp.replace(out)
    return out


# ---- booting ----

def _kvm_usable() -> tuple[bool, str]:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
        return True, ""
    except OSError as e:
        return False, f"/dev/kvm: {e.strerror}"


def _accel_cache(kernel: Path) -> Path:
    return static_build_dir() / "qemu" / f"accel-{kernel.name}.txt"


def cached_accel(kernel: Path) -> str | None:
    try:
        return _accel_cache(kernel).read_text().split()[0]
    except (OSError, IndexError):
        return None


def qemu_command(kernel: Path, initrd: Path, console: Path, results: Path, accel: str, cpus: int,
                 memory_mb: int = 1024) -> list[str]:
    cmd = [QEMU, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
           "-m", str(memory_mb), "-smp", str(cpus),
           "-kernel", str(kernel), "-initrd", str(initrd),
           "-append", "console=ttyS0 panic=-1 loglevel=4 rdinit=/init",
           "-serial", f"file:{console}", "-serial", f"file:{results}"]
    if accel == "kvm":
        cmd += ["-accel", "kvm", "-cpu", "host"]
    else:
        cmd += ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return cmd


def _boot(cmd: list[str], results: Path, deadline_s: float, progress=None, expected: int = 0) -> tuple[int | None, float]:
    """Runs qemu until it exits or the deadline passes. Returns (exit status or None on timeout, seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    seen = 0
    try:
        while True:
            try:
                rc = proc.wait(timeout=0.5)
                return rc, time.monotonic() - start
            except subprocess.TimeoutExpired:
                pass
            if progress and results.exists():
                n = results.read_bytes().count(b"@@IPCSUITE {")
                if n != seen:
                    seen = n
                    progress(n, expected, time.monotonic() - start)
            if time.monotonic() - start > deadline_s:
                return None, time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def choose_accel(kernel: Path, init: Path, mode: str, log=sys.stderr) -> tuple[str, str]:
    """('kvm'|'tcg', why)."""
    if mode == "tcg":
        return "tcg", "--qemu-accel tcg"
    ok, why = _kvm_usable()
    if not ok:
        if mode == "kvm":
            raise SetupError(f"--qemu-accel kvm: {why}")
        return "tcg", why
    if mode == "kvm":
        return "kvm", "--qemu-accel kvm"
    cached = cached_accel(kernel)
    if cached:
        return cached, "cached probe result (" + _accel_cache(kernel).read_text().strip() + ")"
    # probe: boot with an empty plan under KVM; it must print its end line within 20 s
    work = static_build_dir() / "qemu" / "probe"
    work.mkdir(parents=True, exist_ok=True)
    initrd = build_initramfs(work / "initrd.cpio", init, {}, [], 1, 1)
    console, results = work / "console.log", work / "results.log"
    for p in (console, results):
        p.unlink(missing_ok=True)
    print("ipcsuite: probing KVM with a boot that runs no test (at most 20 s)", file=log, flush=True)
    rc, secs = _boot(qemu_command(kernel, initrd, console, results, "kvm", 1, 256), results, 20)
    good = results.exists() and b"@@IPCSUITE-END" in results.read_bytes()
    verdict = "kvm" if good else "tcg"
    why = (f"KVM probe boot finished in {secs:.1f} s" if good
           else f"KVM probe boot did not finish in 20 s (qemu {'timed out' if rc is None else f'exit {rc}'})")
    _accel_cache(kernel).write_text(f"{verdict} {why}\n")
    return verdict, why


def guest_selection(manifest, tests) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """What the guest runs: (binaries, plan) for the selected tests.

    manifest: the build's (name, area, path) rows (catalogue.read_manifest), the one list of binaries per
    area; an area may have several (unix: unix_test and unix_property_test), and each test runs from the
    binary that lists it. tests: catalogue.TestCase. binaries: CMake target name -> area, only those the
    tests come from (self-test and dynamic-only areas are never packed); plan: (binary name, Suite.Name).
    """
    by_path = {os.path.realpath(path): (name, area) for name, area, path in manifest
               if area not in SELF_AREAS and area not in DYNAMIC_ONLY_AREAS}
    binaries: dict[str, str] = {}
    plan: list[tuple[str, str]] = []
    for t in tests:
        hit = by_path.get(os.path.realpath(t.binary))
        if hit is None or hit[1] != t.area:
            continue
        binaries[hit[0]] = hit[1]
        plan.append((hit[0], t.name))
    return binaries, plan


def parse_results(text: str, binaries: dict[str, str]) -> tuple[dict, dict, bool]:
    """The guest's serial lines -> (environment, {(area, Suite.Name): record}, finished)."""
    env: dict = {}
    recs: dict = {}
    finished = False
    for line in text.splitlines():
        line = line.strip("\r")
        if line.startswith("@@IPCSUITE-START "):
            env = json.loads(line.split(" ", 1)[1])
        elif line.startswith("@@IPCSUITE {"):
            try:
                r = json.loads(line.split(" ", 1)[1])
            except json.JSONDecodeError:
                continue
            area = binaries.get(r["binary"].removeprefix("/bin/"), "?")
            recs[(area, r["test"])] = r
        elif line.startswith("@@IPCSUITE-END"):
            finished = True
    return env, recs, finished


def run_guest(target, binaries: dict[str, str], plan: list[tuple[str, str]], *, jobs: int,
              timeout: float, accel_mode: str, out_dir: Path, log=sys.stderr) -> dict:
    """Builds the guest, boots it, returns {"environment": {...}, "results": {(area, test): {...}}, ...}.

    binaries: CMake target name -> area (every binary of the selected tests, see guest_selection);
    plan: (binary name, Suite.Name).
    """
    kernel = target.kernel
    static_bin = build_static(sorted(binaries), log)
    init = build_init(log)
    paths = {name: static_bin / name for name in binaries}
    unbuilt = sorted(name for name, p in paths.items() if not p.is_file())
    for name in unbuilt:
        print(f"ipcsuite: warning: no static {name}; its tests get no result in the guest", file=log)
        del paths[name]
    plan = [(b, t) for b, t in plan if b in paths]
    accel, why = choose_accel(kernel, init, accel_mode, log)
    cpus = max(1, min(jobs, os.cpu_count() or 1))
    out_dir.mkdir(parents=True, exist_ok=True)
    initrd = build_initramfs(static_build_dir() / "qemu" / "initrd.cpio", init, paths, plan, cpus, timeout)
    console, results = out_dir / "console.log", out_dir / "results.log"
    for p in (console, results):
        p.unlink(missing_ok=True)
    cmd = qemu_command(kernel, initrd, console, results, accel, cpus)
    print(f"ipcsuite: booting {kernel.name} under qemu ({accel.upper()}: {why}), {cpus} CPUs, "
          f"{len(plan)} tests", file=log, flush=True)
    last = [0.0]

    def progress(n, total, secs):
        if secs - last[0] >= 10 or n == total:
            last[0] = secs
            print(f"ipcsuite: qemu guest: {n}/{total} tests done after {secs:.0f} s", file=log, flush=True)

    deadline = 120 + len(plan) * 2.0 + timeout
    rc, secs = _boot(cmd, results, deadline, progress, len(plan))
    text = results.read_text(errors="replace") if results.exists() else ""
    env, recs, finished = parse_results(text, binaries)
    problem = ""
    if unbuilt:
        problem = f"the static build of {', '.join(unbuilt)} failed (see {static_build_dir()}/ipcsuite-build.log)"
    if not env:
        tail = console.read_text(errors="replace").strip().splitlines()[-8:] if console.exists() else []
        problem = (f"the guest did not start its init (qemu {'timed out' if rc is None else f'exit {rc}'}"
                   f" after {secs:.0f} s); console: " + " | ".join(tail)[-600:])
    elif not finished:
        problem = (f"the guest stopped after {len(recs)} of {len(plan)} tests (qemu "
                   f"{'timed out' if rc is None else f'exit {rc}'} after {secs:.0f} s); see {console}")
    print(f"ipcsuite: qemu guest ran {len(recs)} tests in {secs:.1f} s of wall time ({accel.upper()})",
          file=log, flush=True)
    env.update({"accel": accel, "accel_reason": why, "boot_wall_s": round(secs, 3), "kernel_image": str(kernel),
                "guest_cpus": cpus})
    return {"environment": env, "results": recs, "problem": problem, "console": str(console)}
