"""known_hosts read once per run and indexed by host (issue 11 item 6: paramiko decoded every line of the file on
every connection, seconds per host with 10,000 lines). The check itself is unchanged: a host's plain or hashed entry
is found, a wrong key is refused, an unknown host is refused under strict; a key marked @revoked is refused under
every policy; a @cert-authority line vouches for nothing."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from hardening.core.errors import AuthenticationFailed, CollectionError
from hardening.core.inventory import load_inventory
from hardening.core.platform import Target
from hardening.core.run import RunOptions, connection_options
from hardening.core.secrets import Credentials
from hardening.platforms.common import knownhosts, netcli, ssh

ROOT = Path(__file__).resolve().parents[2]
SERVER_KEY = paramiko.ECDSAKey.generate()
OTHER_KEY = paramiko.ECDSAKey.generate()      # same type: a "changed key" for the server


def _line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}"


@pytest.fixture
def ssh_port() -> Iterator[int]:
    """An SSH server on 127.0.0.1 that shows SERVER_KEY and accepts no login."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve(conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(SERVER_KEY)
        try:
            transport.start_server(server=paramiko.ServerInterface())
            transport.accept(5)
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def _target(port: int, known: Path, policy: str = "strict") -> Target:
    host = dataclasses.replace(load_inventory(ROOT / "inventory").hosts["ntp01"], hostname="127.0.0.1", port=port)
    run = RunOptions.ssh(timeout=5.0, known_hosts=str(known), host_key_policy=policy)
    return Target(host, Credentials("lab", "u", None), 5.0, connections=connection_options(host, ("ssh",), run))


def _outcome(port: int, known: Path, policy: str = "strict") -> str:
    """The one-line reason the connection stopped: after the host key was accepted, the login is refused."""
    with pytest.raises(CollectionError) as info:
        ssh.run(_target(port, known, policy), "true")
    return str(info.value)


def _accepted(reason: str) -> bool:
    return "host key" not in reason and "known_hosts" not in reason


# -- the index --------------------------------------------------------------------------------------------------------

def test_index_finds_plain_multi_name_and_hashed_entries_only_for_the_lookup_name() -> None:
    hashed = paramiko.HostKeys.hash_host("[192.0.2.1]:2222")
    text = "\n".join([
        "# comment", "",
        _line("[192.0.2.1]:2222,rt1", SERVER_KEY),
        _line("192.0.2.1", OTHER_KEY),                  # port 22 only
        _line(hashed, OTHER_KEY),
        _line("|1|bm90LWEtc2FsdA==|junk", OTHER_KEY),   # malformed hashed name: matches nothing
        _line("192.0.2.*", OTHER_KEY),                  # patterns are not matched (paramiko does not either)
        _line("[192.0.2.10]:2222", OTHER_KEY),
    ])
    index = knownhosts.KnownHosts.parse("kh", text)
    assert index.lines_for(knownhosts.lookup_name("192.0.2.1", 2222)) == [
        _line("[192.0.2.1]:2222,rt1", SERVER_KEY), _line(hashed, OTHER_KEY)]
    assert index.lines_for(knownhosts.lookup_name("192.0.2.1", 22)) == [_line("192.0.2.1", OTHER_KEY)]
    assert index.lines_for("rt1") == [_line("[192.0.2.1]:2222,rt1", SERVER_KEY)]
    assert index.lines_for("192.0.2.99") == []


def test_revoked_keys_are_left_out_and_cert_authority_vouches_for_nothing() -> None:
    text = "\n".join([
        _line("host1,host2", SERVER_KEY),
        _line("host1", OTHER_KEY),
        "@revoked * " + _line("", SERVER_KEY).strip(),
        "@cert-authority host3 " + _line("", OTHER_KEY).strip(),
    ])
    index = knownhosts.KnownHosts.parse("kh", text)
    assert index.lines_for("host1") == [_line("host1", OTHER_KEY)]
    assert index.lines_for("host2") == []
    assert index.lines_for("host3") == []
    assert index.is_revoked(SERVER_KEY.get_name(), SERVER_KEY.get_base64())
    assert not index.is_revoked(OTHER_KEY.get_name(), OTHER_KEY.get_base64())
    assert index.cert_authority_for("host3")


