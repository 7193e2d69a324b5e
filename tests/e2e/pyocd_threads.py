"""One pyOCD session whose threads move memory at once, for tests/pyocd_e2e.rs.

  pyocd_threads.py UID [--threads N] [--rounds N] [--no-memory-handles]

Opens one session on the generic Cortex-M behind UID (attached, halted) and
starts N threads (default 8) together; each writes N rounds (default
3) of 12 KiB of random bytes to its own region of RAM and reads them back,
the shape of pyOCD's own concurrency test. Prints "thread N ok" or
"thread N wrong" per thread and exits non-zero if any region read back
wrong or a thread failed. --no-memory-handles sets the plugin's session
option `probeshare.memory_handles` false, so memory moves through AP
register requests (TAR, DRW), where the lock is what keeps threads apart.

pyOCD's `remote:` client gets regions wrong here: its `lock()` only counts,
so the threads' TAR writes and DRW accesses interleave on the one
connection. The `probeshare:` plugin's lock excludes the other threads.
"""

import argparse
import os
import sys
import threading

from pyocd.core.helpers import ConnectHelper

RAM = 0x20000000
REGION = 12 * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uid")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-memory-handles", action="store_true")
    args = parser.parse_args()
    uid, threads, rounds = args.uid, args.threads, args.rounds
    options = {"connect_mode": "attach", "resume_on_disconnect": False}
    if args.no_memory_handles:
        options["probeshare.memory_handles"] = False
    session = ConnectHelper.session_with_chosen_probe(
        unique_id=uid,
        target_override="cortex_m",
        blocking=False,
        options=options,
    )
    if session is None:
        sys.exit(f"no probe {uid}")
    outcomes = ["did not finish"] * threads
    start = threading.Barrier(threads)

    def work(index):
        address = RAM + index * REGION
        try:
            start.wait()
            for _ in range(rounds):
                data = os.urandom(REGION)
                session.target.write_memory_block8(address, data)
                if bytes(session.target.read_memory_block8(address, REGION)) != data:
                    outcomes[index] = "wrong"
                    return
            outcomes[index] = "ok"
        except Exception as e:  # reported, and fails the run
            outcomes[index] = f"failed: {e!r}"

    with session:
        session.target.halt()
        accelerated = session.target.dp.aps[0]._accelerated_memory_interface is not None
        print("memory handle" if accelerated else "register-level")
        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    for index, outcome in enumerate(outcomes):
        print(f"thread {index} {outcome}")
    wrong = sum(outcome != "ok" for outcome in outcomes)
    if wrong:
        sys.exit(f"{wrong} of {threads} threads got their region wrong or failed")


if __name__ == "__main__":
    main()
