"""Serve a run's connection secrets to its own Ansible process over a Unix socket, never through a file.

Why not environment variables: ansible-runner writes the complete environment of the run into
`artifacts/<id>/command` (and `envvars=` into `env/envvars` unless suppress_env_files), so a secret put there
lands on disk in plain text. Instead the inventory holds `{{ lookup('hardening_secret', 'S_3') }}` and the lookup
plugin (engines/ansible_plugins/lookup/hardening_secret.py) asks this server, a thread of the orchestrator, which
keeps the values in memory. The socket lives in the run's private 0700 folder, is 0600, answers only processes of
this user (SO_PEERCRED) and stops with the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hardening.core.secrets import Secret

#: Where the lookup plugin lives (ANSIBLE_LOOKUP_PLUGINS).
LOOKUP_PLUGINS = Path(__file__).with_name("ansible_plugins") / "lookup"
_PEERCRED = struct.Struct("3i")


def _answer(conn: socket.socket, values: Mapping[str, Secret]) -> None:
    conn.settimeout(5)
    pid, uid, gid = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    del pid, gid
    if uid != os.getuid():  # the folder is 0700 already; a process of another user gets nothing
        return
    request = b""
    while not request.endswith(b"\n") and len(request) < 256:
        chunk = conn.recv(256)
        if not chunk:
            break
        request += chunk
    secret = values.get(request.strip().decode("ascii", "replace"))
    reply = {"value": secret.reveal()} if secret is not None else {"error": "unknown"}
    conn.sendall(json.dumps(reply).encode("utf-8"))


@contextmanager
def serve(folder: Path, values: Mapping[str, Secret]) -> Iterator[str]:
    """Serve `values` ({name: secret}) on a socket in `folder` (a private 0700 run folder) until the block ends.

    Yields the socket path (for HARDENING_SECRET_SOCK). With no values, nothing is started and "" is yielded.
    """
    if not values:
        yield ""
        return
    home = folder / "secrets"
    home.mkdir(mode=0o700)
    path = home / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old_umask)
    server.listen(128)
    server.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                _answer(conn, values)

    thread = threading.Thread(target=loop, name="ansible-secrets", daemon=True)
    thread.start()
    try:
        yield str(path)
    finally:
        stop.set()
        thread.join(5)
        server.close()
        path.unlink(missing_ok=True)