def test_the_file_is_read_once_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(_line("a", SERVER_KEY) + "\n", encoding="utf-8")
    reads: list[str] = []
    parse = knownhosts.KnownHosts.parse
    monkeypatch.setattr(knownhosts.KnownHosts, "parse", classmethod(lambda cls, p, t: reads.append(p) or parse(p, t)))
    knownhosts._read.cache_clear()
    for _ in range(50):
        assert knownhosts.load(known).lines_for("a") == [_line("a", SERVER_KEY)]
    assert len(reads) == 1
    known.write_text(_line("a", OTHER_KEY) + "\n" + _line("b", SERVER_KEY) + "\n", encoding="utf-8")
    assert knownhosts.load(known).lines_for("a") == [_line("a", OTHER_KEY)]   # a changed file is read again
    assert len(reads) == 2


# -- the SSH transport (paramiko) ------------------------------------------------------------------------------------

def test_plain_and_hashed_entries_are_accepted(ssh_port: int, tmp_path: Path) -> None:
    name = f"[127.0.0.1]:{ssh_port}"
    for entry in (name, paramiko.HostKeys.hash_host(name)):
        known = tmp_path / f"kh-{len(entry)}"
        known.write_text(_line("other", OTHER_KEY) + "\n" + _line(entry, SERVER_KEY) + "\n", encoding="utf-8")
        reason = _outcome(ssh_port, known)
        assert _accepted(reason), reason


def test_wrong_key_is_refused(ssh_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(_line(f"[127.0.0.1]:{ssh_port}", OTHER_KEY) + "\n", encoding="utf-8")
    with pytest.raises(AuthenticationFailed, match="host key differs"):
        ssh.run(_target(ssh_port, known), "true")
    with pytest.raises(AuthenticationFailed, match="host key differs"):   # accept-new never replaces a key
        ssh.run(_target(ssh_port, known, "accept-new"), "true")


def test_unknown_host_and_cert_authority_only_are_refused_under_strict(ssh_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(_line("[127.0.0.1]:1", SERVER_KEY) + "\n" +
                     f"@cert-authority [127.0.0.1]:{ssh_port} " + _line("", OTHER_KEY).strip() + "\n",
                     encoding="utf-8")
    with pytest.raises(AuthenticationFailed, match="host key unknown"):
        ssh.run(_target(ssh_port, known), "true")


def test_revoked_key_is_refused_under_every_policy(ssh_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    revoked = "@revoked * " + _line("", SERVER_KEY).strip() + "\n"
    known.write_text(_line(f"[127.0.0.1]:{ssh_port}", SERVER_KEY) + "\n" + revoked, encoding="utf-8")
    with pytest.raises(AuthenticationFailed, match="@revoked"):
        ssh.run(_target(ssh_port, known), "true")
    known.write_text(revoked, encoding="utf-8")                         # not known: accept-new must not learn it
    with pytest.raises(AuthenticationFailed, match="@revoked"):
        ssh.run(_target(ssh_port, known, "accept-new"), "true")
    assert known.read_text(encoding="utf-8") == revoked


def test_a_broken_entry_of_the_host_is_named(ssh_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{ssh_port} {SERVER_KEY.get_name()} AAAA!!notbase64\n", encoding="utf-8")
    with pytest.raises(AuthenticationFailed, match="is unusable"):
        ssh.run(_target(ssh_port, known), "true")


def test_accept_new_learns_an_unknown_host(ssh_port: int, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("", encoding="utf-8")
    reason = _outcome(ssh_port, known, "accept-new")
    assert _accepted(reason), reason
    assert known.read_text(encoding="utf-8") == _line(f"[127.0.0.1]:{ssh_port}", SERVER_KEY) + "\n"


# -- netmiko (network devices) ---------------------------------------------------------------------------------------

def test_netmiko_session_with_a_revoked_key_is_refused(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("@revoked * " + _line("", SERVER_KEY).strip() + "\n", encoding="utf-8")

    class Transport:
        def get_remote_server_key(self) -> paramiko.PKey:
            return SERVER_KEY

    class Connection:
        remote_conn_pre = type("Client", (), {"get_transport": lambda self: Transport()})()

    parameters = {"alt_key_file": str(known), "host": "192.0.2.1", "port": 22}
    with pytest.raises(AuthenticationFailed, match="@revoked"):
        netcli.refuse_revoked("rt1", parameters, Connection())
    known.write_text("", encoding="utf-8")
    netcli.refuse_revoked("rt1", parameters, Connection())   # not revoked: no error
