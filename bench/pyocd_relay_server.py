"""pyOCD's own probe server (`DebugProbeServer`) serving the virtual target of a probeshare.

Run as a script: `pyocd_relay_server.py HOST:PORT` serves, on a free loopback
port, the probe behind the probeshare at HOST:PORT as pyOCD's server serves a
CMSIS-DAP probe: the probe it wraps is pyOCD's own remote client
(`TCPClientProbe`) to that probeshare, which offers no memory handles by
default, just as pyOCD's CMSIS-DAP driver offers none. It prints
`PORT N` and serves until its standard input closes.

This is the baseline of bench/remote_feel.py: the same virtual target, through
the server a pyOCD user has today. The hop from here to probeshare is
loopback (well under a millisecond per request), so through a latency proxy
in front of this server, what is measured is pyOCD's server and client over
the slow link.
"""

import logging
import sys
import time

from pyocd.core.session import Session
from pyocd.probe.tcp_client_probe import TCPClientProbe
from pyocd.probe.tcp_probe_server import DebugProbeServer


def main():
    logging.basicConfig(level=logging.WARNING)
    session = Session(probe=None, serve_local_only=True, options={"no_config": True})
    server = DebugProbeServer(session, TCPClientProbe(sys.argv[1]), 0, True)
    server.start()
    # start() can return just before the server thread has read back its port.
    deadline = time.monotonic() + 5.0
    while server.port == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    print("PORT %d" % server.port, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
