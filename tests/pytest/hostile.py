"""A web server that misbehaves on purpose, for the fetch's security tests.

It speaks raw HTTP over a socket, so a route can answer anything: a redirect to another
host, a body shorter than it declares, a chunked body cut off, bytes that are not HTTP,
one byte every fraction of a second. It listens on 127.0.0.1 only, every loop in it is
bounded, and it records every request (path and headers) so a test can assert what was
and was not asked for.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[socket.socket, Request], None]
MAX_REQUEST_BYTES = 64 * 1024
MAX_CONNECTIONS = 500  # the accept loop ends after this many, whatever happens


@dataclass
class HostileServer:
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def asked(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def _serve(self, listener: socket.socket) -> None:
        for _ in range(MAX_CONNECTIONS):
            while not self.stopping.is_set():
                try:
                    connection, _ = listener.accept()
                    break
                except TimeoutError:
                    continue
            else:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            data = b""
            with suppress(OSError):
                while b"\r\n\r\n" not in data and len(data) < MAX_REQUEST_BYTES:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            if not head or len(head[0].split(" ")) != 3:
                return
            method, path, _ = head[0].split(" ")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            request = Request(method, path, headers)
            self.requests.append(request)
            handler = self.routes.get(path, not_found)
            with suppress(OSError):
                handler(connection, request)


@contextmanager
def hostile_server(routes: dict[str, Handler] | None = None) -> Iterator[HostileServer]:
    server = HostileServer(routes=dict(routes or {}))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server.port = listener.getsockname()[1]
    thread = threading.Thread(target=server._serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        thread.join(timeout=5)
        listener.close()


# ---- answers ------------------------------------------------------------------------------


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items()), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    body: bytes,
    content_type: str = "application/octet-stream",
    *,
    status: str = "200 OK",
    length: bool = True,
    etag: str | None = None,
    last_modified: float | None = None,
) -> Handler:
    """A plain answer; with ``etag`` / ``last_modified`` it honours conditional requests."""

    def handler(connection: socket.socket, request: Request) -> None:
        headers = {"Content-Type": content_type}
        modified = email.utils.formatdate(last_modified, usegmt=True) if last_modified is not None else None
        if etag:
            headers["ETag"] = etag
        if modified:
            headers["Last-Modified"] = modified
        if (etag and request.headers.get("if-none-match") == etag) or (
            modified and not etag and request.headers.get("if-modified-since") == modified
        ):
            connection.sendall(_head("304 Not Modified", headers))
            return
        if length:
            headers["Content-Length"] = str(len(body))
        connection.sendall(_head(status, headers) + body)

    return handler


def page(links: list[tuple[str, str]], charset: str = "utf-8") -> Handler:
    """An HTML page linking ``(href, text)`` pairs."""
    items = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    html = f"<html><body><h1>Community health services waiting lists</h1><ul>{items}</ul></body></html>"
    return respond(html.encode("utf-8"), f"text/html; charset={charset}")


def redirect(location: str, status: str = "302 Found") -> Handler:
    def handler(connection: socket.socket, request: Request) -> None:
        connection.sendall(_head(status, {"Location": location, "Content-Length": "0"}))

    return handler


def not_found(connection: socket.socket, request: Request) -> None:
    connection.sendall(_head("404 Not Found", {"Content-Length": "0"}))


def raw(data: bytes) -> Handler:
    """Bytes as they are, then the connection closes (e.g. not HTTP at all)."""

    def handler(connection: socket.socket, request: Request) -> None:
        connection.sendall(data)

    return handler


def chunked_cut_short(body: bytes) -> Handler:
    """A chunked body whose last chunk never comes: the connection closes mid-body."""

    def handler(connection: socket.socket, request: Request) -> None:
        half = body[: len(body) // 2]
        headers = {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
        connection.sendall(_head("200 OK", headers) + f"{len(half):x}\r\n".encode() + half + b"\r\n")

    return handler


def endless_chunks(chunk: bytes, limit: int) -> Handler:
    """A chunked body with no declared size that goes on (up to ``limit`` bytes)."""

    def handler(connection: socket.socket, request: Request) -> None:
        headers = {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
        connection.sendall(_head("200 OK", headers))
        sent = 0
        while sent < limit:
            connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
        connection.sendall(b"0\r\n\r\n")

    return handler


def drip(stopping: threading.Event, interval: float = 0.1, declared: int = 1_000_000, limit: int = 600) -> Handler:
    """Declares a large body, then sends one byte every ``interval`` seconds (at most ``limit``)."""

    def handler(connection: socket.socket, request: Request) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(declared)}
        connection.sendall(_head("200 OK", headers) + b"PK")
        for _ in range(limit):
            if stopping.wait(interval):
                return
            connection.sendall(b"\0")

    return handler


def slowly(handler: Handler, seconds: float) -> Handler:
    def delayed(connection: socket.socket, request: Request) -> None:
        time.sleep(seconds)
        handler(connection, request)

    return delayed
