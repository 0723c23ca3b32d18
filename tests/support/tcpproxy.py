"""A TCP proxy that a test can cut, to make a real database unreachable mid-test.

`cut()` does what a data center losing power looks like from the application's side: the
listening port goes away (new connections are refused) and every open connection is reset.
`restore()` brings the same port back. `freeze()` is the nastier outage: connections stay
open and bytes are accepted, but nothing comes back, as from a server that hangs or a link
that drops packets behind a device that still acknowledges them; `thaw()` ends it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from tests.support.processes import free_port


class TcpProxy:
    def __init__(self, upstream: tuple[str, int] | str):
        """`upstream` is (host, port), or the path of a Unix socket."""
        self.upstream = upstream
        self.port = free_port()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._frozen = threading.Event()
        self.restore()

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def freeze(self) -> None:
        self._frozen.set()

    def thaw(self) -> None:
        self._frozen.clear()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _reset(conn)

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = _connect(self.upstream)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._connections.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                while self._frozen.is_set():  # hold the bytes: the peer hears nothing
                    time.sleep(0.02)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with self._lock:
                    self._connections.discard(sock)
                _reset(sock)


def _connect(upstream: tuple[str, int] | str) -> socket.socket:
    if isinstance(upstream, str):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.connect(upstream)
        return server
    return socket.create_connection(upstream)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass

