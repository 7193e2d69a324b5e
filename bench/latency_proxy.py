"""A TCP forwarder that adds a fixed one-way delay to everything it carries, modelling a VPN.

Run as a script: `latency_proxy.py --target HOST:PORT --delay-ms 10` listens on a
free loopback port, prints `LISTENING PORT`, and forwards every accepted
connection to the target until its standard input closes.

Each chunk read from one side is written to the other side `delay` after it
was read, in order: latency without a bandwidth limit, so a long response
costs one delay, not one per segment. Both legs set TCP_NODELAY, so the proxy
adds no Nagle stalls of its own; what the endpoints do is left as they do it.
Chunks in flight per direction are bounded (the reader blocks when full).
"""

import argparse
import queue
import socket
import sys
import threading
import time

CHUNK_BYTES = 65536
MAX_CHUNKS_IN_FLIGHT = 256


def _nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _read_side(source, in_flight, delay):
    """Reads chunks and stamps each with the time it may be delivered; b'' marks the end."""
    while True:
        try:
            data = source.recv(CHUNK_BYTES)
        except OSError:
            data = b""
        in_flight.put((time.monotonic() + delay, data))
        if not data:
            return


def _write_side(destination, in_flight):
    while True:
        due, data = in_flight.get()
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if not data:
            try:
                destination.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        try:
            destination.sendall(data)
        except OSError:
            # The far side is gone: keep draining so the reader never blocks forever.
            continue


def _forward(client, target, delay):
    try:
        upstream = socket.create_connection(target, timeout=5)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    for sock in (client, upstream):
        _nodelay(sock)
    threads = []
    for source, destination in ((client, upstream), (upstream, client)):
        in_flight = queue.Queue(MAX_CHUNKS_IN_FLIGHT)
        threads.append(threading.Thread(target=_read_side, args=(source, in_flight, delay), daemon=True))
        threads.append(threading.Thread(target=_write_side, args=(destination, in_flight), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    upstream.close()


def serve(target, delay, listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_forward, args=(client, target, delay), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="one-way delay per direction")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=serve, args=((host, int(port)), args.delay_ms / 1000.0, listener),
                     daemon=True).start()
    print("LISTENING %d" % listener.getsockname()[1], flush=True)
    # Forward until the benchmark closes our stdin (or dies, which closes it too).
    sys.stdin.read()
    listener.close()


if __name__ == "__main__":
    main()
