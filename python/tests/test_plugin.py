"""The pyOCD plugin against the real server (`probeshare serve --probe sim`)."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator, Tuple

import pytest
from pyocd.core import exceptions
from pyocd.core.helpers import ConnectHelper
from pyocd.core.session import Session
from pyocd.probe.aggregator import PROBE_CLASSES
from pyocd.probe.debug_probe import DebugProbe

from probeshare import protocol
from probeshare.pyocd_plugin.memory import PipelinedMemoryInterface
from probeshare.pyocd_plugin.probe import ProbeshareProbe

RAM = 0x20000000
#: Nothing answers here on the virtual target: accesses FAULT.
UNMAPPED = 0x60000000
CORE_REGISTERS = 17


def uid(address: Tuple[str, int]) -> str:
    return f"probeshare:{address[0]}:{address[1]}"


@pytest.fixture
def session(probeshare_server: Tuple[str, int]) -> Iterator[Any]:
    opened = ConnectHelper.session_with_chosen_probe(
        unique_id=uid(probeshare_server),
        target_override="cortex_m",
        blocking=False,
        options={"connect_mode": "attach", "resume_on_disconnect": False},
    )
    assert opened is not None
    with opened:
        opened.target.halt()
        yield opened


def test_pyocd_loads_the_plugin_under_its_name() -> None:
    assert PROBE_CLASSES["probeshare"] is ProbeshareProbe


def test_the_plugin_declares_memory_handles_and_gets_them(session: Any) -> None:
    assert session.probe.features == [protocol.FEATURE_MEMORY_HANDLES]
    interface = session.target.dp.aps[0]._accelerated_memory_interface
    assert isinstance(interface, PipelinedMemoryInterface)


def test_handles_go_to_clients_that_declare_them_and_not_to_stock_clients(
    session: Any, probeshare_server: Tuple[str, int]
) -> None:
    def handle(features: Any) -> Any:
        connection = protocol.Connection(*probeshare_server)
        try:
            connection.call("hello", 1)
            if features is not None:
                assert connection.call(protocol.FEATURES_REQUEST, features) == (
                    [protocol.FEATURE_MEMORY_HANDLES]
                    if protocol.FEATURE_MEMORY_HANDLES in features
                    else []
                )
            connection.call("open")
            connection.call("connect", "DEFAULT")
            return connection.call("get_memory_interface_for_ap", 1, 0)
        finally:
            connection.close()

    assert handle(None) is None
    assert handle(["something else"]) is None
    assert isinstance(handle([protocol.FEATURE_MEMORY_HANDLES, "later"]), int)


def test_properties_come_from_the_server(probeshare_server: Tuple[str, int]) -> None:
    probe = ProbeshareProbe(f"{probeshare_server[0]}:{probeshare_server[1]}")
    probe.open()
    try:
        assert DebugProbe.Protocol.SWD in probe.supported_wire_protocols
        assert "probeshare virtual target" in probe.description
        assert probe.unique_id == uid(probeshare_server)
    finally:
        probe.close()


def test_bytes_go_through_the_memory_handle(session: Any) -> None:
    data = bytes(range(256)) * 16 + b"\x01\x02\x03"
    session.target.write_memory_block8(RAM + 1, data)
    session.target.write_memory_block8(RAM + 0x2000, bytearray(b"RTT"))
    assert bytes(session.target.read_memory_block8(RAM + 1, len(data))) == data
    assert bytes(session.target.read_memory_block8(RAM + 0x2000, 3)) == b"RTT"


def test_seventeen_core_registers_wait_for_two_answers(session: Any) -> None:
    connection = session.probe.connection
    before = connection.round_trips
    values = session.target.read_core_registers_raw(list(range(CORE_REGISTERS)))
    assert len(values) == CORE_REGISTERS
    # One DHCSR read (is the core halted?), then every register at once.
    assert connection.round_trips - before == 2


def test_a_faulting_write_raises_at_the_next_read(session: Any) -> None:
    target = session.target
    target.write32(UNMAPPED, 1)
    with pytest.raises(exceptions.TransferFaultError):
        target.read32(RAM)
    # Raised once: the session goes on.
    target.write32(RAM, 0x1234)
    assert target.read32(RAM) == 0x1234


def test_lock_keeps_the_sessions_other_threads_out(session: Any) -> None:
    probe = session.probe
    done = threading.Event()

    def other_thread() -> None:
        probe.read_dp(0)
        done.set()

    probe.lock()
    try:
        thread = threading.Thread(target=other_thread)
        thread.start()
        time.sleep(0.3)
        assert not done.is_set(), "another thread's request ran inside this thread's lock"
    finally:
        probe.unlock()
    assert done.wait(10)
    thread.join()


def test_pyocd_list_shows_the_probes_of_the_hosts_option(
    probeshare_server: Tuple[str, int],
) -> None:
    address = f"{probeshare_server[0]}:{probeshare_server[1]}"
    # pyOCD reads options from the newest session alive, as `pyocd list`
    # makes one from its -O options; a port nobody serves is left out.
    options = Session(None, options={"probeshare.hosts": f"{address},127.0.0.1:1"})
    probes = ConnectHelper.get_all_connected_probes(blocking=False)
    del options
    listed = [p for p in probes if p.unique_id == uid(probeshare_server)]
    assert len(listed) == 1
    assert "probeshare virtual target" in listed[0].description


def test_flush_after_only_reads_costs_no_round_trip_and_after_a_write_one(session: Any) -> None:
    target, connection = session.target, session.probe.connection
    target.write32(RAM, 5)
    before = (connection.sent, connection.round_trips)
    target.flush()
    assert (connection.sent, connection.round_trips) == (before[0] + 1, before[1] + 1)
    assert target.read32(RAM) == 5
    before = (connection.sent, connection.round_trips)
    target.flush()
    assert (connection.sent, connection.round_trips) == before


def test_a_faulting_write_raises_at_flush(session: Any) -> None:
    target = session.target
    target.write32(UNMAPPED, 1)
    with pytest.raises(exceptions.TransferFaultError):
        target.flush()
    target.flush()


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
@pytest.mark.parametrize("size", [1, 3, 63, 64, 65, 66, 67, 1001])
def test_byte_blocks_of_any_alignment_and_length_read_back_exactly(
    session: Any, offset: int, size: int
) -> None:
    target = session.target
    address = RAM + 0x3000 + offset
    guard = bytes([0xA5]) * 8
    target.write_memory_block8(address - 8, guard + bytes(size) + guard)
    data = bytes((7 * i + offset + 1) & 0xFF for i in range(size))
    target.write_memory_block8(address, data)
    # Read back as a whole, and the bytes around it untouched.
    assert bytes(target.read_memory_block8(address, size)) == data
    assert bytes(target.read_memory_block8(address - 8, 8)) == guard
    assert bytes(target.read_memory_block8(address + size, 8)) == guard


def test_the_plugin_falls_back_to_what_pyocds_own_server_offers(
    probeshare_server: Tuple[str, int],
) -> None:
    from pyocd.probe.tcp_client_probe import TCPClientProbe
    from pyocd.probe.tcp_probe_server import DebugProbeServer

    # pyOCD's server, serving the virtual target through pyOCD's own remote
    # client: it answers probeshare_features "unknown request type".
    options_session = Session(None, options={"no_config": True})
    relay = DebugProbeServer(
        options_session, TCPClientProbe(f"{probeshare_server[0]}:{probeshare_server[1]}"), 0, True
    )
    relay.start()
    try:
        deadline = time.monotonic() + 10
        while relay.port == 0:
            assert time.monotonic() < deadline, "pyOCD's server did not start"
            time.sleep(0.01)
        opened = ConnectHelper.session_with_chosen_probe(
            unique_id=f"probeshare:127.0.0.1:{relay.port}",
            target_override="cortex_m",
            blocking=False,
            options={"connect_mode": "attach", "resume_on_disconnect": False},
        )
        assert opened is not None
        with opened:
            target = opened.target
            target.halt()
            assert opened.probe.features == []
            assert target.dp.aps[0]._accelerated_memory_interface is None
            data = bytes(range(200))
            target.write_memory_block8(RAM + 0x5001, data)
            assert bytes(target.read_memory_block8(RAM + 0x5001, len(data))) == data
            assert len(target.read_core_registers_raw(list(range(CORE_REGISTERS)))) == 17
    finally:
        relay.stop()


def test_a_session_that_found_the_wire_up_keeps_it_when_the_first_session_leaves(
    probeshare_server: Tuple[str, int],
) -> None:
    def open_session() -> Any:
        opened = ConnectHelper.session_with_chosen_probe(
            unique_id=uid(probeshare_server),
            target_override="cortex_m",
            blocking=False,
            options={"connect_mode": "attach", "resume_on_disconnect": False},
        )
        assert opened is not None
        opened.open()
        return opened

    first = open_session()
    second = open_session()  # finds the wire up: must be counted as connected
    try:
        first.close()
        second.target.write32(RAM, 0x5EC0)
        assert second.target.read32(RAM) == 0x5EC0
    finally:
        second.close()
