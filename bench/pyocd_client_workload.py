"""pyOCD's real client reading 64 KiB through remote probe servers, as a user's script would.

Run as a script (with a Python that has pyOCD):
`pyocd_client_workload.py --repetitions N HOST:PORT...` connects to each server with
`ConnectHelper.session_with_chosen_probe(unique_id="remote:HOST:PORT",
target_override="cortex_m")` and writes a test pattern to RAM; then, the sessions
all open, times N rounds of `target.read_memory_block32(0x20000000, 16384)` on
each server in turn (in turn, so that load from elsewhere falls on all alike),
checks every read, and prints one JSON line: a list with, per server,
`{"connect_s": ..., "read_s": [...], "memory_handle": bool}`.
pyOCD picks the path itself: a memory handle where the server offers one, TAR/DRW otherwise.
"""

import argparse
import json
import logging
import time

from pyocd.core.helpers import ConnectHelper

RAM = 0x20000000
BLOCK_WORDS = 16384


def connect(address, pattern):
    start = time.perf_counter()
    session = ConnectHelper.session_with_chosen_probe(
        unique_id="remote:" + address, target_override="cortex_m", options={"no_config": True})
    session.open()
    connect_seconds = time.perf_counter() - start
    memory_ap = session.target.selected_core.ap
    uses_handle = getattr(memory_ap, "_accelerated_memory_interface", None) is not None
    session.target.write_memory_block32(RAM, pattern)
    return session, {"connect_s": connect_seconds, "read_s": [], "memory_handle": uses_handle}


def timed_read(target, pattern):
    start = time.perf_counter()
    words = target.read_memory_block32(RAM, BLOCK_WORDS)
    seconds = time.perf_counter() - start
    if list(words) != pattern:
        raise SystemExit("read_memory_block32 returned wrong data")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("addresses", nargs="+", metavar="HOST:PORT", help="probe servers")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    pattern = [(0x85EBCA6B * index + 7) & 0xFFFFFFFF for index in range(BLOCK_WORDS)]
    sessions, results = zip(*(connect(address, pattern) for address in args.addresses))
    try:
        for session in sessions:
            timed_read(session.target, pattern)  # a warm-up, not counted
        for _ in range(args.repetitions):
            for session, result in zip(sessions, results):
                result["read_s"].append(timed_read(session.target, pattern))
    finally:
        for session in sessions:
            session.close()
    print(json.dumps(list(results)))


if __name__ == "__main__":
    main()
