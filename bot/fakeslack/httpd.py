"""The HTTP side of the fake: request parsing and the handler the threading server runs.

Routes: ``/api/<method>`` (Web API), ``/response/<token>`` (response_url posts),
``/upload/<file_id>`` (external file uploads) and ``/files-pri/<file_id>/<name>`` (a file's
``url_private_download``, for the bot token only). The handler only parses and writes;
:class:`~bot.fakeslack.server.FakeSlack` decides what to answer.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

# Params that slack_sdk (and Slack) send as JSON strings inside form bodies.
JSON_PARAMS = ("blocks", "view", "metadata", "files", "attachments", "outputs")

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (dict) or text (str), extra headers


class Endpoint(Protocol):
    def api_request(self, method: str, params: dict[str, Any], token: str | None) -> Answer: ...
    def response_request(self, token: str, body: Any) -> Answer: ...
    def upload_request(self, file_id: str, data: bytes) -> Answer: ...
    def download_request(self, file_id: str, token: str | None) -> tuple[int, bytes | str]: ...


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that gave up (timeouts in reliability tests) are expected: stay quiet.
        return


def parse_form_or_json(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    lowered = content_type.lower()
    if lowered.startswith("multipart/form-data"):
        return {k: v for k, v in parse_multipart(body, content_type).items() if not isinstance(v, bytes)}
    if "json" in lowered or body.lstrip()[:1] == b"{":
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            return decoded
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):  # else left as a string: validation reports it
                params[key] = json.loads(value)
    return params


def parse_multipart(body: bytes, content_type: str) -> dict[str, str | bytes]:
    """Fields as text, file parts as bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    parts: dict[str, str | bytes] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        parts[name] = payload if part.get_filename() else payload.decode("utf-8", "replace")
    return parts


class _Handler(BaseHTTPRequestHandler):
    server: FakeHTTPServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        try:
            self._route()
        except Exception as exc:  # a bug in the fake: say so loudly instead of dropping the connection
            traceback.print_exc()
            self._write((500, {"ok": False, "error": "fakeslack_crashed", "detail": repr(exc)}, {}))

    def _route(self) -> None:
        endpoint = self.server.endpoint
        url = urlsplit(self.path)
        body = self._read_body()
        content_type = self.headers.get("Content-Type", "")
        parts = url.path.strip("/").split("/", 1)
        if len(parts) != 2:
            self._write((404, {"ok": False, "error": "not_found"}, {}))
            return
        route, rest = parts
        if route == "api":
            params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(parse_form_or_json(body, content_type))
            decode_json_params(params)
            token = params.pop("token", None)
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
            answer = endpoint.api_request(rest, params, token)
        elif route == "response":
            try:
                payload: Any = json.loads(body) if body else None
            except ValueError:
                form = dict(parse_qsl(body.decode("utf-8", "replace")))
                payload = json.loads(form["payload"]) if "payload" in form else None
            answer = endpoint.response_request(rest, payload)
        elif route == "files-pri":
            auth = self.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            status, data = endpoint.download_request(rest.split("/", 1)[0], token)
            self._write_bytes(status, data)
            return
        elif route == "upload":
            data = body
            if content_type.lower().startswith("multipart/form-data"):
                files = [v for v in parse_multipart(body, content_type).values() if isinstance(v, bytes)]
                data = files[0] if files else b""
            answer = endpoint.upload_request(rest, data)
        else:
            answer = (404, {"ok": False, "error": "not_found"}, {})
        self._write(answer)

    def _write_bytes(self, status: int, data: bytes | str) -> None:
        body = data.encode() if isinstance(data, str) else data
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _write(self, answer: Answer) -> None:
        status, payload, headers = answer
        if isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left
