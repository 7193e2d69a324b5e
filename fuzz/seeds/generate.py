#!/usr/bin/env python3
"""Writes the committed seed corpus of every fuzz target (fuzz/seeds/TARGET/).

Each seed is a session the test suite also runs (tests/requests.rs,
tests/memory_handles/, tests/dap_port/, the report descriptor and
configuration unit tests), in the target's input layout (see each
target's module doc). Rerun after changing a layout:

    python3 fuzz/seeds/generate.py
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

SEEDS = Path(__file__).resolve().parent
REPO = SEEDS.parent.parent


def write(target: str, name: str, data: bytes) -> None:
    folder = SEEDS / target
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)


# pyocd_lines: options, fault rate, seed (4), then JSON lines.
def json_lines(requests: list[tuple[str, list[object]]]) -> bytes:
    out = b""
    for number, (request, arguments) in enumerate(requests, 1):
        line = {"id": number, "request": request, "arguments": arguments}
        out += json.dumps(line).encode() + b"\n"
    return out


PYOCD_SESSIONS: dict[str, list[tuple[str, list[object]]]] = {
    "registers": [
        ("hello", [1]),
        ("readprop", ["vendor_name"]),
        ("open", []),
        ("lock", []),
        ("connect", ["SWD"]),
        ("read_dp", [0]),
        ("write_dp", [4, 0x50000000]),
        ("read_dp", [4]),
        ("write_ap", [0, 0x23000012]),
        ("write_ap", [4, 0x20000000]),
        ("write_ap", [12, 0x12345678]),
        ("read_ap", [12]),
        ("read_ap_multiple", [12, 4]),
        ("write_ap_multiple", [12, [1, 2, 3]]),
        ("unlock", []),
        ("disconnect", []),
        ("close", []),
    ],
    "memory_handles": [
        ("hello", [1]),
        ("open", []),
        ("connect", ["DEFAULT"]),
        ("get_memory_interface_for_ap", [1, 0]),
        ("read_mem", [1, 0x20000000, 32]),
        ("write_mem", [1, 0x20000000, 0xAB, 8]),
        ("read_block32", [1, 0x20000000, 4]),
        ("write_block32", [1, 0x20000010, [1, 2]]),
        ("read_block8", [1, 0x20000001, 3]),
        ("write_block8", [1, 0x20000003, [1, 2, 3]]),
        ("write_mem", [1, 0xE000EDF0, 0xA05F0003, 32]),
        ("read_mem", [1, 0xE000EDF0, 32]),
        ("close", []),
    ],
    "sequences": [
        ("hello", [1]),
        ("open", []),
        ("swj_sequence", [51, 0xFFFFFFFFFFFFFF]),
        ("swd_sequence", [[[8, 0xA5], [33]]]),
        ("jtag_sequence", [4, 1, True, 5]),
        ("set_clock", [1000000]),
        ("reset", []),
        ("assert_reset", [True]),
        ("is_reset_asserted", []),
        ("assert_reset", [0]),
        ("flush", []),
        ("has_swo", []),
        ("swo_start", [115200]),
        ("swo_read", []),
        ("swo_stop", []),
        ("readprop", ["wire_protocol"]),
        ("readprop", ["capabilities"]),
    ],
}


def pyocd_lines() -> None:
    for name, requests in PYOCD_SESSIONS.items():
        write("pyocd_lines", name, bytes([0x01, 0x00, 1, 2, 3, 4]) + json_lines(requests))
    malformed = (
        b'{"id":1,"request":"hello","arguments":[1]}\n\n{"id":2}\n{"request":"open"}\n'
        b'[1,2]\n{"id":1.5,"request":"open"}\n{"id":3,"request":"read_dp","arguments":[-1]}\n'
        b'{"id":4,"request":"open","arguments":null}\r\n' + b"x" * 100 + b'\n{"id":5,"request":"open"}'
    )
    write("pyocd_lines", "malformed", bytes([0x00, 0x40, 9, 9, 9, 9]) + malformed)


# dap_port: fault rate, seed (4), then request packets.
def packet(payload: bytes) -> bytes:
    return struct.pack("<IHBB", 0x00504144, len(payload), 1, 0) + payload


def transfer(requests: list[tuple[int, int | None]]) -> bytes:
    body = bytes([0x05, 0, len(requests)])
    for request, data in requests:
        body += bytes([request]) + (struct.pack("<I", data) if data is not None else b"")
    return body


def dap_port() -> None:
    # What OpenOCD sends bringing up an SWD target, then memory traffic.
    bring_up = [
        bytes([0x00, 0xF0]),
        bytes([0x00, 0xFF]),
        bytes([0x00, 0xFE]),
        bytes([0x00, 0x04]),
        bytes([0x02, 0x01]),
        bytes([0x04, 0x00]) + struct.pack("<HH", 64, 0),
        bytes([0x13, 0x00]),
        bytes([0x11]) + struct.pack("<I", 1000000),
        bytes([0x12, 51]) + b"\xff" * 7,
        bytes([0x12, 16, 0x9E, 0xE7]),
        bytes([0x12, 51]) + b"\xff" * 7,
        transfer([(0x02, None)]),
        transfer([(0x08, 0x50000000), (0x06, None), (0x00, 0x1E)]),
        transfer([(0x08, 0), (0x01, 0x23000012), (0x05, 0x20000000), (0x0F, None), (0x0E, None)]),
        bytes([0x06, 0, 4, 0, 0x0F]),
        bytes([0x06, 0, 2, 0, 0x0D]) + struct.pack("<II", 1, 2),
        bytes([0x10, 0x00, 0x80]) + struct.pack("<I", 0),
        bytes([0x10, 0x80, 0x80]) + struct.pack("<I", 0),
        bytes([0x1D, 2, 8, 0xA5, 0x80 | 33]),
        bytes([0x08, 0]) + struct.pack("<I", 0x1E),
        bytes([0x09]) + struct.pack("<H", 10),
        bytes([0x0A]),
        bytes([0x01, 0, 1]),
        bytes([0x07]),
        bytes([0x03]),
    ]
    write("dap_port", "bring_up", bytes([0, 1, 2, 3, 4]) + b"".join(map(packet, bring_up)))
    odd = [bytes([0x05, 0, 3, 0x02]), bytes([0x42]), bytes([0x06, 0, 0xFF, 0xFF, 0x0F])]
    bad_header = struct.pack("<IHBB", 0x00504144, 2000, 1, 0)
    write("dap_port", "malformed", bytes([0x80, 5, 6, 7, 8]) + b"".join(map(packet, odd)) + bad_header)


# dap_replies: options, operation count, operations' length, operations,
# then replies: a control byte (0: echo the command id), a length, the body.
def reply(body: bytes) -> bytes:
    return bytes([0, len(body)]) + body


def dap_replies() -> None:
    info = [
        bytes([1, 4]),  # packet count
        bytes([6]) + b"2.1.1\0",  # protocol version
        bytes([4]) + b"1.0\0",  # firmware version
        bytes([2]) + struct.pack("<H", 64),  # packet size
        bytes([1, 0x01]),  # capabilities: SWD
    ]
    open_probe = [bytes([0]), bytes([0]), bytes([0])]  # host status, transfer and SWD configure
    connect = [bytes([1]), bytes([0]), bytes([0]), bytes([0])]  # DAP_Connect SWD, clock, sequences
    read = [bytes([1, 1]) + struct.pack("<I", 0x2BA01477)]  # one transfer, ACK OK, DPIDR
    ops = bytes([0, 1, 3, 0, 0])  # open, connect, read_dp(0)
    replies = b"".join(map(reply, info + open_probe + connect + read))
    write("dap_replies", "open_connect_read", bytes([1, 3, len(ops)]) + ops + replies)
    write("dap_replies", "info_only", bytes([0, 0, 0]) + b"".join(map(reply, info)))


def hid_report_descriptor() -> None:
    for count in (64, 512, 1024):
        low, high = struct.pack("<H", count)
        descriptor = bytes([
            0x06, 0x00, 0xFF, 0x09, 0x01, 0xA1, 0x01, 0x15, 0x00, 0x26, 0xFF, 0x00,
            0x75, 0x08, 0x96, low, high, 0x09, 0x01, 0x81, 0x02,
            0x96, low, high, 0x09, 0x01, 0x91, 0x02,
            0x95, 0x01, 0x09, 0x01, 0xB1, 0x02, 0xC0,
        ])
        write("hid_report_descriptor", f"cmsis_dap_{count}", descriptor)
    pushed = bytes([0x85, 0x01, 0x75, 0x08, 0xA4, 0x95, 0x40, 0x81, 0x02, 0xB4, 0x95, 0x02, 0x91, 0x02])
    write("hid_report_descriptor", "report_ids_push_pop", pushed)


def config_file() -> None:
    # The shipped example, and a state file of remembered ports.
    example = (REPO / "config" / "probeshare.toml").read_bytes()
    write("config_file", "example", b"\x00" + example)
    listed = b"""listen = "0.0.0.0"
