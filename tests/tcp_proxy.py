"""A TCP proxy in threads that a test can cut and restore, as a server that stops and starts again does."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.servers import free_port

CHUNK = 65536


def _close(sock: socket.socket) -> None:
    """Shut both directions down (wakes a thread blocked in recv) and close."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:port to host:port; cut() refuses new connections and drops the open ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restore()

    @property
    def address(self) -> str:
        """host:port where clients connect."""
        return f"127.0.0.1:{self.port}"

    def restore(self) -> None:
        """Listen (again) on the same port and forward every connection."""
        if self._listener is not None:
            return
        self._listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on POSIX
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, args=(self._listener, self._stop), name="tcp-proxy", daemon=True
        )
        self._thread.start()

    def cut(self) -> None:
        """Stop listening (connection refused) and drop every forwarded connection."""
        if self._listener is None or self._thread is None:
            return
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        self._listener = None
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            _close(sock)

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _close(src)
            _close(dst)
