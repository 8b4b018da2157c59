"""The shared netmiko session of network platforms (hardening.platforms.common.netcli): reading a command's output at
a known prompt, the in-memory collect, the known_hosts file narrowed to one host, the connection defaults."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import paramiko
import pytest
from tests import netfake

from hardening.core.connections import ConnectionOptions
from hardening.core.errors import DeviceTimeout, DeviceUnreachable
from hardening.core.models import Host, SystemInfo
from hardening.core.platform import Target
from hardening.core.secrets import Credentials, Secret
from hardening.platforms.cisco_ios import driver
from hardening.platforms.cisco_ios.config import truncation
from hardening.platforms.cisco_ios.data import commands
from hardening.platforms.common import netcli
from hardening.platforms.common.netcli import (
    capture_file,
    host_key_file,
    netmiko_parameters,
    read_output,
    read_outputs,
)

CASES = Path(__file__).resolve().parents[1] / "platforms" / "cisco_ios" / "cases"
CASE = "iosxe17-router-common-criteria-live-synced"


class Channel:
    """paramiko's Channel as read_output uses it: recv blocks until the next chunk (or times out)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.timeout: float | None = 20.0
        self.timeouts: list[float | None] = []

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, value: float | None) -> None:
        self.timeout = value
        self.timeouts.append(value)

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise TimeoutError("timed out")
        return self.chunks.pop(0)


class Session:
    """A netmiko session over a scripted channel (normalize_linefeeds as netmiko's)."""

    RETURN = RESPONSE_RETURN = "\n"
    encoding = "utf-8"
    ansi_escape_codes = False

    def __init__(self, chunks: list[bytes]) -> None:
        self.remote_conn = Channel(chunks)
        self.written: list[str] = []

    def write_channel(self, data: str) -> None:
        self.written.append(data)

    def normalize_linefeeds(self, text: str) -> str:
        from netmiko.base_connection import BaseConnection

        return BaseConnection.normalize_linefeeds(self, text)  # type: ignore[arg-type]


def test_output_is_what_follows_the_echo_up_to_the_prompt_alone_at_the_end() -> None:
    session = Session([b"\r\nrt1#",                                        # left over from an earlier newline
                       b"show running-config\r\nBuilding configuration...\r\n",
                       b"hostname rt1\r\nbanner motd ^C\r\nrt1# is not the end ^C\r\n",
                       b"end\r\n\r\nrt1#"])
    output = read_output(session, "show running-config", "rt1#", 5.0)
    assert session.written == ["show running-config\n"]
    assert output == "Building configuration...\nhostname rt1\nbanner motd ^C\nrt1# is not the end ^C\nend\n"
    assert session.remote_conn.timeout == 20.0, "the channel's own timeout is restored"


def test_an_empty_output_and_the_same_string_as_send_command() -> None:
    assert read_output(Session([b"show privilege\r\nrt1#"]), "show privilege", "rt1#", 5.0) == ""
    # netmiko's send_command drops the echo line and the prompt line and joins the rest with \n
    text = "show version\r\nCisco IOS XE Software\r\n\r\nuptime is 1 week\r\nrt1# "
    assert read_output(Session([text.encode()]), "show version", "rt1#", 5.0) == \
        "Cisco IOS XE Software\n\nuptime is 1 week"


def test_no_prompt_in_time_a_closed_session_and_an_oversized_output(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TimeoutError, match="no prompt after `show logging`"):
        read_output(Session([b"show logging\r\nSyslog logging: enabled\r\n"]), "show logging", "rt1#", 5.0)
    with pytest.raises(EOFError):
        read_output(Session([b"show logging\r\n", b""]), "show logging", "rt1#", 5.0)
    monkeypatch.setattr(netcli, "MAX_OUTPUT", 64)
    with pytest.raises(OverflowError):
        read_output(Session([b"show logging\r\n" + b"x" * 100]), "show logging", "rt1#", 5.0)


