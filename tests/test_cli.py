import subprocess
import sys

import pytest

from iso15118.cli import SUBCOMMANDS, main


def test_v2g_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"  {name}" in out


def test_v2g_unknown_command_exits_2(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_v2g_without_command_prints_usage_and_fails(capsys):
    assert main([]) == 2


@pytest.mark.parametrize("module", ["iso15118", "slac", "metering"])
def test_console_scripts_run_as_modules(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr
