"""A tiny DNS server for real runs (UDP and TCP on one loopback address, port 53, since musl asks only
port 53): enough of RFC 1035 to answer A queries from a fixed zone, truncating over UDP the way some
recursive servers do (TC set, every answer left out)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

A, AAAA = 1, 28
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
UDP_LIMIT = 512


@dataclass(frozen=True)
class Answer:
    rcode: int
    addresses: tuple[str, ...] = ()


Zone = dict[str, Answer]


def _question(query: bytes) -> tuple[str, int, int]:
    """(name, qtype, end of the question) of a query."""
    labels: list[str] = []
    at = 12
    while query[at]:
        n = query[at]
        labels.append(query[at + 1:at + 1 + n].decode("ascii").lower())
        at += 1 + n
    qtype = struct.unpack_from(">H", query, at + 1)[0]
    return ".".join(labels), qtype, at + 5


def respond(query: bytes, zone: Zone, udp: bool) -> bytes:
    name, qtype, end = _question(query)
    answer = zone.get(name, Answer(NXDOMAIN))
    addresses = answer.addresses if qtype == A else ()
    records = b"".join(struct.pack(">HHHIH", 0xC00C, A, 1, 60, 4) + socket.inet_aton(a) for a in addresses)
    flags = 0x8000 | (struct.unpack_from(">H", query, 2)[0] & 0x0100) | 0x0080 | answer.rcode
    count = len(addresses)
    if udp and 12 + (end - 12) + len(records) > UDP_LIMIT:
        flags |= 0x0200  # TC: ask again over TCP
        records, count = b"", 0
    header = struct.pack(">HHHHHH", struct.unpack_from(">H", query)[0], flags, 1, count, 0, 0)
    return header + query[12:end] + records


@contextmanager
def dns_server(address: str, zone: Zone) -> Iterator[None]:
    """Serve ``zone`` on ``address``:53 over UDP and TCP until the block ends."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.bind((address, 53))
    tcp.bind((address, 53))
    tcp.listen(8)
    udp.settimeout(0.2)
    tcp.settimeout(0.2)
    stop = threading.Event()

    def serve_udp() -> None:
        while not stop.is_set():
            try:
                query, peer = udp.recvfrom(4096)
                udp.sendto(respond(query, zone, udp=True), peer)
            except (TimeoutError, OSError, IndexError, UnicodeDecodeError, struct.error):
                continue

    def serve_tcp() -> None:
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                try:
                    conn.settimeout(5)
                    size = struct.unpack(">H", conn.recv(2))[0]
                    query = b""
                    while len(query) < size:
                        chunk = conn.recv(size - len(query))
                        if not chunk:
                            break
                        query += chunk
                    reply = respond(query, zone, udp=False)
                    conn.sendall(struct.pack(">H", len(reply)) + reply)
                except (TimeoutError, OSError, IndexError, UnicodeDecodeError, struct.error):
                    continue

    threads = [threading.Thread(target=f, daemon=True) for f in (serve_udp, serve_tcp)]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        udp.close()
        tcp.close()
