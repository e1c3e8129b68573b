"""A TCP relay that can play dead: the bot's link goes silent, nothing closes.

That is what a frozen server or a NAT that forgot the connection looks like
from the client: no data and no FIN, forever. New connections still go
through, so a client that notices can come back.
"""

from __future__ import annotations

import contextlib
import socket
import threading

HOST = "127.0.0.1"


class FreezableRelay:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._frozen: set[int] = set()  # ids of the frozen connections
        self._connections: list[tuple[int, socket.socket, socket.socket]] = []
        self._next_id = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection((HOST, self.upstream_port))
            with self._lock:
                ident = self._next_id
                self._next_id += 1
                self._connections.append((ident, client, server))
            threading.Thread(target=self._pump, args=(ident, client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(ident, server, client, True), daemon=True).start()

    def _passed(self, ident: int, data: bytes, from_server: bool) -> bytes:
        """What of ``data`` goes on (subclasses drop lines)."""
        return data

    def _pump(self, ident: int, source: socket.socket, target: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(65536):
                if ident not in self._frozen:
                    target.sendall(self._passed(ident, data, from_server))
        except OSError:
            pass
        if ident in self._frozen:
            return  # a dead link carries no FIN either
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def connections(self) -> int:
        return self._next_id

    def freeze(self) -> None:
        """Swallow everything on the connections open now, both ways."""
        with self._lock:
            self._frozen.update(ident for ident, _, _ in self._connections)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for _, client, server in self._connections:
                client.close()
                server.close()
