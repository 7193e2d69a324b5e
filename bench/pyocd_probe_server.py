"""pyOCD's own probe server (`DebugProbeServer`) serving two in-memory pyOCD probes.

Run as a script it starts two servers on free loopback ports and prints one
line, `PORTS cmsis_dap_like=N with_handles=M`, then serves until its standard
input closes (so it never outlives the benchmark that started it):

- `cmsis_dap_like`: a `DebugProbe` offering only DP/AP register access, as
  pyOCD's CMSIS-DAP driver does; `get_memory_interface_for_ap` returns None, so
  clients move memory with TAR/DRW requests.
- `with_handles`: the same probe offering a memory interface for the AP, as
  pyOCD's ST-Link driver does; clients move memory with `read_block32` etc.

Each probe has its own in-memory target (`mem_target`), with no delay anywhere:
what is measured is pyOCD's server and the wire, as for `probeshare --probe sim`.
"""

import logging
import sys
import time

from pyocd.core.memory_interface import MemoryInterface
from pyocd.core.session import Session
from pyocd.probe.debug_probe import DebugProbe
from pyocd.probe.tcp_probe_server import DebugProbeServer

from mem_target import Bus, DebugPort


class InMemoryProbe(DebugProbe):
    """A CMSIS-DAP-like probe wired to an in-memory target: register access only."""

    def __init__(self, unique_id):
        super().__init__()
        self._unique_id = unique_id
        self._is_open = False
        self._wire_protocol = None
        self._reset_asserted = False
        self.bus = Bus()
        self.dp = DebugPort(self.bus)

    @property
    def vendor_name(self):
        return "probeshare-bench"

    @property
    def product_name(self):
        return "in-memory CMSIS-DAP-like probe"

    @property
    def supported_wire_protocols(self):
        return [DebugProbe.Protocol.DEFAULT, DebugProbe.Protocol.SWD]

    @property
    def unique_id(self):
        return self._unique_id

    @property
    def wire_protocol(self):
        return self._wire_protocol

    @property
    def is_open(self):
        return self._is_open

    @property
    def capabilities(self):
        return {DebugProbe.Capability.SWJ_SEQUENCE}

    def open(self):
        self._is_open = True

    def close(self):
        self._is_open = False

    def connect(self, protocol=None):
        self._wire_protocol = DebugProbe.Protocol.SWD

    def disconnect(self):
        self._wire_protocol = None

    def swj_sequence(self, length, bits):
        pass

    def set_clock(self, frequency):
        pass

    def reset(self):
        pass

    def assert_reset(self, asserted):
        self._reset_asserted = bool(asserted)

    def is_reset_asserted(self):
        return self._reset_asserted

    def flush(self):
        pass

    @staticmethod
    def _deferred(value, now):
        return value if now else (lambda: value)

    def read_dp(self, addr, now=True):
        return self._deferred(self.dp.read_dp(addr), now)

    def write_dp(self, addr, data):
        self.dp.write_dp(addr, data)

    def read_ap(self, addr, now=True):
        return self._deferred(self.dp.read_ap(addr), now)

    def write_ap(self, addr, data):
        self.dp.write_ap(addr, data)

    def read_ap_multiple(self, addr, count=1, now=True):
        return self._deferred(self.dp.read_ap_multiple(addr, count), now)

    def write_ap_multiple(self, addr, values):
        self.dp.write_ap_multiple(addr, values)

    def get_memory_interface_for_ap(self, ap_address):
        return None


class BusMemoryInterface(MemoryInterface):
    """Memory access straight on the target's bus, as a probe with its own memory commands does."""

    def __init__(self, bus):
        self._bus = bus

    def write_memory(self, addr, data, transfer_size=32, **attrs):
        self._bus.write(addr, data, transfer_size)

    def read_memory(self, addr, transfer_size=32, now=True, **attrs):
        value = self._bus.read(addr, transfer_size)
        return value if now else (lambda: value)

    def write_memory_block32(self, addr, data, **attrs):
        self._bus.write_words(addr, list(data))

    def read_memory_block32(self, addr, size, **attrs):
        return self._bus.read_words(addr, size)

    def write_memory_block8(self, addr, data, **attrs):
        for offset, value in enumerate(data):
            self._bus.write(addr + offset, value, 8)

    def read_memory_block8(self, addr, size, **attrs):
        return [self._bus.read(addr + offset, 8) for offset in range(size)]


class InMemoryProbeWithHandles(InMemoryProbe):
    """The same probe, also offering a memory interface for its one MEM-AP."""

    @property
    def product_name(self):
        return "in-memory probe with memory interface"

    def get_memory_interface_for_ap(self, ap_address):
        if ap_address.nominal_address != 0:
            return None
        return BusMemoryInterface(self.bus)


def main():
    logging.basicConfig(level=logging.WARNING)
    session = Session(probe=None, serve_local_only=True, options={"no_config": True})
    servers = {
        "cmsis_dap_like": DebugProbeServer(session, InMemoryProbe("bench-cmsis-dap-like"), 0, True),
        "with_handles": DebugProbeServer(session, InMemoryProbeWithHandles("bench-with-handles"), 0, True),
    }
    for server in servers.values():
        server.start()
    # start() can return just before the server thread has read back its port.
    deadline = time.monotonic() + 5.0
    while any(server.port == 0 for server in servers.values()) and time.monotonic() < deadline:
        time.sleep(0.001)
    print("PORTS " + " ".join("%s=%d" % (name, server.port) for name, server in servers.items()),
          flush=True)
    # Serve until the benchmark closes our stdin (or dies, which closes it too).
    sys.stdin.read()
    for server in servers.values():
        server.stop()


if __name__ == "__main__":
    main()
