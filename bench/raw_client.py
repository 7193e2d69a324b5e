"""The benchmark's own client of the remote probe protocol, and the protocol-level workloads.

One request at a time, each answered before the next is sent (as pyOCD's
client does), the same code against probeshare and against pyOCD's server.
Each workload returns the seconds one repetition took, from the first request
written to the last response received: requests are encoded before and
responses decoded and checked after that window, so the client's own JSON
work (the same for both servers) does not dilute the servers' difference.
"""

import json
import socket
import time

MEM_AP = 0  # APSEL of the one MEM-AP both targets have
CSW, TAR, DRW = 0x00, 0x04, 0x0C
CSW_WORD_AUTOINC = 0x23000052  # HPROT data/privileged, DbgSwEnable, single auto-increment, 32-bit
CTRL_STAT = 0x4
POWER_UP = 0x50000000
TAR_PAGE = 0x1000  # the AHB-AP's TAR auto-increment wrap, which pyOCD also uses for this IDR
RAM = 0x20000000
BLOCK_WORDS = 16384  # 64 KiB


class RemoteError(Exception):
    """A response with a non-zero status, or not the response to the request."""


class Prepared:
    """A request encoded ahead of time."""

    def __init__(self, request_id, request, line):
        self.request_id = request_id
        self.request = request
        self.line = line


class RawClient:
    def __init__(self, host, port, timeout=30.0):
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self._next_id = 0

    def close(self):
        self._sock.close()

    def prepare(self, request, *arguments):
        request_id = self._next_id
        self._next_id += 1
        message = {"id": request_id, "request": request}
        if arguments:
            message["arguments"] = list(arguments)
        return Prepared(request_id, request, json.dumps(message).encode() + b"\n")

    def exchange(self, prepared):
        """Sends one request and returns its raw response line, undecoded."""
        self._sock.sendall(prepared.line)
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                return line
            searched = len(self._buffer)
            data = self._sock.recv(262144)
            if not data:
                raise ConnectionError("server closed the connection")
            self._buffer += data

    @staticmethod
    def decode(prepared, line):
        response = json.loads(line)
        if response.get("id") != prepared.request_id:
            raise RemoteError("response id %r to request %d" % (response.get("id"), prepared.request_id))
        if response.get("status") != 0:
            raise RemoteError("%s: status %s: %s"
                              % (prepared.request, response.get("status"), response.get("error")))
        return response.get("result")

    def call(self, request, *arguments):
        prepared = self.prepare(request, *arguments)
        return self.decode(prepared, self.exchange(prepared))

    def attach(self):
        """hello, open, connect and power up the debug port, as any client starts."""
        self.call("hello", 1)
        self.call("open")
        self.call("connect", "DEFAULT")
        self.call("write_dp", CTRL_STAT, POWER_UP)
        self.call("read_dp", CTRL_STAT)

    def memory_handle(self):
        """The server's memory handle for the MEM-AP, or None where it offers none."""
        return self.call("get_memory_interface_for_ap", 1, MEM_AP)

    def detach(self):
        self.call("disconnect")
        self.call("close")


def _timed_exchanges(client, requests):
    """Seconds for the exchanges of `requests` in order, and their decoded results."""
    start = time.perf_counter()
    lines = [client.exchange(prepared) for prepared in requests]
    seconds = time.perf_counter() - start
    return seconds, [client.decode(prepared, line) for prepared, line in zip(requests, lines)]


def read_dp_round_trip(client):
    return _timed_exchanges(client, [client.prepare("read_dp", 0)])[0]


def test_pattern():
    return [(0x9E3779B9 * index) & 0xFFFFFFFF for index in range(BLOCK_WORDS)]


def handle_read(client, handle, expected):
    seconds, (words,) = _timed_exchanges(client, [client.prepare("read_block32", handle, RAM, BLOCK_WORDS)])
    if words != expected:
        raise RemoteError("read_block32 through a handle returned wrong data")
    return seconds


def handle_write(client, handle, data):
    return _timed_exchanges(client, [client.prepare("write_block32", handle, RAM, data)])[0]


def _ap_pages():
    for offset in range(0, 4 * BLOCK_WORDS, TAR_PAGE):
        yield RAM + offset, offset // 4, TAR_PAGE // 4


def ap_read(client, expected):
    """64 KiB by TAR/DRW: CSW once, then per 4 KiB page a TAR write and one DRW burst."""
    requests = [client.prepare("write_ap", CSW, CSW_WORD_AUTOINC)]
    for address, _, count in _ap_pages():
        requests.append(client.prepare("write_ap", TAR, address))
        requests.append(client.prepare("read_ap_multiple", DRW, count))
    seconds, results = _timed_exchanges(client, requests)
    words = [word for result in results[2::2] for word in result]
    if words != expected:
        raise RemoteError("read_ap_multiple on DRW returned wrong data")
    return seconds


def ap_write(client, data):
    requests = [client.prepare("write_ap", CSW, CSW_WORD_AUTOINC)]
    for address, first, count in _ap_pages():
        requests.append(client.prepare("write_ap", TAR, address))
        requests.append(client.prepare("write_ap_multiple", DRW, data[first:first + count]))
    return _timed_exchanges(client, requests)[0]
