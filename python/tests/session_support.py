"""Shared by the session library's tests: the server binary, waiting with a
deadline, a free port, a second client in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 20.0


def server_binary() -> Path:
    """$PROBESHARE_BIN (tests/python_package.rs sets it to cargo's build),
    else target/debug/probeshare of the repository."""
    named = os.environ.get("PROBESHARE_BIN")
    binary = Path(named) if named else REPO / "target" / "debug" / "probeshare"
    if not binary.exists():
        pytest.fail(f"no probeshare binary at {binary}: build it (cargo build) or set PROBESHARE_BIN")
    return binary


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_client(script: str, *args: str) -> "subprocess.CompletedProcess[str]":
    """Runs `script` in another process of this Python (which has the package)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True,
        timeout=DEADLINE_S * 3,
    )
