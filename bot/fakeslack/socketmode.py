"""A minimal Socket Mode server for the fake: what ``apps.connections.open`` points an app-level token at.

It speaks just enough WebSocket (RFC 6455) for slack_sdk's client: the handshake, Slack's ``hello``
message, pongs for the client's pings, envelopes sent to the app (:meth:`FakeSocketMode.send`) and
the acks that come back (:meth:`FakeSocketMode.acks`). It records each connection's opening and
closing, so a test can see that the app hung up, and how.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import socketserver
import struct
import threading
import time
import uuid
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes) -> bytes:
    """A server-to-client frame (unmasked, final)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next client frame (opcode, unmasked payload); None when the client hung up."""
    head = _read_exact(sock, 2)
    if head is None:
        return None
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", _read_exact(sock, 2) or b"\0\0")[0]
    elif size == 127:
        size = struct.unpack("!Q", _read_exact(sock, 8) or b"\0" * 8)[0]
    mask = _read_exact(sock, 4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = _read_exact(sock, size) if size else b""
    if mask is None or payload is None:
        return None
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class FakeSocketMode:
    """Accepts Socket Mode connections on a free loopback port."""

    def __init__(self, app_id: str = "A_NEXO") -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._connections: list[dict[str, Any]] = []
        self._acks: list[dict[str, Any]] = []
        self._open: list[socket.socket] = []
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack-socket-mode", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.server_address[1]}/link/?ticket={uuid.uuid4().hex}"

    def stop(self) -> None:
        with self._lock:
            for sock in self._open:
                sock.close()
        self._server.shutdown()
        self._server.server_close()

    def connections(self) -> list[dict[str, Any]]:
        """Each connection: ``opened`` (time), ``closed`` (time or None), ``how`` ("close frame" or
        "hung up": the client closed the TCP connection without a WebSocket close frame)."""
        with self._lock:
            return [dict(c) for c in self._connections]

    def acks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(a) for a in self._acks]

    def send(self, type_: str, payload: dict[str, Any], *, accepts_response_payload: bool = True) -> str:
        """Send an envelope to the newest open connection; returns its ``envelope_id``."""
        envelope_id = uuid.uuid4().hex
        message = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        with self._lock:
            if not self._open:
                raise RuntimeError("no Socket Mode connection is open")
            self._open[-1].sendall(frame(TEXT, json.dumps(message).encode()))
        return envelope_id

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = dict(line.split(":", 1) for line in request.decode("latin-1").split("\r\n")[1:] if ":" in line)
        key = {k.strip().lower(): v.strip() for k, v in headers.items()}.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        record: dict[str, Any] = {"opened": time.time(), "closed": None, "how": None}
        hello = {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": self.app_id},
            "debug_info": {"host": "fakeslack"},
        }
        with self._lock:
            self._connections.append(record)
            self._open.append(sock)
            sock.sendall(frame(TEXT, json.dumps(hello).encode()))
        try:
            self._read_loop(sock, record)
        except OSError:
            record["how"] = record["how"] or "hung up"
        finally:
            with self._lock:
                record["closed"] = record["closed"] or time.time()
                if sock in self._open:
                    self._open.remove(sock)

    def _read_loop(self, sock: socket.socket, record: dict[str, Any]) -> None:
        while True:
            got = read_frame(sock)
            if got is None:
                record["how"] = "hung up"
                return
            opcode, payload = got
            if opcode == PING:
                with self._lock:
                    sock.sendall(frame(PONG, payload))
            elif opcode == TEXT:
                with self._lock:
                    self._acks.append(json.loads(payload))
            elif opcode == CLOSE:
                record["how"] = "close frame"
                with self._lock:
                    sock.sendall(frame(CLOSE, payload[:2]))
                return
