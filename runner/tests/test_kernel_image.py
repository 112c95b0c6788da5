"""--target qemu:FILE with a FILE that is no kernel image is one line and exit 2 at once, before the build
(it used to build for minutes, then report every test `failed`).

The files are generated (python3-hypothesis): arbitrary bytes, and bytes with the bzImage magic moved off
its offset. IPCSUITE_FUZZ_EXAMPLES raises their number (default 60).
"""
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import cli, targets

EXAMPLES = int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def not_a_kernel(data: bytes) -> bool:
    return data[targets.BZIMAGE_MAGIC_AT:targets.BZIMAGE_MAGIC_AT + 4] != targets.BZIMAGE_MAGIC


@SETTINGS
@given(st.one_of(st.binary(max_size=1024),
                 st.tuples(st.integers(0, 0x300), st.binary(max_size=0x300)).map(
                     lambda t: (t[1] + bytes(0x400))[:t[0]] + targets.BZIMAGE_MAGIC + t[1])).filter(not_a_kernel))
def test_a_file_that_is_no_kernel_image_is_refused_before_the_build(capsys, monkeypatch, content):
    # The build directory does not exist: a run that got as far as the build would say so instead.
    monkeypatch.setenv("IPCSUITE_BUILD_DIR", "/nonexistent/ipcsuite-build")
    with tempfile.TemporaryDirectory() as d:
        image, results = Path(d) / "vmlinuz", Path(d) / "results"
        image.write_bytes(content)
        start = time.monotonic()
        rc = cli.main(["run", "--target", f"qemu:{image}", "--results-dir", str(results)])
        err = capsys.readouterr().err
        assert rc == 2, err
        assert err.strip().splitlines() == [f"ipcsuite: error: --target qemu:{image}: {image} is not a Linux kernel "
                                            "image (an x86 bzImage has 'HdrS' at offset 0x202; ./ipcsuite "
                                            "fetch-kernel gets one)"]
        assert time.monotonic() - start < 10
        assert not results.exists()


def test_other_files_that_are_no_kernel_image(capsys, tmp_path):
    for spec, needle in ((f"qemu:{tmp_path}", "is a directory, not a kernel image"),
                         (f"qemu:{tmp_path}/none", "no such kernel image"),
                         ("qemu:/etc/passwd", "/etc/passwd is not a Linux kernel image")):
        rc = cli.main(["run", "--no-build", "--target", spec, "--results-dir", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, (spec, err)


def test_a_bzimage_header_passes_the_check(tmp_path):
    image = tmp_path / "vmlinuz"
    image.write_bytes(bytes(0x202) + b"HdrS" + bytes(100))
    assert targets.kernel_problem(image) is None
    ok, why = targets.parse(f"qemu:{tmp_path / 'other'}").availability()
    assert not ok