def test_commands_sent_together_are_split_at_each_prompt_followed_by_the_next_echo() -> None:
    """read_outputs: one write, each output the string read_output gives for the command alone, whatever the chunk
    boundaries (a prompt split from the next echo, prompt-like text inside an output, a rejected command)."""
    commands = ["show running-config", "show bogus", "show privilege"]
    alone = [b"show running-config\r\nhostname rt1\r\nbanner motd ^C\r\nrt1#show privilege ^C\r\nend\r\n\r\nrt1#",
             b"show bogus\r\n% Invalid input detected at '^' marker.\r\n\r\nrt1#",
             b"show privilege\r\nCurrent privilege level is 15\r\nrt1# "]
    expected = [read_output(Session([chunk]), command, "rt1#", 5.0)
                for command, chunk in zip(commands, alone, strict=True)]
    stream = b"\r\nrt1#" + b"".join(alone)     # a stale prompt first
    for size in (1, 7, 64, len(stream)):
        session = Session([stream[i:i + size] for i in range(0, len(stream), size)])
        assert read_outputs(session, commands, "rt1#", 5.0) == expected
        assert session.written == ["show running-config\nshow bogus\nshow privilege\n"]
    assert expected[0] == "hostname rt1\nbanner motd ^C\nrt1#show privilege ^C\nend\n"
    assert expected[2] == "Current privilege level is 15"


def test_commands_sent_together_time_out_naming_the_command_waited_for() -> None:
    """Without the prompt after the second command's output: a timeout naming it (never a partial output)."""
    stream = [b"show version\r\nIOS\r\nrt1#", b"show logging\r\nSyslog logging: enabled\r\n"]
    with pytest.raises(TimeoutError, match="no prompt after `show logging`"):
        read_outputs(Session(list(stream)), ["show version", "show logging"], "rt1#", 5.0)
    with pytest.raises(EOFError, match="show logging"):
        read_outputs(Session([*stream, b""]), ["show version", "show logging"], "rt1#", 5.0)


def test_ios_prompt_from_the_base_prompt_only_when_it_is_the_whole_hostname() -> None:
    """netmiko's cisco_ios driver cuts base_prompt at 16 characters: a shorter one is the hostname, the prompt
    after enable is it and `#`; a 16-character one may be cut, so the device is asked (None)."""
    platform = driver.IOSPlatform()

    class Connection:
        def __init__(self, base: Any) -> None:
            self.base_prompt = base

    assert platform.known_prompt(Connection("rt1")) == "rt1#"
    assert platform.known_prompt(Connection("a-very-long-host")) is None       # 16 characters: maybe cut
    assert platform.known_prompt(Connection("")) is None
    assert platform.known_prompt(Connection(None)) is None
    assert platform.known_prompt(object()) is None


def target(tmp_path: Path, known_hosts: Path | None = None, **extras: Any) -> Target:
    host = Host(name="rt1", hostname="192.0.2.1", port=22, platform="cisco_ios", device_class="router", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="net")
    credentials = Credentials(name="net", username="audit", password=Secret("login-Pw-1"),
                              enable_secret=Secret("enable-En-1"))
    options = ConnectionOptions(kind="netmiko", hostname="192.0.2.1", port=2222,
                                extras={"known_hosts": str(known_hosts or tmp_path / "known_hosts"), **extras})
    return Target(host=host, credentials=credentials, timeout=30.0, connections={"netmiko": options})


class Device(Session):
    """netmiko's IOS session over a channel that answers each command written with its echo, output and prompt."""

    def __init__(self, outputs: dict[str, str]) -> None:
        super().__init__([])
        self.outputs = outputs
        self.prompts = 0
        self.sent: list[str] = []
        self.closed = False

    def enable(self) -> None:
        return None

    def find_prompt(self) -> str:
        self.prompts += 1
        return "rt1#"

    def write_channel(self, data: str) -> None:
        for line in data.splitlines():     # lines sent together are read one after the other, as IOS does
            command = line.strip()
            self.sent.append(command)
            output = self.outputs.get(command, "% Invalid input detected at '^' marker.\n")
            self.remote_conn.chunks += [f"{command}\r\n".encode(),
                                        output.replace("\n", "\r\n").encode() + b"\r\nrt1#"]

    def send_command(self, command: str) -> str:
        raise AssertionError("at a steady prompt every command is read by read_output")

    def disconnect(self) -> None:
        self.closed = True


def case_outputs() -> dict[str, str]:
    return netfake.case_outputs(CASES / CASE / "raw", commands())


# A banner whose lines are the prompt and `end`: a read that stops right after one of them is not the whole output.
PROMPT_BANNER = "banner exec ^C\nrt1#\nend\nrt1#\n^C\n"


