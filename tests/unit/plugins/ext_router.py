"""A platform package that lives OUTSIDE src/hardening, as a third party would ship one: it registers through the
`hardening.platforms` entry point (test_platform_plugins.py writes its dist-info) and is audited with no edit to
core. It is a fetch + parse platform (CapturePlatform): fetch copies the device's saved `show ntp status` /
`show running-config` outputs from the folder its inventory hostname names (this test's stand-in for a device),
parse turns them into the shared facts by pure functions, core stamps and validates them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import DeviceUnreachable, ProbeError, SavedFactsError
from hardening.core.platform import CapturePlatform, Target

FILES = ("show_running-config.txt", "show_ntp_status.txt")


class ExtRouter(CapturePlatform):
    name: ClassVar[str] = "ext_router"
    device_classes: ClassVar[frozenset[str]] = frozenset({"router"})
    connections: ClassVar[tuple[str, ...]] = ("https",)

    def fetch(self, target: Target, into: Path) -> None:
        options = target.connection("https")
        if options.port != 8443 or options.get("verify") is not False:  # resolved from the inventory's group
            raise ProbeError(target.host.name, f"connection options not resolved: {options}")
        source = Path(target.host.hostname)
        if not source.is_dir():
            raise DeviceUnreachable(target.host.name, f"no device at {source}")
        for name in FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, into / name)

    def parse(self, raw: Path) -> dict[str, Any]:
        config_file = raw / FILES[0]
        if not config_file.is_file():
            raise SavedFactsError(raw.name, f"{config_file}: no saved running-config")
        config = config_file.read_text(encoding="utf-8")
        facts: dict[str, Any] = {"time": {"ntp_servers": re.findall(r"(?m)^ntp server (?:vrf \S+ )?(\S+)", config)}}
        errors: dict[str, str] = {}
        status_file = raw / FILES[1]
        if status_file.is_file():  # live state: present only when fetched from a running device
            status = status_file.read_text(encoding="utf-8")
            facts["time"]["synchronized"] = bool(re.search(r"(?m)^Clock is synchronized", status))
            offset = re.search(r"offset is (-?[0-9.]+) msec", status)
            if offset:
                facts["time"]["offset_ms_abs"] = abs(float(offset.group(1)))
            else:
                errors["/time/offset_ms_abs"] = "show ntp status gives no offset"
        else:
            errors["/time/synchronized"] = "live state: not in a saved configuration"
            errors["/time/offset_ms_abs"] = "live state: not in a saved configuration"
        return {"format_version": "1", "collected_at": "2026-11-29T00:00:00+00:00", "facts": facts,
                "errors": errors, "evidence": {"/time": [{"source": "show running-config", "excerpt": config[:200]}]}}
