"""The pipelined wire client against a scripted server: what it sends
without waiting, when it raises errors, how much it keeps in flight."""

from __future__ import annotations

import threading
from typing import Any, Dict

import pytest

from probeshare import protocol


def ok(request: Dict[str, Any]) -> Dict[str, Any]:
    if request["request"] == "read_dp":
        return {"result": 0x2BA01477}
    return {}


def fault_on_write_ap(request: Dict[str, Any]) -> Dict[str, Any]:
    if request["request"] == "write_ap":
        return {"status": 12, "error": "FAULT"}
    return ok(request)


def test_requests_go_out_before_any_answer_comes_back(fake_server: Any) -> None:
    server = fake_server(ok)
    server.holding.set()
    connection = protocol.Connection("127.0.0.1", server.port)
    for address in range(10):
        connection.send("write_ap", address * 4, 0, deferred=True)
    read = connection.send("read_dp", 0)
    # All eleven reach the server while it answers none of them.
    server.wait_for(11)
    assert connection.in_flight == 11
    server.holding.clear()
    assert connection.value(read) == 0x2BA01477
    assert [r["id"] for r in server.received] == list(range(11))
    assert connection.round_trips == 1


def test_a_failed_write_raises_at_the_next_value_of_its_thread_only_once(fake_server: Any) -> None:
    server = fake_server(fault_on_write_ap)
    connection = protocol.Connection("127.0.0.1", server.port)
    connection.send("write_ap", 0xC, 1, deferred=True)
    read = connection.send("read_dp", 0)
    with pytest.raises(protocol.ServerError) as raised:
        connection.value(read)
    assert raised.value.status == 12 and raised.value.request == "write_ap"
    # Raised once: the next read is clean.
    assert connection.call("read_dp", 0) == 0x2BA01477


def test_settle_raises_a_write_error_like_flush(fake_server: Any) -> None:
    server = fake_server(fault_on_write_ap)
    connection = protocol.Connection("127.0.0.1", server.port)
    connection.send("write_ap", 0xC, 1, deferred=True)
    with pytest.raises(protocol.ServerError):
        connection.settle()
    connection.settle()


def test_another_threads_failed_write_is_not_raised_here(fake_server: Any) -> None:
    server = fake_server(fault_on_write_ap)
    connection = protocol.Connection("127.0.0.1", server.port)
    other = threading.Thread(target=lambda: connection.send("write_ap", 0xC, 1, deferred=True))
    other.start()
    other.join()
    # This thread collects the other's failed answer on its way, but the
    # error is the other thread's.
    assert connection.call("read_dp", 0) == 0x2BA01477


def test_error_factory_makes_the_exceptions(fake_server: Any) -> None:
    server = fake_server(fault_on_write_ap)
    made = []

    def make(request: str, status: int, message: str) -> BaseException:
        made.append((request, status, message))
        return KeyError(request)

    connection = protocol.Connection("127.0.0.1", server.port, make_error=make)
    connection.send("write_ap", 0, 0, deferred=True)
    with pytest.raises(KeyError):
        connection.settle()
    assert made == [("write_ap", 12, "FAULT")]


def test_requests_in_flight_are_bounded(fake_server: Any) -> None:
    server = fake_server(ok)
    connection = protocol.Connection("127.0.0.1", server.port, max_in_flight=4)
    for address in range(40):
        connection.send("write_ap", address, 0, deferred=True)
        assert connection.in_flight <= 4
    connection.settle()
    assert server.most_unanswered <= 4
    assert len(server.received) == 40


def test_a_closed_connection_is_reported_as_lost(fake_server: Any) -> None:
    server = fake_server(ok)
    connection = protocol.Connection("127.0.0.1", server.port)
    read = connection.send("read_dp", 0)
    connection.value(read)
    connection.close()
    with pytest.raises(protocol.ConnectionLost):
        connection.send("read_dp", 0)


@pytest.mark.parametrize(
    "text, address",
    [
        ("lab:5556", ("lab", 5556)),
        ("lab", ("lab", 5555)),
        ("[::1]:6000", ("::1", 6000)),
        ("10.0.0.2:1", ("10.0.0.2", 1)),
    ],
)
def test_addresses_parse(text: str, address: Any) -> None:
    assert protocol.parse_address(text) == address


@pytest.mark.parametrize("text", ["", ":5555", "lab:x", "lab:0", "lab:70000"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_address(text)
