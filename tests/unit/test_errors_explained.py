"""Errors that say what happened, in one line, with no traceback (issue 6, change control item 9).

A host that resets the connection, a missing known_hosts file, an unknown platform, a catalog file that is
not UTF-8 and a full disk each get a one-line reason naming the host, file, byte or path: in the report
when the run goes on, on stderr always.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
import yaml

from hardening import cli
from hardening.core.errors import AuthenticationFailed, DeviceUnreachable
from hardening.core.inventory import load_inventory
from hardening.core.platform import Target
from hardening.core.run import RunOptions, connection_options
from hardening.core.secrets import Credentials
from hardening.platforms.common import ssh
from hardening.report import files as report_files

ROOT = Path(__file__).resolve().parents[2]
HOST_KEY = paramiko.RSAKey.generate(1024)


def _serve(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 running `handle` for each connection; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
    conn.close()


RESETS: dict[str, Callable[[socket.socket], None]] = {
    "close at once": lambda c: c.close(),
    "reset at once": _reset,
    "close after the banners": lambda c: (c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n"), c.recv(256), c.close()),
    "reset after the banners": lambda c: (c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n"), c.recv(256), _reset(c)),
}


def _ssh_server(conn: socket.socket) -> None:
    """Just enough of an SSH server for the client to see its host key."""
    transport = paramiko.Transport(conn)
    transport.add_server_key(HOST_KEY)
    try:
        transport.start_server(server=paramiko.ServerInterface())
    except (paramiko.SSHException, EOFError, OSError):
        return


@pytest.fixture(params=list(RESETS), ids=list(RESETS))
def resetting_port(request: pytest.FixtureRequest) -> Iterator[int]:
    yield from _serve(RESETS[request.param])


@pytest.fixture
def ssh_port() -> Iterator[int]:
    yield from _serve(_ssh_server)


def _target(port: int, known_hosts: str | None, policy: str = "strict") -> Target:
    host = dataclasses.replace(load_inventory(ROOT / "inventory").hosts["ntp01"], hostname="127.0.0.1", port=port)
    run = RunOptions.ssh(timeout=5.0, known_hosts=known_hosts, host_key_policy=policy)
    return Target(host, Credentials("lab", "u", None), 5.0, connections=connection_options(host, ("ssh",), run))


def _inventory(tmp_path: Path, port: int) -> Path:
    target = tmp_path / "inventory"
    target.mkdir()
    for name in ("groups.yaml", "defaults.yaml", "site.yaml", "systems.yaml"):
        (target / name).write_bytes((ROOT / "inventory" / name).read_bytes())
    hosts = yaml.safe_load((ROOT / "inventory" / "hosts.yaml").read_text(encoding="utf-8"))
    entry = hosts["ntp01"] | {"hostname": "127.0.0.1", "port": port}
    (target / "hosts.yaml").write_text(yaml.safe_dump({"ntp01": entry}, allow_unicode=True), encoding="utf-8")
    return target


@pytest.fixture
def lab_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HARDENING_VAULT", "HARDENING_VAULT_PASSWORD_FILE", "HARDENING_KNOWN_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HARDENING_CRED_LAB_USERNAME", "auditor")
    monkeypatch.setenv("HARDENING_CRED_LAB_PASSWORD", "not-a-real-password")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh/known_hosts of the machine running the tests


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


# -- a host that resets the connection -------------------------------------------------------------------------------


def test_reset_connection_is_one_reason(resetting_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("", encoding="utf-8")
    with pytest.raises(DeviceUnreachable) as info:
        ssh.run(_target(resetting_port, str(known)), "true")
    message = str(info.value)
    assert message.startswith("ntp01: ")
    assert "\n" not in message
    assert "closed" in message or "reset" in message
    assert "EOFError" not in message


def test_reset_connection_in_the_report_and_on_stderr_without_traceback(
    resetting_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], lab_credentials: None,
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["audit", "-i", str(_inventory(tmp_path, resetting_port)), "--out", str(out), "--no-progress",
                     "--timeout", "5", "--known-hosts", str(known), "--ledger", str(tmp_path / "ledger.jsonl")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "EOFError" not in err
    line = _one_line(err)
    assert "ntp01" in line
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    [host] = report["hosts"]
    assert host["error_kind"] == "DeviceUnreachable"
    assert "\n" not in host["error"]
    assert "closed" in host["error"] or "reset" in host["error"]
    assert host["error"] in line


# -- known_hosts -----------------------------------------------------------------------------------------------------


def test_missing_known_hosts_file_is_named(ssh_port: int, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "known_hosts"
    with pytest.raises(AuthenticationFailed) as strict:
        ssh.run(_target(ssh_port, str(missing)), "true")
    assert str(missing) in str(strict.value)
    assert "not found" in str(strict.value)
    assert "None" not in str(strict.value)
    with pytest.raises(AuthenticationFailed) as tofu:
        ssh.run(_target(ssh_port, str(missing), "accept-new"), "true")
    assert str(missing) in str(tofu.value)
    assert "None" not in str(tofu.value)


def test_unknown_host_key_names_the_file(ssh_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("", encoding="utf-8")
    with pytest.raises(AuthenticationFailed) as given:
        ssh.run(_target(ssh_port, str(known)), "true")
    assert str(known) in str(given.value)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(AuthenticationFailed) as default:
        ssh.run(_target(ssh_port, None), "true")
    assert "known_hosts" in str(default.value)
    assert "--known-hosts" in str(default.value)


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_cli_missing_known_hosts_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   lab_credentials: None, monkeypatch: pytest.MonkeyPatch,
                                                   policy: str) -> None:
    from hardening import audit

    monkeypatch.setattr(audit, "collect_all", lambda *a, **k: pytest.fail("nothing may be collected"))
    missing = tmp_path / "nowhere" / "known_hosts"
    code = cli.main(["audit", "-i", str(ROOT / "inventory"), "--out", str(tmp_path / "out"), "--no-progress",
                     "--known-hosts", str(missing), "--host-key-policy", policy])
    assert code == 1
    line = _one_line(capsys.readouterr().err)
    assert str(missing) in line
    assert "--known-hosts" in line
    assert not (tmp_path / "out").exists()


# -- unknown platform, catalog not UTF-8, full disk ------------------------------------------------------------------


@pytest.mark.parametrize(("file", "where", "host"), [("hosts.yaml", "/web01/platform", "web01"),
                                                     ("defaults.yaml", "/platform", "ntp01")])
def test_unknown_platform_names_host_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              file: str, where: str, host: str) -> None:
    inventory = tmp_path / "inventory"
    import shutil

    shutil.copytree(ROOT / "inventory", inventory)
    data = yaml.safe_load((inventory / file).read_text(encoding="utf-8"))
    (data["web01"] if file == "hosts.yaml" else data)["platform"] = "vax_vms"
    (inventory / file).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code = cli.main(["validate", "-i", str(inventory)])
    assert code == 1
    line = _one_line(capsys.readouterr().err)
    assert f"{inventory / file}: at {where} (line " in line
    assert f"host {host!r}" in line
    assert "vax_vms" in line
    assert "linux" in line


def test_catalog_not_utf8_names_file_and_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "schemas" / "requirements", catalog)
    path = catalog / "PW-LEN.json"
    raw = path.read_bytes()
    offset = raw.index("パスワード".encode())
    path.write_bytes(raw[:offset] + "パスワード".encode("shift_jis") + raw[offset + len("パスワード".encode()):])
    code = cli.main(["validate", "--catalog", str(catalog)])
    assert code == 1
    line = _one_line(capsys.readouterr().err)
    assert f"{path}: at byte {offset}" in line
    assert "UTF-8" in line


def test_full_disk_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from hardening import audit
    from hardening.core.models import CollectResult

    def full_disk(*args: object, **kwargs: object) -> tuple[int, str]:
        fd = os.open("/dev/full", os.O_WRONLY)  # every write fails with ENOSPC, like a full disk
        return fd, str(tmp_path / "out" / ".report.json.tmp")

    monkeypatch.setattr(audit, "collect_all", lambda hosts, *a, **k: {
        h.name: CollectResult(h.name, None, "offline test", "DeviceUnreachable", 0.0) for h in hosts})
    monkeypatch.setattr(report_files.tempfile, "mkstemp", full_disk)
    code = cli.main(["audit", "-i", str(ROOT / "inventory"), "-H", "ntp01", "--out", str(tmp_path / "out"),
                     "--no-progress", "--ledger", str(tmp_path / "ledger.jsonl")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if "report.json" in x]
    assert str(tmp_path / "out" / "report.json") in line
    assert "No space left on device" in line
    assert not (tmp_path / "out" / "report.json").exists()
