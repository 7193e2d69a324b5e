"""Fixtures: a scripted fake server, and the real probeshare server.

The real server is the binary named by $PROBESHARE_BIN (tests/python_package.rs
sets it to the one cargo built), else target/debug/probeshare of the
repository; a test that needs it fails when neither exists.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVING = re.compile(r"Serving debug probe .* on (\S+):(\d+)")
DEADLINE_S = 20.0

Answer = Optional[Dict[str, Any]]


class FakeServer:
    """Answers one connection's requests with `answer(request) -> fields`,
    in order, and records what it received. Answers are held while
    `holding` is set, so a test can see what a client sends without waiting;
    `received` lists requests as they arrive."""

    def __init__(self, answer: Callable[[Dict[str, Any]], Answer]) -> None:
        self._answer = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.received: List[Dict[str, Any]] = []
        self.holding = threading.Event()
        self.most_unanswered = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.settimeout(0.05)
        buffered = b""
        unanswered: List[Dict[str, Any]] = []
        while True:
            try:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    self.received.append(request)
                    unanswered.append(request)
                self.most_unanswered = max(self.most_unanswered, len(unanswered))
                continue
            except (socket.timeout, TimeoutError):
                pass
            except OSError:
                return
            # Nothing more arrived for a while: answer what came, unless held.
            if self.holding.is_set():
                continue
            for request in unanswered:
                reply = {"id": request["id"], "status": 0, **(self._answer(request) or {})}
                connection.sendall(json.dumps(reply).encode() + b"\n")
            unanswered.clear()

    def names(self) -> List[str]:
        return [r["request"] for r in self.received]

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"only {self.names()} arrived"
            time.sleep(0.005)


@pytest.fixture
def fake_server() -> Callable[[Callable[[Dict[str, Any]], Answer]], FakeServer]:
    return FakeServer


def _server_binary() -> Path:
    named = os.environ.get("PROBESHARE_BIN")
    binary = Path(named) if named else REPO / "target" / "debug" / "probeshare"
    if not binary.exists():
        pytest.fail(f"no probeshare binary at {binary}: build it (cargo build) or set PROBESHARE_BIN")
    return binary


@pytest.fixture
def probeshare_server() -> Iterator[Tuple[str, int]]:
    """A real `probeshare serve --probe sim` on a free loopback port."""
    process = subprocess.Popen(
        [str(_server_binary()), "serve", "--probe", "sim", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = None
        lines = []
        deadline = time.monotonic() + DEADLINE_S
        while address is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = SERVING.search(line)
            if match:
                address = (match.group(1), int(match.group(2)))
        assert address is not None, "server did not start:\n" + "".join(lines)
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield address
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE_S)