class SplitDevice(Device):
    """The device sends `show running-config` in two chunks, the first ending right after a banner line that is
    the prompt itself (`rt1#`); `silent_after_split`: the rest never comes."""

    def __init__(self, outputs: dict[str, str], silent_after_split: bool = False) -> None:
        running = outputs["show running-config"].replace("line con 0\n", PROMPT_BANNER + "line con 0\n", 1)
        super().__init__({**outputs, "show running-config": running})
        self.silent_after_split = silent_after_split

    def write_channel(self, data: str) -> None:
        for line in data.splitlines():   # one at a time, also when pipelined
            if self.silent_after_split and getattr(self, "split", False):
                return                     # the rest never comes (nor any later command's answer)
            super().write_channel(line + "\n")
            if line.strip() == "show running-config":
                whole = self.remote_conn.chunks.pop()
                cut = whole.index(b"\r\nrt1#\r\nend\r\n") + len(b"\r\nrt1#")
                self.remote_conn.chunks.append(whole[:cut])
                self.split = True
                if not self.silent_after_split:
                    self.remote_conn.chunks.append(whole[cut:])


def test_a_prompt_line_inside_the_configuration_does_not_end_its_output(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk of `show running-config` that ends right after a configuration line equal to the prompt looks like
    the end of the output; IOS's closing top-level `end` is not there yet (the banner's `end` line does not
    count), so the read goes on and the whole configuration is parsed."""
    device = SplitDevice(case_outputs())
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: device)
    document = driver.IOSPlatform().collect(target(tmp_path))
    expected = json.loads((CASES / CASE / "expected.json").read_text(encoding="utf-8"))
    assert document["facts"] == expected["facts"]
    assert device.remote_conn.chunks == []
    # read_output alone (no completeness check) stops at the first prompt line: what the check is there for
    cut = SplitDevice(case_outputs())
    text = read_output(cut, "show running-config", "rt1#", 5.0)
    assert text.rstrip().endswith("banner exec ^C")
    assert truncation(text) is not None


def test_a_configuration_cut_at_a_prompt_line_is_an_error_never_facts(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: SplitDevice(case_outputs(), True))
    # (a single read stops at the prompt line and waits for the rest; a pipelined one waits for the next echo)
    with pytest.raises(DeviceTimeout, match=r"(no complete output of|no prompt after) `show running-config`"):
        driver.IOSPlatform().collect(target(tmp_path, read_timeout=1))


def test_collect_reads_every_command_at_one_prompt_and_parses_in_memory(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """IOS (steady_prompt): the prompt is asked once, every command of the table read by read_output; collect
    parses the outputs in memory to the same facts as the saved capture, and keeps them masked as captures."""
    device = Device(case_outputs())
    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: device)
    platform = driver.IOSPlatform()
    where = target(tmp_path)
    document = platform.collect(where)
    assert device.prompts == 1
    assert device.sent == [c["command"] for c in commands()]
    assert device.closed
    expected = json.loads((CASES / CASE / "expected.json").read_text(encoding="utf-8"))
    assert document["facts"] == expected["facts"]
    offline = platform.parse(CASES / CASE / "raw")
    assert {k: v for k, v in document.items() if k != "collected_at"} == \
        {k: v for k, v in offline.items() if k != "collected_at"}
    assert sorted(where.captures) == sorted(capture_file(c["command"]) for c in commands())
    running = where.captures[capture_file("show running-config")]
    secrets = [line for line in running.splitlines() if line.startswith("username") and " secret " in line]
    assert len(secrets) == 3
    assert all(line.split()[-1] == "***" for line in secrets)
    assert "$9$" not in running


def test_a_command_without_its_prompt_is_a_timeout_and_a_lost_session_unreachable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Silent(Device):
        def write_channel(self, data: str) -> None:
            self.sent.append(data.strip())
            self.remote_conn.chunks += [f"{data.strip()}\r\n".encode()]   # the echo, then nothing

    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: Silent({}))
    with pytest.raises(DeviceTimeout, match="show running-config"):
        driver.IOSPlatform().fetch(target(tmp_path, read_timeout=1), tmp_path)

    class Dropped(Device):
        def write_channel(self, data: str) -> None:
            self.remote_conn.chunks += [b""]

    monkeypatch.setattr(netcli, "_connect_handler", lambda: lambda **_: Dropped({}))
    with pytest.raises(DeviceUnreachable, match="session ended"):
        driver.IOSPlatform().fetch(target(tmp_path), tmp_path)


def test_known_hosts_narrowed_to_the_host_plain_or_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """netmiko gets a file with only this host's lines (paramiko decodes every key of the file on each connection);
    the lines are those paramiko's lookup matches, so a missing entry is still missing (strict refuses it)."""
    ours = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOurKeyOurKeyOurKeyOurKeyOurKeyOurKeyOurKey"
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKeyOt"
    hashed = paramiko.HostKeys.hash_host("[192.0.2.1]:2222")
    known = tmp_path / "known_hosts"
    known.write_text(f"# comment\n[192.0.2.1]:2222,rt1 {ours}\n192.0.2.1 {other}\n[192.0.2.1]:2223 {other}\n"
                     f"{hashed} {ours}\n|1|bm90LWEtc2FsdA==|junk {other}\n[192.0.2.10]:2222 {other}\n",
                     encoding="utf-8")
    parameters = netmiko_parameters(target(tmp_path, known), "cisco_ios")
    with host_key_file(parameters) as narrowed:
        given = Path(narrowed["alt_key_file"])
        assert given != known
        assert given.read_text(encoding="utf-8") == f"[192.0.2.1]:2222,rt1 {ours}\n{hashed} {ours}\n"
        assert given.stat().st_mode & 0o077 == 0
        assert {k: v for k, v in narrowed.items() if k != "alt_key_file"} == \
            {k: v for k, v in parameters.items() if k != "alt_key_file"}
    assert not given.exists()
    with host_key_file({**parameters, "port": 22}) as narrowed:   # port 22: the bare host name
        assert Path(narrowed["alt_key_file"]).read_text(encoding="utf-8") == f"192.0.2.1 {other}\n"
    with host_key_file({**parameters, "host": "192.0.2.99"}) as narrowed:
        assert Path(narrowed["alt_key_file"]).read_text(encoding="utf-8") == ""
    missing = netmiko_parameters(target(tmp_path, tmp_path / "absent"), "cisco_ios")
    with host_key_file(missing) as narrowed:
        assert narrowed == missing


