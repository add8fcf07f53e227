"""Cached virtual environments for independent peer implementations (pyslac, Josev) that must not share our
interpreter: Josev's top-level package is also called `iso15118`, pyslac needs marshmallow<4. One venv per
name and machine under $XDG_CACHE_HOME/v2g-interop (default ~/.cache), created on first use."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "v2g-interop"
JOSEV_REQUIREMENTS = ("iso15118==0.31.2", "aiofile")
# pip's messages when PyPI cannot be reached; any other failure is a real error, never a skip
_OFFLINE = ("NewConnectionError", "Temporary failure", "Network is unreachable", "Could not find a version",
            "No matching distribution")


def cached_venv(name: str, requirements: tuple[str, ...] | list[str]) -> str:
    """The interpreter of venv `name` holding exactly-pinned `requirements`; installed once, then reused.
    Skips the calling test (with pip's error) only when the install fails for lack of network."""
    venv = CACHE / name
    python = venv / "bin" / "python"
    # written last, so an interrupted install is redone rather than reused half-done
    installed = venv / "v2g-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and installed.exists() and installed.read_text() == wanted:
        return str(python)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], capture_output=True,
                         text=True, timeout=900)
    if pip.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        reason = pip.stderr.strip()[-300:]
        if any(word in reason for word in _OFFLINE):
            pytest.skip(f"cannot install {' '.join(requirements)} from PyPI (no network): {reason}")
        raise RuntimeError(f"pip install {' '.join(requirements)} failed: {reason}")
    installed.write_text(wanted)
    return str(python)


def josev_python() -> str:
    """Josev (PyPI `iso15118` 0.31.2): the interpreter named by V2G_JOSEV_PYTHON, else its cached venv."""
    return os.environ.get("V2G_JOSEV_PYTHON") or cached_venv("josev-0.31.2", JOSEV_REQUIREMENTS)
