"""./ipcsuite targets and ./ipcsuite fetch-kernel."""
from __future__ import annotations

import json
import subprocess
import sys

from runner import targets
from runner.errors import SetupError
from runner.qemu import vm


def add_parsers(sub) -> None:
    tp = sub.add_parser("targets", help="list the targets and whether each is available here (and why not)")
    tp.add_argument("--json", action="store_true", help="print JSON: one object per target")
    fk = sub.add_parser("fetch-kernel", help="download Debian's kernel package for the qemu target")
    fk.add_argument("version", nargs="?", choices=sorted(vm.KERNEL_VERSIONS), metavar="VERSION",
                    help="a kernel of the matrix: " + ", ".join(vm.KERNEL_VERSIONS) + " (Debian's meta "
                         "packages; qemu:VERSION then finds it); default: --package")
    fk.add_argument("--package", default="linux-image-amd64",
                    help="Debian package (default linux-image-amd64, i.e. the current 6.1 kernel)")


def cmd_targets(args) -> int:
    rows = [targets.parse(s) for s in targets.SIMPLE]
    kernels = vm.known_kernels()
    if kernels:
        rows += [targets.parse(f"qemu:{k}") for k in kernels]
    else:
        rows.append(targets.Target(name="qemu:<kernel>", kind="qemu", spec="qemu:"))
    rows += [targets.parse(f"qemu:{v}") for v in vm.KERNEL_VERSIONS if vm.fetched_kernel(v)]
    rows += [targets.parse("oci:runc"), targets.parse("oci:crun")]
    w = max(len(t.name) for t in rows)
    found = []
    for t in rows:
        try:
            ok, why = t.availability()
        except (SetupError, OSError, subprocess.SubprocessError) as e:
            ok, why = False, str(e)
        found.append({"target": t.name, "kind": t.kind, "available": ok, "reason": why})
        if not args.json:
            print(f"{t.name:<{w}}  {'available' if ok else 'unavailable':<11}  {why}")
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not kernels:
        print("(./ipcsuite fetch-kernel downloads Debian's 6.1 kernel for the qemu target)", file=sys.stderr)
    return 0


def cmd_fetch_kernel(args) -> int:
    path = vm.fetch_kernel(vm.kernel_package(args.version) if args.version else args.package)
    print(path)
    print(f"try it: ./ipcsuite run --target qemu:{path}", file=sys.stderr)
    return 0


def run(args) -> int:
    return {"targets": cmd_targets, "fetch-kernel": cmd_fetch_kernel}[args.command](args)