def test_connect_gives_netmiko_the_narrowed_file_and_netmikos_fast_cli_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("[192.0.2.1]:2222 ssh-ed25519 AAAA1\n[192.0.2.2]:2222 ssh-ed25519 AAAA2\n", encoding="utf-8")
    seen: list[str] = []

    def connect(**kwargs: Any) -> Device:
        seen.append(Path(kwargs["alt_key_file"]).read_text(encoding="utf-8"))
        assert kwargs["fast_cli"] is True
        return Device({})

    monkeypatch.setattr(netcli, "_connect_handler", lambda: connect)
    netcli.disconnect(driver.IOSPlatform().connect(target(tmp_path, known)))
    assert seen == ["[192.0.2.1]:2222 ssh-ed25519 AAAA1\n"]
    assert netmiko_parameters(target(tmp_path, known, fast_cli=False), "cisco_ios")["fast_cli"] is False


@pytest.mark.parametrize(("data", "text"), [
    (b"hostname R1\r\nline vty 0 4\r\n", "hostname R1\nline vty 0 4\n"),                 # a Windows copy
    (codecs.BOM_UTF8 + b"# RTX830 Rev.15.02.30\n", "# RTX830 Rev.15.02.30\n"),                    # Notepad's BOM
    ("# 坂戸市 本庁舎\r\nsyslog host 10.0.0.1\r\n".encode("cp932"), "# 坂戸市 本庁舎\nsyslog host 10.0.0.1\n"),
    ("config system global\r\nend\r\n".encode("utf-16"), "config system global\nend\n"),      # PowerShell `>`
])
def test_saved_outputs_are_read_in_the_encodings_sites_save_them(tmp_path: Path, data: bytes, text: str) -> None:
    path = tmp_path / "show_config.txt"
    path.write_bytes(data)
    assert netcli.read_capture(path) == text


@pytest.mark.parametrize("data", [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\xbd\x80\x80\xa0\xfd",
                                  b"hostname R1\n\x00\x00\x00"])
def test_a_binary_file_is_not_read_as_a_configuration(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "show_running-config.txt"
    path.write_bytes(data)
    with pytest.raises(UnicodeDecodeError):
        netcli.read_capture(path)
