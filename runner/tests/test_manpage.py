"""ipcsuite(1) is generated from the parser and formats cleanly; shell completion (python3-argcomplete)
completes commands and options."""
import os
import shutil
import subprocess

import pytest

from runner import cli, manpage
from runner.tests.conftest import ROOT


def test_man_page_has_every_command_and_option_and_groff_accepts_it(tmp_path):
    page = tmp_path / "ipcsuite.1"
    page.write_text(manpage.render())
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = subprocess.run(["groff", "-man", "-Tascii", "-P-bcou", str(page)], capture_output=True, text=True,
                          check=True).stdout
    text = text.replace("-\n", "-")
    parser = cli.make_parser()
    for action in parser._subparsers._group_actions[0].choices.items():
        name, sub = action
        assert f"\n   {name}\n" in text, name
        for opt in set(sub._option_string_actions) - {"-h", "--help"}:
            assert opt in text, f"{name} {opt}"
    assert "EXIT STATUS" in text


def complete(line: str, tmp_path) -> list[str]:
    out = tmp_path / "completions"
    env = dict(os.environ, _ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line)), _ARGCOMPLETE_IFS="\n")
    subprocess.run(["bash", "-c", f"{ROOT}/ipcsuite 8>{out} 9>/dev/null"], env=env, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60, check=False)
    return [w.strip() for w in out.read_text().splitlines() if w.strip()]


def test_shell_completion_completes_commands_and_options(tmp_path):
    if cli.argcomplete is None:
        pytest.skip("python3-argcomplete is not installed")
    assert set(complete("ipcsuite r", tmp_path)) == {"run", "rules", "report"}
    assert complete("ipcsuite run --ru", tmp_path) == ["--rule"]
    assert "--timeout-scale" in complete("ipcsuite run --ti", tmp_path) or \
        complete("ipcsuite run --ti", tmp_path) == ["--test-timeout"]
