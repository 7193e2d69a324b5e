"""pyOCD's real client reading 64 KiB through a remote probe server, as a user's script would.

Run as a script (with a Python that has pyOCD):
`pyocd_client_workload.py --address HOST:PORT --repetitions N` connects with
`ConnectHelper.session_with_chosen_probe(unique_id="remote:HOST:PORT",
target_override="cortex_m")`, writes a test pattern to RAM, then times N calls of
`target.read_memory_block32(0x20000000, 16384)` after the connect, checks every
read, and prints one JSON line: `{"connect_s": ..., "read_s": [...], "memory_handle": bool}`.
pyOCD picks the path itself: a memory handle where the server offers one, TAR/DRW otherwise.
"""

import argparse
import json
import logging
import time

from pyocd.core.helpers import ConnectHelper

RAM = 0x20000000
BLOCK_WORDS = 16384


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="HOST:PORT of the probe server")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    pattern = [(0x85EBCA6B * index + 7) & 0xFFFFFFFF for index in range(BLOCK_WORDS)]
    start = time.perf_counter()
    session = ConnectHelper.session_with_chosen_probe(
        unique_id="remote:" + args.address, target_override="cortex_m",
        options={"no_config": True})
    with session:
        connect_seconds = time.perf_counter() - start
        target = session.target
        memory_ap = target.selected_core.ap
        uses_handle = getattr(memory_ap, "_accelerated_memory_interface", None) is not None
        target.write_memory_block32(RAM, pattern)
        reads = []
        for _ in range(args.repetitions):
            start = time.perf_counter()
            words = target.read_memory_block32(RAM, BLOCK_WORDS)
            reads.append(time.perf_counter() - start)
            if list(words) != pattern:
                raise SystemExit("read_memory_block32 returned wrong data")
    print(json.dumps({"connect_s": connect_seconds, "read_s": reads, "memory_handle": uses_handle}))


if __name__ == "__main__":
    main()
