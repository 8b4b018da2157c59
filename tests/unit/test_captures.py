"""A capture platform's raw outputs are kept, masked, in the run's captures/<host>/ so the configuration as audited
is evidence and `audit --from <run>/captures` re-audits it offline with the same parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from hardening.core.models import CollectResult, Host, SystemInfo
from hardening.core.platform import CapturePlatform, Target
from hardening.core.secrets import Credentials, Secret
from hardening.report.validate import ReportError
from hardening.report.writers import write_captures

CONFIG = "hostname r1\nenable secret 9 $9$abcdefghijklmn$opqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU\n" \
         "username ops password 0 Clear-Pw-1\nsnmp-server community Comm-Str RO 10\n"


class Stub(CapturePlatform):
    name: ClassVar[str] = "stub"

    def fetch(self, target: Target, into: Path) -> None:
        (into / "show_running-config.txt").write_text(CONFIG + f"! login {target.credentials.username}\n")

    def parse(self, raw: Path) -> dict[str, Any]:
        text = (raw / "show_running-config.txt").read_text()
        return {"facts": {"os": {"hostname": text.split()[1]}}}


def test_collect_keeps_the_parsed_outputs_masked(tmp_path: Path) -> None:
    host = Host(name="r1", hostname="192.0.2.1", port=22, platform="cisco_ios", device_class="router", zone="",
                classification={}, system=SystemInfo("net", "", ()), roles=(), groups=(), credentials="lab")
    target = Target(host=host, credentials=Credentials(name="lab", username="ops",
                                                                   password=Secret("Login-Pw-9")),
                    timeout=5.0)
    document = Stub().collect(target)
    assert document["facts"]["os"]["hostname"] == "r1"
    text = target.captures["show_running-config.txt"]
    assert "hostname r1" in text
    for secret in ("Clear-Pw-1", "Comm-Str", "$9$abcdefghijklmn"):
        assert secret not in text
    assert "enable secret 9 ***" in text  # the type stays: the offline parser classifies it the same


def test_captures_are_written_per_host_and_stale_ones_replaced(tmp_path: Path) -> None:
    (tmp_path / "captures" / "r1").mkdir(parents=True)
    (tmp_path / "captures" / "r1" / "old.txt").write_text("stale")
    results = {"r1": CollectResult("r1", {}, None, None, 0.1, captures={"show_running-config.txt": "hostname r1\n"}),
               "h2": CollectResult("h2", {}, None, None, 0.1)}
    written = write_captures(results, tmp_path)
    assert written == [tmp_path / "captures" / "r1" / "show_running-config.txt"]
    assert not (tmp_path / "captures" / "r1" / "old.txt").exists()
    assert not (tmp_path / "captures" / "h2").exists()
    # owner-only: the folders 0700, the files 0600 (a masked configuration still maps the network)
    assert (tmp_path / "captures").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "captures" / "r1").stat().st_mode & 0o777 == 0o700
    assert written[0].stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["../x.txt", ".hidden", "a/b.txt"])
def test_unsafe_capture_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ReportError):
        write_captures({"r1": CollectResult("r1", {}, None, None, 0.1, captures={name: "x"})}, tmp_path)
