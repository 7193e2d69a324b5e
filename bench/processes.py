"""The benchmark's child processes: probeshare, pyOCD's server, latency proxies, pyOCD's client.

Every child is started here and stopped by `Children.stop_all` (also on error).
The Python ones also stop when their standard input closes and probeshare is
sent SIGTERM by the kernel when the benchmark dies, so even a killed benchmark
leaves none behind.
"""

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
STARTUP_SECONDS = 30.0
PR_SET_PDEATHSIG = 1
SERVING_LINE = re.compile(r"Serving debug probe .* on (\S+):(\d+)\s*$")


def _terminate_with_parent():
    """Runs in the child before exec: Linux sends it SIGTERM when the benchmark dies,
    even by SIGKILL (elsewhere this does nothing, and `stop_all` is all there is)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class ChildFailed(Exception):
    """A child process did not start or did not finish as expected."""


def _first_matching_line(stream, pattern, process, what, keep):
    """Reads `stream` until a line matches `pattern`; keeps draining it afterwards in a thread."""
    found = []
    ready = threading.Event()

    def drain():
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            keep.append(line)
            del keep[:-50]
            if not found:
                match = pattern.search(line)
                if match:
                    found.append(match)
                    ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(STARTUP_SECONDS) or not found:
        process.kill()
        raise ChildFailed("%s did not start; its last output:\n%s" % (what, "\n".join(keep)))
    return found[0]


class Children:
    def __init__(self):
        self._running = []  # (process, how to stop it)

    def _spawn(self, argv, stop, **kwargs):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(argv, env=env, **kwargs)
        self._running.append((process, stop))
        return process

    def probeshare(self, binary, *options):
        """`probeshare serve --probe sim --port 0 OPTIONS...`; returns its (host, port)."""
        if not os.path.exists(binary):
            raise ChildFailed("no probeshare binary at %s (run `cargo build --release`)" % binary)
        process = self._spawn([binary, "serve", "--probe", "sim", "--port", "0", *options], "sigterm",
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=_terminate_with_parent)
        match = _first_matching_line(process.stderr, SERVING_LINE, process, "probeshare", [])
        return match.group(1), int(match.group(2))

    def pyocd_server(self, python):
        """pyOCD's DebugProbeServer with the two in-memory probes; returns {name: (host, port)}."""
        process = self._spawn([python, os.path.join(BENCH_DIR, "pyocd_probe_server.py")], "stdin",
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        match = _first_matching_line(process.stdout, re.compile(r"^PORTS (.*)$"), process,
                                     "pyOCD's probe server", [])
        ports = dict(item.split("=") for item in match.group(1).split())
        return {name: ("127.0.0.1", int(port)) for name, port in ports.items()}

    def pyocd_relay_server(self, python, probeshare_address):
        """pyOCD's DebugProbeServer serving the probeshare at `probeshare_address` through
        pyOCD's own remote client; returns its (host, port)."""
        process = self._spawn([python, os.path.join(BENCH_DIR, "pyocd_relay_server.py"),
                               "%s:%d" % probeshare_address], "stdin",
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        match = _first_matching_line(process.stdout, re.compile(r"^PORT (\d+)$"), process,
                                     "pyOCD's relay server", [])
        return "127.0.0.1", int(match.group(1))

    def latency_proxy(self, address, delay_ms):
        """A proxy adding `delay_ms` each way in front of `address`; returns its (host, port)."""
        process = self._spawn([sys.executable, os.path.join(BENCH_DIR, "latency_proxy.py"),
                               "--target", "%s:%d" % address, "--delay-ms", str(delay_ms)], "stdin",
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        match = _first_matching_line(process.stdout, re.compile(r"^LISTENING (\d+)$"), process,
                                     "the latency proxy", [])
        return "127.0.0.1", int(match.group(1))

    def stop_all(self):
        for process, stop in reversed(self._running):
            if process.poll() is not None:
                continue
            if stop == "sigterm":
                process.send_signal(signal.SIGTERM)
            else:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._running.clear()


def pyocd_client_reads(python, addresses, repetitions, timeout_seconds):
    """Runs `pyocd_client_workload.py` against `addresses`; returns its JSON result, one per address."""
    argv = [python, os.path.join(BENCH_DIR, "pyocd_client_workload.py"),
            "--repetitions", str(repetitions)] + ["%s:%d" % address for address in addresses]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_seconds,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
    except subprocess.TimeoutExpired:
        raise ChildFailed("pyOCD's client took over %.0f s" % timeout_seconds)
    if done.returncode != 0:
        raise ChildFailed("pyOCD's client failed:\n%s" % done.stderr.decode(errors="replace")[-3000:])
    return json.loads(done.stdout.decode().strip().splitlines()[-1])
