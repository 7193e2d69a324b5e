"""A `probeshare serve` this library spawned (`Session.start`).

Which binary: the ``binary`` argument, else the environment variable
``PROBESHARE_BIN``, else ``probeshare`` on PATH. The server picks its port
when asked for port 0; it is learnt from the log line every server writes,
``Serving debug probe ID (DESCRIPTION) on ADDR:PORT``, and the management
interface's address from ``Management interface on http://ADDR``. Then the
port is polled every 250 ms until it accepts. If the server exits first,
`ServerStartError` carries the last 500 bytes of its output.

Stopping: SIGTERM, up to 5 s for the server to exit, then SIGKILL.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, List, Optional, Sequence, Union

from .errors import ServerStartError, Timeout

POLL_INTERVAL_S = 0.25
STOP_GRACE_S = 5.0
OUTPUT_TAIL_BYTES = 500
SERVING = re.compile(r"Serving debug probe .* on (\S+):(\d+)")
MANAGEMENT = re.compile(r"Management interface on http://(\S+)")


def find_binary(binary: Union[str, Path, None]) -> str:
    """The server binary: `binary`, $PROBESHARE_BIN, or `probeshare` on PATH."""
    named = binary if binary is not None else os.environ.get("PROBESHARE_BIN")
    if named:
        return str(named)
    found = shutil.which("probeshare")
    if found is None:
        raise ServerStartError(
            "no probeshare binary: pass binary=, set PROBESHARE_BIN or put probeshare on PATH"
        )
    return found


class ServerProcess:
    """The spawned server: its `popen`, the address it serves, its output."""

    def __init__(self, args: Sequence[str], port: int, timeout: float) -> None:
        self.args = list(args)
        self.host = "127.0.0.1"
        self.port = port
        #: ``HOST:PORT`` of the management interface, when it serves one.
        self.management: Optional[str] = None
        self._output = bytearray()
        self._lock = threading.Lock()
        self._serving = threading.Event()
        try:
            self.popen = subprocess.Popen(
                self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as error:
            raise ServerStartError(f"cannot run {self.args[0]}: {error}") from None
        assert self.popen.stdout is not None
        self._reader = threading.Thread(
            target=self._read_output, args=(self.popen.stdout,), daemon=True,
            name="probeshare server output",
        )
        self._reader.start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> bytes:
        """Everything the server wrote so far (stdout and stderr)."""
        with self._lock:
            return bytes(self._output)

    def _read_output(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            text = line.decode(errors="replace")
            with self._lock:
                # Bounded: a server that logs forever keeps its last 64 KiB.
                self._output += line
                del self._output[: max(0, len(self._output) - 65536)]
            management = MANAGEMENT.search(text)
            if management and self.management is None:
                self.management = management.group(1)
            serving = SERVING.search(text)
            if serving and not self._serving.is_set():
                if self.port == 0:
                    self.host, self.port = serving.group(1), int(serving.group(2))
                self._serving.set()
        stream.close()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                self._reader.join(1.0)
                tail = self.output()[-OUTPUT_TAIL_BYTES:].decode(errors="replace")
                raise ServerStartError(
                    f"{' '.join(self.args)} exited with status {self.popen.returncode} "
                    f"before serving:\n{tail}"
                )
            if self.port != 0 and _accepts(self.host, self.port):
                return
            if time.monotonic() >= deadline:
                raise Timeout(
                    f"{' '.join(self.args)} did not accept connections within {timeout} s:\n"
                    + self.output()[-OUTPUT_TAIL_BYTES:].decode(errors="replace")
                )
            time.sleep(POLL_INTERVAL_S)

    def stop(self) -> None:
        """SIGTERM, up to 5 s, then SIGKILL; returns once the process is gone."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(STOP_GRACE_S)

    def wait_management(self, timeout: float) -> Optional[str]:
        """The management address, waiting up to `timeout` for its log line
        (the interface starts after the probes are served)."""
        if "--config" not in self.args:
            return self.management  # `serve --probe` has none
        deadline = time.monotonic() + timeout
        while self.management is None and self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.management


def serve_args(
    binary: str,
    probe: Optional[str],
    config: Union[str, Path, None],
    port: int,
    extra_args: Optional[List[str]],
) -> List[str]:
    """The command line: ``serve --probe P --port N`` or ``serve --config F``."""
    if (probe is None) == (config is None):
        raise ValueError("Session.start needs exactly one of probe= and config=")
    args = [binary, "serve"]
    if probe is not None:
        args += ["--probe", probe, "--port", str(port)]
    else:
        args += ["--config", str(config)]
    return args + list(extra_args or [])


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=POLL_INTERVAL_S).close()
    except OSError:
        return False
    return True
