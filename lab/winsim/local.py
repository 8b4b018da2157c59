"""Run the simulator as a child process on loopback (lab tests without the lab netns, the benchmark).

    with LocalSim(workdir, hosts=[("srv-win-01", "127.0.3.1")], password=...) as sim:
        sim.endpoint("srv-win-01", https=True)

Each host listens on its own loopback address (127.0.0.0/8 is all local on Linux) on 5985/5986 by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from lab.winsim import pki

REPO = Path(__file__).resolve().parents[2]
HOSTS_DIR = Path(__file__).resolve().parent / "hosts"


class LocalSim:
    def __init__(self, workdir: Path, hosts: list[tuple[str, str]], *, username: str = "hardening",
                 password: str, host_files: dict[str, str] | None = None, http_port: int = 5985,
                 https_port: int | None = 5986) -> None:
        """hosts: (name, loopback address); host_files: name -> file under lab/winsim/hosts (default <name>.yaml)."""
        self.workdir = workdir
        self.hosts = hosts
        self.username = username
        self.password = password
        self.host_files = host_files or {}
        self.http_port = http_port
        self.https_port = https_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.ca = workdir / "pki" / "ca.pem"

    def spec(self) -> dict[str, Any]:
        cert, key = pki.issue_server_cert(self.workdir / "pki", [n for n, _ in self.hosts], [a for _, a in self.hosts])
        return {"cert": str(cert), "key": str(key), "ready_file": str(self.workdir / "ready"), "hosts": [
            {"name": name, "address": addr, "http_port": self.http_port, "https_port": self.https_port,
             "username": self.username, "password": self.password,
             "host_file": str(HOSTS_DIR / self.host_files.get(name, f"{name}.yaml")),
             "state_dir": str(self.workdir / "hosts" / name)} for name, addr in self.hosts]}

    def __enter__(self) -> LocalSim:
        self.workdir.mkdir(parents=True, exist_ok=True)
        spec_file = self.workdir / "spec.json"
        fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.spec(), f)
        (self.workdir / "ready").unlink(missing_ok=True)
        log = open(self.workdir / "winsim.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "lab.winsim", str(spec_file)], cwd=REPO,
                                     env={**os.environ, "PYTHONPATH": str(REPO)}, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while not (self.workdir / "ready").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("winsim did not start:\n" + (self.workdir / "winsim.log").read_text()[-2000:])
            time.sleep(0.05)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def address(self, name: str) -> str:
        return dict(self.hosts)[name]

    def endpoint(self, name: str, *, https: bool) -> str:
        port = self.https_port if https else self.http_port
        return f"{'https' if https else 'http'}://{self.address(name)}:{port}/wsman"

    def state_dir(self, name: str) -> Path:
        return self.workdir / "hosts" / name
