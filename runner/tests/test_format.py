"""The C and C++ sources follow the repository's .clang-format."""
import subprocess

from runner.tests.conftest import ROOT


def test_sources_are_clang_formatted():
    files = sorted(str(p) for d in ("fixtures", "suite", "property", "fault")
                   for p in (ROOT / d).rglob("*") if p.suffix in (".cc", ".h"))
    # the runner's own C and C++: the fuzz harness, the preload interposers of the self-tests, the qemu init
    files += sorted(str(p) for p in (ROOT / "runner").rglob("*") if p.suffix in (".c", ".cc", ".h"))
    assert files
    proc = subprocess.run(["clang-format", "--dry-run", "--Werror", *files], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    offenders = sorted({line.split(":")[0] for line in proc.stderr.splitlines() if ": error:" in line})
    assert proc.returncode == 0, "not clang-formatted (run clang-format -i): " + " ".join(offenders)
