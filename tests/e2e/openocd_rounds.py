"""OpenOCD moving memory in rounds beside other processes, for
tests/openocd_e2e/overlapping.rs (overlap.py: the barrier, the quota and the
printed rounds). It drives an OpenOCD that is already connected to the
target, through OpenOCD's Tcl RPC port (standard library only):

  openocd_rounds.py TCL_PORT --dir DIR --name NAME --peers P[,P...] --quota N
                    --address ADDRESS --size BYTES

Each round has OpenOCD `load_image` an image of SIZE random bytes at
ADDRESS and `verify_image` it there (OpenOCD reads the memory back and
fails on any difference), and reads four words at a random offset with
`read_memory` to compare them here too. The images, IMAGES of them taken
in turn so that every round changes the whole region, are written before
the rounds, to memory (/dev/shm) where there is one: on a busy machine a
write to disk can stall for a minute, which would be no fault of OpenOCD's
or the server's. At the end it tells OpenOCD to `shutdown`, so that OpenOCD
exits 0 once the rounds are over.
"""

import argparse
import itertools
import os
import random
import socket
import sys
import tempfile
from pathlib import Path
from typing import Optional

from overlap import Peers, add_round_arguments, first_difference, run_rounds

LIMIT_S = 90
# OpenOCD's Tcl RPC ends each command and each reply with this byte.
SEPARATOR = b"\x1a"
REPLY_TIMEOUT_S = 30
IMAGES = 3
MEMORY_DIR = Path("/dev/shm")


class TclRpc:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S)
        self.pending = b""

    def send(self, command: str) -> str:
        self.sock.sendall(command.encode() + SEPARATOR)
        while SEPARATOR not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("OpenOCD closed its Tcl RPC connection")
            self.pending += chunk
        reply, _, self.pending = self.pending.partition(SEPARATOR)
        return reply.decode(errors="replace")

    def run(self, command: str) -> str:
        """Runs `command` in OpenOCD and returns what it printed; raises
        with OpenOCD's message when the command fails."""
        reply = self.send(f"list [catch {{capture {{{command}}}}} out] $out")
        code, _, out = reply.partition(" ")
        out = out[1:-1] if out.startswith("{") and out.endswith("}") else out
        if code != "0":
            # verify_image always first regrets the working area the
            # virtual target has none of: what matters comes after.
            lines = [line for line in out.splitlines() if "working" not in line]
            raise RuntimeError(f"`{command}` failed: {' '.join(lines)[:400]}")
        return out


def tcl_path(path: Path) -> str:
    text = str(path)
    assert not any(c in text for c in "{}\\ "), text
    return text


class Image:
    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.data = os.urandom(size)
        path.write_bytes(self.data)


def one_round(ocd: TclRpc, image: Image, address: int) -> Optional[str]:
    data, size = image.data, len(image.data)
    loaded = ocd.run(f"load_image {tcl_path(image.path)} {address:#x} bin")
    if f"{size} bytes written at address {address:#010x}" not in loaded:
        return f"load_image printed {loaded[:200]!r}"
    verified = ocd.run(f"verify_image {tcl_path(image.path)} {address:#x} bin")
    if f"verified {size} bytes" not in verified:
        return f"verify_image printed {verified[:200]!r}"
    offset = random.randrange(0, size - 16, 4)
    words = [int(w, 16) for w in ocd.run(f"read_memory {address + offset:#x} 32 4").split()]
    wrote = [int.from_bytes(data[offset + 4 * i : offset + 4 * i + 4], "little") for i in range(4)]
    return first_difference(wrote, words, address + offset, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    add_round_arguments(parser)
    parser.add_argument("--address", type=lambda s: int(s, 0), required=True)
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()

    ocd = TclRpc(args.port)
    memory = MEMORY_DIR if MEMORY_DIR.is_dir() else args.dir
    try:
        with Peers(args.dir, args.name, args.peers, LIMIT_S) as peers, tempfile.TemporaryDirectory(
            dir=memory, prefix=f"{args.name}-images-"
        ) as images_dir:
            images = [Image(Path(images_dir) / f"{i}.bin", args.size) for i in range(IMAGES)]
            in_turn = itertools.cycle(images)
            run_rounds(peers, args.quota, lambda: one_round(ocd, next(in_turn), args.address))
    finally:
        # OpenOCD ends with the rounds, however they went.
        try:
            ocd.send("shutdown")
        except OSError as e:
            print(f"shutdown not sent: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
