"""A lean HTTP/1.1 load generator: keep-alive sockets, prebuilt requests, its own process.

``bench/webhook_ack.py`` shares two CPUs between the servers, PostgreSQL and the load
generator; an httpx client spends about as much CPU per request as the bare endpoint it is
measuring. This one sends bytes it built up front and reads the answer's status line and
``Content-Length`` body, so nearly all the CPU goes to the servers being compared. It runs in
a child process (no GIL shared with the benchmark) with one thread per connection, which is
how wrk would load the server: a closed loop, each connection sends its next request when
the previous answer arrives.

    python bench/_load.py HOST PORT SECONDS CONNECTIONS FIRST_ORDER SELLER APP_ID
prints one JSON line: {"count": n, "errors": n, "latencies": [seconds, ...]}
"""

import itertools
import json
import socket
import sys
import threading
import time


def request_bytes(host: str, port: int, order: int, seller: int, app_id: int) -> bytes:
    body = json.dumps({"_id": f"bench-{order}", "resource": f"/orders/{order}",
                       "user_id": seller, "topic": "orders_v2", "application_id": app_id,
                       "attempts": 1}).encode()
    head = (f"POST /notifications HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock: socket.socket | None = None
        self._buffer = b""

    def _open(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(self._address, timeout=10)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def exchange(self, data: bytes) -> int:
        """Send one request and read its answer; returns the status code."""
        sock = self._open()
        sock.sendall(data)
        while b"\r\n\r\n" not in self._buffer:
            self._fill(sock)
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, closing = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        while len(rest) < length:
            rest += self._recv(sock)
        self._buffer = rest[length:]
        if closing:
            self.close()
        return status

    def _fill(self, sock: socket.socket) -> None:
        self._buffer += self._recv(sock)

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk


def run(host: str, port: int, *, seconds: float, connections: int, first: int, seller: int,
        app_id: int) -> dict[str, object]:
    counter = itertools.count(first)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop = time.monotonic() + seconds

    def loop(n: int) -> None:
        conn = Connection(host, port)
        try:
            while time.monotonic() < stop:
                data = request_bytes(host, port, next(counter), seller, app_id)
                began = time.perf_counter()
                try:
                    ok = conn.exchange(data) == 200
                except OSError:
                    conn.close()
                    ok = False
                latencies[n].append(time.perf_counter() - began)
                if not ok:
                    errors[n] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [x for part in latencies for x in part]
    return {"count": len(flat), "errors": sum(errors), "latencies": flat}


if __name__ == "__main__":
    h, p, s, c, f, sel, app = sys.argv[1:8]
    print(json.dumps(run(h, int(p), seconds=float(s), connections=int(c), first=int(f),
                         seller=int(sel), app_id=int(app))))
