#!/usr/bin/env python3
"""Side-by-side benchmark: probeshare against pyOCD's own probe server, directly and over a slow link.

    cargo build --release && python3 bench/side_by_side.py

starts, in one run, `probeshare serve --probe sim --memory-handles` (and, for one
row, the same without `--memory-handles`, its default) and pyOCD's
`DebugProbeServer` serving two in-memory pyOCD probes (one CMSIS-DAP-like,
offering only DP/AP register access; one also offering a memory interface, like
pyOCD's ST-Link driver), and drives both servers with the same clients:

- the benchmark's own protocol client: `read_dp` ping-pong; 64 KiB
  `read_block32`/`write_block32` through a memory handle; 64 KiB through
  AP-level TAR/DRW requests (what pyOCD's client sends for CMSIS-DAP probes);
- pyOCD's real client (its Python API): `target.read_memory_block32` of 64 KiB,
  timed after the connect.

Each workload runs directly on loopback and again through a latency proxy adding
`--delay-ms` (default 10) one way in each direction, modelling a VPN. Every
number is the median of several repetitions; the table shows both servers, the
ratio pyOCD/probeshare (higher: probeshare faster) and the targets of issue 5.

pyOCD runs from `--python` (or $PROBESHARE_BENCH_PYTHON), by default the
virtual environment the end-to-end tests use, target/pyocd-venv, which is made
here (pyocd==0.46.0 from PyPI) when missing. Exits 0 when it ran, whether or not
targets were met (`--require-targets` makes an unmet target exit 1).
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import raw_client  # noqa: E402
from processes import BENCH_DIR, Children, ChildFailed, pyocd_client_reads  # noqa: E402
from report import Row, markdown_table, median, unmet_targets  # noqa: E402

REPO = os.path.dirname(BENCH_DIR)
PYOCD_VERSION = "0.46.0"
DEFAULT_PYTHON = os.path.join(REPO, "target", "pyocd-venv", "bin", "python")
DEFAULT_PROBESHARE = os.path.join(REPO, "target", "release", "probeshare")
PYOCD_CLIENT_TIMEOUT_SECONDS = 120


class Plan:
    """How many repetitions each kind of measurement gets, per link."""

    def __init__(self, quick, slow_link):
        if slow_link:
            self.round_trips, self.blocks, self.pyocd_reads = (5, 2, 2) if quick else (20, 5, 5)
        else:
            self.round_trips, self.blocks, self.pyocd_reads = (50, 3, 3) if quick else (1000, 31, 21)


def ensure_python(python):
    """The interpreter with pyOCD; makes (or completes) the default virtual environment."""
    has_pyocd = [python, "-c", "import pyocd"]
    if os.path.exists(python) and subprocess.run(has_pyocd, capture_output=True).returncode == 0:
        return python
    if python != DEFAULT_PYTHON:
        raise ChildFailed("%s cannot import pyocd (pip install pyocd==%s)" % (python, PYOCD_VERSION))
    venv = os.path.dirname(os.path.dirname(python))
    print("making %s with pyocd==%s ..." % (venv, PYOCD_VERSION), file=sys.stderr, flush=True)
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "pyocd==" + PYOCD_VERSION], check=True)
    return python


def _alternating_medians(ours, theirs, repetitions):
    """Median seconds of `ours()` and of `theirs()`, run in turn so that load from
    elsewhere on the machine falls on both alike; None for a side that is None."""
    samples = ([], [])
    for side in (ours, theirs):
        if side is not None:
            side()  # a warm-up, not counted
    for _ in range(repetitions):
        for side, taken in zip((ours, theirs), samples):
            if side is not None:
                taken.append(side())
    return median(samples[0]), median(samples[1])


def protocol_workloads(servers, plan):
    """The raw-client workloads on probeshare and on pyOCD's two probes; returns
    {workload: (probeshare seconds, pyOCD seconds)}, probeshare None where it offers no handle.

    pyOCD's CMSIS-DAP-like probe takes the round trips and TAR/DRW workloads, its
    probe with a memory interface the handle workloads. Writes come before reads,
    which check that they read the pattern written.
    """
    clients = {}
    try:
        for name in ("probeshare", "cmsis_dap_like", "with_handles"):
            clients[name] = raw_client.RawClient(*servers[name])
            clients[name].attach()
        ours, theirs_ap, theirs_handle = (clients["probeshare"], clients["cmsis_dap_like"],
                                          clients["with_handles"])
        our_handle = ours.memory_handle()
        their_handle = theirs_handle.memory_handle()
        if their_handle is None:
            raise raw_client.RemoteError("pyOCD's probe with a memory interface gave no handle")
        pattern = raw_client.test_pattern()

        def on(client, workload, *arguments):
            return lambda: workload(client, *arguments)

        results = {"read_dp": _alternating_medians(on(ours, raw_client.read_dp_round_trip),
                                                   on(theirs_ap, raw_client.read_dp_round_trip),
                                                   plan.round_trips)}
        for name, workload in (("ap_write", raw_client.ap_write), ("ap_read", raw_client.ap_read)):
            results[name] = _alternating_medians(on(ours, workload, pattern),
                                                 on(theirs_ap, workload, pattern), plan.blocks)
        for name, workload in (("handle_write", raw_client.handle_write),
                               ("handle_read", raw_client.handle_read)):
            our_side = None if our_handle is None else on(ours, workload, our_handle, pattern)
            results[name] = _alternating_medians(our_side, on(theirs_handle, workload, their_handle, pattern),
                                                 plan.blocks)
        for client in clients.values():
            client.detach()
        return results
    finally:
        for client in clients.values():
            client.close()


def pyocd_client_workloads(python, servers, plan):
    """pyOCD's client on probeshare and pyOCD's two probes; returns {server: result}."""
    names = ("probeshare", "probeshare_default", "cmsis_dap_like", "with_handles")
    results = pyocd_client_reads(python, [servers[name] for name in names], plan.pyocd_reads,
                                 PYOCD_CLIENT_TIMEOUT_SECONDS)
    return {name: {"read": median(result["read_s"]), "memory_handle": result["memory_handle"]}
            for name, result in zip(names, results)}


def measure_link(children, python, servers, link, delay_ms, quick):
    """Every workload on one link; returns table rows."""
    plan = Plan(quick, delay_ms > 0)
    if delay_ms > 0:
        servers = {name: children.latency_proxy(address, delay_ms) for name, address in servers.items()}
    progress("%s: protocol workloads" % link)
    protocol = protocol_workloads(servers, plan)
    progress("%s: pyOCD's client" % link)
    client = pyocd_client_workloads(python, servers, plan)
    our_client, their_client_ap, their_client_handle = (
        client["probeshare"], client["cmsis_dap_like"], client["with_handles"])
    our_default = client["probeshare_default"]

    direct, slow = delay_ms == 0, delay_ms > 0
    our_path = "handle" if our_client["memory_handle"] else "TAR/DRW"
    default_path = "handle" if our_default["memory_handle"] else "TAR/DRW"
    return [
        Row("read_dp round trip", link, *protocol["read_dp"]),
        Row("read_block32 64 KiB, handle vs handle", link, *protocol["handle_read"],
            target=4 if direct else None),
        Row("write_block32 64 KiB, handle vs handle", link, *protocol["handle_write"]),
        Row("read 64 KiB, handle vs pyOCD's TAR/DRW", link, protocol["handle_read"][0],
            protocol["ap_read"][1], target=10 if direct else None),
        Row("read 64 KiB, TAR/DRW vs TAR/DRW", link, *protocol["ap_read"]),
        Row("write 64 KiB, TAR/DRW vs TAR/DRW", link, *protocol["ap_write"]),
        Row("pyOCD client read 64 KiB (%s) vs CMSIS-DAP-like" % our_path, link, our_client["read"],
            their_client_ap["read"], target=20 if slow else None),
        Row("pyOCD client read 64 KiB (%s) vs with handle" % our_path, link, our_client["read"],
            their_client_handle["read"]),
        Row("pyOCD client read 64 KiB, no --memory-handles (%s) vs CMSIS-DAP-like" % default_path, link,
            our_default["read"], their_client_ap["read"]),
    ]


def progress(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def describe_run(args, python, seconds):
    pyocd_version = subprocess.run([python, "-c", "import pyocd; print(pyocd.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    slow_link = "slow link +%g ms each way" % args.delay_ms if args.delay_ms > 0 else "no slow link"
    return ("%s, %s, %d CPUs, Python %s, pyOCD %s, %s run, %s, took %.0f s"
            % (datetime.date.today().isoformat(), platform.machine(), os.cpu_count() or 0,
               platform.python_version(), pyocd_version or "?", "quick" if args.quick else "full",
               slow_link, seconds))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=os.environ.get("PROBESHARE_BENCH_PYTHON", DEFAULT_PYTHON),
                        help="Python with pyOCD (default: $PROBESHARE_BENCH_PYTHON or %(default)s)")
    parser.add_argument("--probeshare", default=DEFAULT_PROBESHARE, help="probeshare binary")
    parser.add_argument("--delay-ms", type=float, default=10.0,
                        help="one-way delay of the slow link; 0 skips it (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="few repetitions, for CI-sized runs")
    parser.add_argument("--require-targets", action="store_true",
                        help="exit 1 when a target is not met")
    return parser.parse_args()


def main():
    args = parse_arguments()
    started = time.monotonic()
    children = Children()
    try:
        python = ensure_python(args.python)
        servers = {"probeshare": children.probeshare(args.probeshare, "--memory-handles"),
                   "probeshare_default": children.probeshare(args.probeshare)}
        servers.update(children.pyocd_server(python))
        rows = measure_link(children, python, servers, "direct", 0, args.quick)
        if args.delay_ms > 0:
            rows += measure_link(children, python, servers, "+%g ms each way" % args.delay_ms,
                                 args.delay_ms, args.quick)
    except (ChildFailed, raw_client.RemoteError, OSError, subprocess.CalledProcessError) as error:
        print("benchmark failed: %s" % error, file=sys.stderr)
        return 2
    finally:
        children.stop_all()
    print(describe_run(args, python, time.monotonic() - started))
    print()
    print(markdown_table(rows))
    unmet = unmet_targets(rows)
    if unmet:
        print("\ntargets not met: " + "; ".join("%s (%s)" % (row.workload, row.link) for row in unmet))
    return 1 if unmet and args.require_targets else 0


if __name__ == "__main__":
    sys.exit(main())
