"""The oci:RUNTIME target: every test process in a container of an OCI runtime (runc, crun, any binary on PATH
that takes `spec` and `run --bundle DIR ID`), with the runtime's own default configuration.

- The configuration is what `RUNTIME spec` prints, as a container user gets it: root without a user
  namespace, the default capability set (runc and crun: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE),
  no_new_privs, the runtime's seccomp profile if its spec has one, fresh pid/net/ipc/uts/mount namespaces, a
  read-only rootfs, no host /tmp, RLIMIT_NOFILE 1024. Changed: only `terminal` (off: the runner talks to the
  process over pipes), the process (args, env, cwd) and one bind mount: the test processes' $TMPDIR (the run's
  per-target temporary directory, where the result and output files live), read-write at the same path.
- The rootfs (<build>/oci/rootfs, rebuilt by ensure(), hard links where it can) holds the build's bin/ and
  preload/ at their own absolute paths, the shared libraries they link (ldd) and a static pid 1
  (runner/native/ociinit.c), nothing else.
- A container per fork server: Target.wrap() gives `python3 runner/target_oci.py launch ...`, which writes the
  bundle's config.json (the environment of the contract below goes into process.env: a runtime does not pass
  its caller's environment on) and execs `RUNTIME run`. So a container lives as long as a pytest worker's
  fork server of one binary, and exec mode (--preload) starts one per test.
- ensure() installs runc/crun from Debian when missing (as root) and starts one trivial container first: a
  runtime that cannot start one here is one line with the runtime's own error (exit 2), not a run of failures.

The contract a test process needs (for writing another target):
  $IPCSUITE_RESULT_FILE   the file its record goes to (JSON lines; written by fixtures/main.cc)
  $TMPDIR                 a writable directory of its own (FIFOs, socket files, temp files)
  $IPCSUITE_SEED          the run's seed; $IPCSUITE_TIMEOUT_SCALE multiplies the tests' own deadlines
  $IPCSUITE_SOAK, $RC_PARAMS, $LD_PRELOAD, $IPCSUITE_NO_IPC_NAMESPACE   when set
The runner keeps the per-test deadline itself (killing the test's process tree by its host pid) and reads the
result file by its host path: both must be the same file inside and outside.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":  # the launcher runs as a script: make `runner` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner import build as build_mod  # noqa: E402
from runner import deps  # noqa: E402
from runner import workspace  # noqa: E402
from runner.errors import SetupError, UsageError  # noqa: E402

PREFIX = "oci:"
PYTHON = "/usr/bin/python3"
INIT_SRC = Path(__file__).resolve().parent / "native" / "ociinit.c"
INIT_IN_ROOTFS = "/ipcsuite-init"
DEBIAN = {"runc": "runc", "crun": "crun"}  # runtime -> Debian package
# What a test process gets from the runner's environment (the contract); the rest is the runtime's default.
ENV_PREFIXES = ("IPCSUITE_", "GTEST_", "RC_PARAMS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
                "LSAN_OPTIONS")
ENV_NAMES = ("TMPDIR", "LD_PRELOAD", "LD_BIND_NOW")
PROBE_TIMEOUT_S = 60


def parse(spec: str) -> tuple[str, dict]:
    runtime = spec[len(PREFIX):].strip()
    if not runtime or any(c.isspace() for c in runtime):
        raise UsageError(f"target {spec!r}: oci: takes an OCI runtime, e.g. oci:runc or oci:crun")
    return f"oci:{os.path.basename(runtime)}", {"runtime": runtime}


def _oci_dir() -> Path:
    return build_mod.build_dir() / "oci"


def _runtime_path(runtime: str) -> str | None:
    if os.sep in runtime:
        return runtime if os.access(runtime, os.X_OK) else None
    return shutil.which(runtime) or next(
        (p for p in (f"/usr/sbin/{runtime}", f"/sbin/{runtime}") if os.access(p, os.X_OK)), None)


def packages(options: dict) -> list[str]:
    runtime = options["runtime"]
    if _runtime_path(runtime) is None and runtime in DEBIAN:
        return [DEBIAN[runtime]]
    return []


def build_init() -> Path:
    out = _oci_dir() / "ociinit"
    if out.exists() and out.stat().st_mtime >= INIT_SRC.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise SetupError("no C compiler (gcc) to build runner/native/ociinit.c")
    tmp = out.with_suffix(".tmp")
    proc = subprocess.run([cc, "-static", "-O2", "-Wall", "-Wextra", "-o", str(tmp), str(INIT_SRC)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(f"building {INIT_SRC.name} failed: {proc.stdout.strip()[:300]}")
    tmp.replace(out)
    return out


# ---- the rootfs ----

def _place(rootfs: Path, src: str) -> None:
    """src (a host path) into the rootfs at the same path: a hard link where possible, else a copy; the
    symlinks on the way (/lib -> usr/lib, a library's soname link) are recreated as links."""
    real = os.path.realpath(src)
    dst = rootfs / real.lstrip("/")
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(real, dst)
        except OSError:
            shutil.copy2(real, dst)
    if real != os.path.abspath(src):
        # the link itself (e.g. libfoo.so.1 -> libfoo.so.1.2), as a link to the real file's path
        link = rootfs / os.path.abspath(src).lstrip("/")
        if not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(real, link)


def _libraries(files: list[Path]) -> set[str]:
    out: set[str] = set()
    for f in files:
        proc = subprocess.run(["ldd", str(f)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=False)
        for line in proc.stdout.splitlines():
            parts = line.split()
            if "=>" in parts:
                i = parts.index("=>")
                if i + 1 < len(parts) and parts[i + 1].startswith("/"):
                    out.add(parts[i + 1])
            elif parts and parts[0].startswith("/"):
                out.add(parts[0])  # the dynamic loader
    return out


def build_rootfs(bdir: Path, dest: Path, extra: list[Path] = ()) -> Path:
    """A rootfs with the build's test binaries and preload libraries, what they link, and the pid 1."""
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for top in ("lib", "lib64", "bin", "sbin", "lib32", "libx32"):  # merged /usr: keep the same links
        host = Path("/") / top
        if host.is_symlink():
            os.symlink(os.readlink(host), tmp / top)
            (tmp / top).resolve().mkdir(parents=True, exist_ok=True)
    for d in ("proc", "dev", "sys", "tmp", "etc", "run"):
        (tmp / d).mkdir(exist_ok=True)
    (tmp / "etc" / "passwd").write_text("root:x:0:0:root:/:/ipcsuite-init\nnobody:x:65534:65534:nobody:/:/"
                                        "ipcsuite-init\n")
    (tmp / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    shutil.copy2(build_init(), tmp / INIT_IN_ROOTFS.lstrip("/"))
    files = [p for d in ("bin", "preload") for p in sorted((bdir / d).glob("*"))
             if p.is_file() and (os.access(p, os.X_OK) or p.suffix == ".so")] + [Path(e) for e in extra]
    for f in files:
        _place(tmp, str(f))
        # the build directory as the runner names it (it may reach it through a symlink)
        if os.path.abspath(f) != os.path.realpath(f):
            _place(tmp, os.path.abspath(f))
    for lib in sorted(_libraries(files)):
        _place(tmp, lib)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


# ---- the configuration ----

def default_spec(runtime: str) -> dict:
    """The runtime's own default configuration (`RUNTIME spec`, in a scratch directory)."""
    exe = _runtime_path(runtime)
    if exe is None:
        raise SetupError(f"OCI runtime {runtime} is not installed"
                         + (f" (Debian package {DEBIAN[runtime]})" if runtime in DEBIAN else ""))
    with workspace.scratch("oci-spec") as d:
        proc = subprocess.run([exe, "spec"], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=30, check=False)
        cfg = Path(d) / "config.json"
        if proc.returncode != 0 or not cfg.exists():
            raise SetupError(f"{runtime} spec failed: {' '.join(proc.stdout.split())[:300]}")
        return json.loads(cfg.read_text())


def container_config(spec: dict, rootfs: str, args: list[str], env: dict, tmp: str | None) -> dict:
    cfg = json.loads(json.dumps(spec))
    proc = cfg.setdefault("process", {})
    proc["terminal"] = False
    proc["args"] = [INIT_IN_ROOTFS, "--", *args]
    proc["cwd"] = "/"
    base = [e for e in proc.get("env", []) if e.split("=", 1)[0] not in env]
    proc["env"] = base + [f"{k}={v}" for k, v in sorted(env.items())]
    cfg["root"] = dict(cfg.get("root") or {}, path=rootfs)
    mounts = cfg.setdefault("mounts", [])
    if tmp:
        mounts.append({"destination": tmp, "type": "bind", "source": tmp, "options": ["rbind", "rw"]})
    pre = env.get("LD_PRELOAD", "")
    for lib in pre.replace(":", " ").split():
        if os.path.isabs(lib) and not (Path(rootfs) / lib.lstrip("/")).exists():
            mounts.append({"destination": lib, "type": "bind", "source": lib, "options": ["bind", "ro"]})
    return cfg


def contract_env(environ: dict) -> dict:
    return {k: v for k, v in environ.items()
            if (k.startswith(ENV_PREFIXES) or k in ENV_NAMES) and "\n" not in v}


def _container_id() -> str:
    run = "".join(c for c in os.environ.get("IPCSUITE_RUN_ID", "x") if c.isalnum() or c in "-_")
    return f"ipcsuite-{run}-{os.getpid()}"


# ---- the target ----

def _probe(options: dict) -> tuple[bool, str]:
    exe = _runtime_path(options["runtime"])
    if exe is None:
        return False, f"{options['runtime']} is not installed" + (
            f" (Debian package {DEBIAN[options['runtime']]}; installed on demand when run as root)"
            if options["runtime"] in DEBIAN else "")
    if os.geteuid() != 0:
        return False, "the oci target starts containers as root (run ./ipcsuite as root)"
    try:
        spec = default_spec(options["runtime"])
        probe_root = _oci_dir() / "probe-rootfs"
        if not (probe_root / INIT_IN_ROOTFS.lstrip("/")).exists():
            for d in ("proc", "dev", "sys", "tmp"):
                (probe_root / d).mkdir(parents=True, exist_ok=True)
            shutil.copy2(build_init(), probe_root / INIT_IN_ROOTFS.lstrip("/"))
    except (SetupError, OSError, subprocess.SubprocessError) as e:
        return False, str(e)
    with workspace.scratch("oci-probe") as bundle:
        cfg = container_config(spec, str(probe_root), [], {}, None)
        cfg["process"]["args"] = [INIT_IN_ROOTFS, "--probe"]
        Path(bundle, "config.json").write_text(json.dumps(cfg))
        cid = f"ipcsuite-probe-{os.getpid()}"
        try:
            proc = subprocess.run([exe, "run", "--bundle", bundle, cid], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=PROBE_TIMEOUT_S, check=False)
            out, rc = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired:
            out, rc = f"no container started within {PROBE_TIMEOUT_S} s", -1
        finally:
            subprocess.run([exe, "delete", "--force", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
    if rc != 0 or "ok" not in out.split():
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        return False, f"{options['runtime']} cannot start a container here: " + (
            " | ".join(lines)[-300:] or f"exit {rc}")
    caps = ",".join(c.removeprefix("CAP_").lower() for c in
                    spec.get("process", {}).get("capabilities", {}).get("effective", []))
    seccomp = "a seccomp profile" if spec.get("linux", {}).get("seccomp") else "no seccomp profile"
    return True, f"{exe}, its default config (root, capabilities {caps or 'none'}, {seccomp}), this kernel"


def availability(options: dict) -> tuple[bool, str]:
    return _probe(options)


def ensure(options: dict) -> None:
    """Installs the runtime (root), probes it, writes its default spec and the rootfs; fills options."""
    missing = packages(options)
    if missing:
        if os.geteuid() != 0:
            raise SetupError(f"target oci:{options['runtime']} needs Debian packages {' '.join(missing)}; as "
                             f"root run: {deps.apt_line(missing)}")
        deps.install(missing)
    ok, why = _probe(options)
    if not ok:
        raise SetupError(why)
    bdir = build_mod.build_dir()
    d = _oci_dir()
    spec_file = d / f"spec-{os.path.basename(options['runtime'])}.json"
    spec_file.write_text(json.dumps(default_spec(options["runtime"]), indent=1) + "\n")
    rootfs = build_rootfs(bdir, d / "rootfs")
    options.update(runtime_path=_runtime_path(options["runtime"]), spec_file=str(spec_file),
                   rootfs=str(rootfs))


def wrap(options: dict, cmd: list[str], tmp: str | None) -> list[str]:
    if "rootfs" not in options:
        raise SetupError("the oci target was not prepared (Target.ensure)")
    if not tmp:  # launch writes the container's bundle there and execs the runtime: nothing would remove it
        raise SetupError("the oci target needs a temporary directory for its container's bundle")
    return [PYTHON, str(Path(__file__).resolve()), "launch", options["runtime_path"], options["spec_file"],
            options["rootfs"], tmp, "--", *cmd]


def sweep(options: dict, run_id: str) -> list[str]:
    """Deletes the containers of run `run_id` that are still there (a SIGKILLed fork server's)."""
    exe = options.get("runtime_path") or _runtime_path(options["runtime"])
    if not exe:
        return []
    proc = subprocess.run([exe, "list", "-q"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          check=False)
    gone = []
    for cid in proc.stdout.split():
        if cid.startswith(f"ipcsuite-{run_id}-"):
            subprocess.run([exe, "delete", "--force", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
            gone.append(cid)
    return gone


def launch(argv: list[str]) -> int:
    """launch RUNTIME SPEC_FILE ROOTFS TMP -- CMD...: one container running CMD under the pid 1."""
    if len(argv) < 6 or argv[4] != "--":
        print("target_oci launch: usage: launch RUNTIME SPEC_FILE ROOTFS TMP -- CMD...", file=sys.stderr)
        return 2
    exe, spec_file, rootfs, tmp, cmd = argv[0], argv[1], argv[2], argv[3] or None, argv[5:]
    spec = json.loads(Path(spec_file).read_text())
    cid = _container_id()
    bundle = Path(tempfile.mkdtemp(prefix=f"bundle-{cid}-", dir=tmp))
    cfg = container_config(spec, rootfs, cmd, contract_env(os.environ), tmp)
    (bundle / "config.json").write_text(json.dumps(cfg))
    os.execv(exe, [exe, "run", "--bundle", str(bundle), cid])
    return 127


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "launch":
        sys.exit(launch(sys.argv[2:]))
    print("usage: target_oci.py launch RUNTIME SPEC_FILE ROOTFS TMP -- CMD...", file=sys.stderr)
    sys.exit(2)