allow_remote = true
allow = ["10.0.0.0/8", "::1/128"]
port_range = "5600-5610"
dap_port_range = "6600-6610"

[limits]
max_line_bytes = 65536
idle_timeout_secs = 30

[management]
listen = "127.0.0.1:5580"

[[probe]]
serial = "0240000032044e45"
port = 5700
dap_port = 6700
name = "bench-1"

[probe.limits]
max_connections = 4

[[probe]]
serial = "sim:a"
port = 5701
"""
    write("config_file", "listed", b"\x00" + listed)
    write("config_file", "state", b'\x01[ports]\n"A" = 5600\n"B" = 5602\n\n[dap_ports]\n"A" = 6600\n')


# arbiter_clients: options, seed (4), then actions: an action byte, a
# client byte, and for a request its table bytes (fuzz/src/requests.rs).
def arbiter_clients() -> None:
    submit, poll, run = 2, 5, 6
    # Two clients: open, connect, lock, read, unlock, each; then one
    # leaves holding the lock while the other waits.
    actions = []
    for client in (0, 1):
        actions += [0, client]
        actions += [submit, client, 2]  # open
        actions += [submit, client, 4, 0]  # connect default
        actions += [submit, client, 0]  # lock
        actions += [submit, client, 8, 0, 0]  # read_dp
        actions += [submit, client, 6, 1, 0]  # memory read of DHCSR
        actions += [submit, client, 7, 1, 3, 0, 4, 2, 2]  # sequence
        actions += [poll, 0, run, 0, poll, 0]
    actions += [submit, 0, 1, poll, 0, run, 0, 1, 1]  # unlock; client 1 leaves
    write("arbiter_clients", "two_clients", bytes([0x03, 1, 2, 3, 4] + actions))
    faults = [0, 2, submit, 2, 2, submit, 3, 2, submit, 2, 4, 1, poll, 0, run, 0, 0xFF, 0, 1, 2]
    write("arbiter_clients", "faults_and_loss", bytes([0x41, 7, 7, 7, 7] + faults))
    # Found by fuzzing: two clients' DCRSR writes; once the first window
    # expires, the second client's opens another while a third waits.
    window_reopened = "fefefdfc04020002020004" "9f9faeaeaeae41ae9a3b36ae523652fdd6fd0203ae"
    write("arbiter_clients", "window_reopened", bytes.fromhex(window_reopened))


def main() -> None:
    for folder in SEEDS.iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    pyocd_lines()
    dap_port()
    dap_replies()
    hid_report_descriptor()
    config_file()
    arbiter_clients()


if __name__ == "__main__":
    main()
