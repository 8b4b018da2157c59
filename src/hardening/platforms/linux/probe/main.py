"""The probe's entry point: every section in order, the facts document, and the command line."""

from __future__ import annotations

import json
import socket
import sys
import time
from typing import Any, Callable

from .antimalware import collect_antimalware
from .banners import collect_login_banners
from .base import PROBE_NAME, PROBE_VERSION, Ctx, utc_text
from .disk_encryption import collect_disk_encryption
from .firmware import collect_firmware
from .log_retention import collect_logging
from .log_timestamps import collect_log_timestamps
from .management import collect_management
from .os_info import collect_os
from .pam import collect_lockout, collect_password_policy
from .password_storage import collect_password_storage
from .removable_media import collect_removable_media
from .screen_lock import collect_screen_lock
from .services import collect_services
from .shell_profile import collect_idle_timeout
from .sockets import collect_network
from .sshd import collect_ssh
from .timesync import collect_time

# Facts each section is responsible for: used to turn an unexpected exception
# into errors for exactly the facts the section did not produce.
SECTION_FACTS = {
    "os": ["/os/family", "/os/name", "/os/version", "/os/kernel", "/os/hostname"],
    "password_policy": [
        "/password_policy/enforced",
        "/password_policy/min_length",
        "/password_policy/min_char_classes",
        "/password_policy/enforce_for_root",
    ],
    "lockout": ["/login/lockout_threshold", "/login/lockout_duration_seconds"],
    "ssh": [
        "/login/banner",
        "/login/last_login_shown",
        "/remote_access/ssh/enabled",
        "/remote_access/ssh/permit_root_login",
        "/remote_access/ssh/password_authentication",
        "/remote_access/ssh/max_auth_tries",
        "/remote_access/ssh/protocol_version",
        "/remote_access/ssh/contexts",
        "/remote_access/privileged_remote_login",
    ],
    "idle_timeout": [
        "/login/idle_timeout/seconds",
        "/login/idle_timeout/readonly",
        "/login/idle_timeout/exported",
        "/login/idle_timeout/source",
        "/login/idle_timeout_seconds",
    ],
    "banners": ["/login/banners"],
    "network": ["/network/exposed_sockets"],
    "services": ["/services/prohibited_present"],
    "time": [
        "/time/ntp_servers",
        "/time/synchronized",
        "/time/selected_source",
        "/time/offset_ms_abs",
        "/time/stratum",
    ],
    "logging": ["/logging/remote_targets", "/logging/retention_days", "/logging/retention_by_log",
                "/logging/journal/present", "/logging/journal/running", "/logging/journal/storage",
                "/logging/journal/persistent", "/logging/journal/max_retention_days"],
    "removable_media": ["/removable_media/usb_storage_blocked", "/removable_media/usb_storage_loaded"],
    "screen_lock": ["/screen_lock/enabled", "/screen_lock/idle_seconds", "/screen_lock/enforced"],
    "firmware": ["/firmware/admin_password_set", "/firmware/power_on_password_set", "/firmware/interface"],
    "disk_encryption": ["/disk_encryption/os_volume_encrypted", "/disk_encryption/method"],
    "antimalware": ["/antimalware/products", "/antimalware/resident", "/antimalware/signature_age_days"],
    "management": ["/management/insecure_protocols"],
    "password_storage": [
        "/accounts/password_storage/hash_methods",
        "/accounts/password_storage/weak_hash_accounts",
        "/accounts/password_storage/empty_password_accounts",
    ],
    "log_timestamps": ["/logging/timestamp_formats"],
}


SECTIONS = [
    ("os", collect_os),
    ("password_policy", collect_password_policy),
    ("lockout", collect_lockout),
    ("network", collect_network),
    ("ssh", collect_ssh),
    ("banners", collect_login_banners),
    ("idle_timeout", collect_idle_timeout),
    ("services", collect_services),
    ("time", collect_time),
    ("logging", collect_logging),
    ("removable_media", collect_removable_media),
    ("screen_lock", collect_screen_lock),
    ("firmware", collect_firmware),
    ("disk_encryption", collect_disk_encryption),
    ("antimalware", collect_antimalware),
    ("management", collect_management),
    ("password_storage", collect_password_storage),
    ("log_timestamps", collect_log_timestamps),
]


def run_section(ctx: Ctx, name: str, fn: Callable[[Ctx], None]) -> None:
    try:
        fn(ctx)
    except Exception as exc:  # noqa: BLE001 -- one section must never sink the probe
        reason = "probe error in section %s: %s: %s" % (name, type(exc).__name__, exc)
        for p in SECTION_FACTS.get(name, []):
            ctx.error(p, reason)


def collect(root: str = "/", now: float | None = None, commands: bool | None = None,
            offline: bool = False) -> dict[str, Any]:
    """Run every section and return the facts document (a dict).

    ``offline``: ``root`` is a saved file tree (no commands, no /proc, /sys, /run, /dev): facts only a
    running host gives are left out with an error, so they can never pass."""
    t0 = time.monotonic()
    ctx = Ctx(root, commands=commands, now=now, offline=offline)
    for name, fn in SECTIONS:
        run_section(ctx, name, fn)
    host = ctx.facts.get("os", {}).get("hostname") or socket.gethostname() or "unknown"
    collected = utc_text(ctx.now, "%Y-%m-%dT%H:%M:%SZ")
    return {
        "format_version": "1",
        "host": host,
        "platform": "linux",
        "device_class": "linux_server",
        "collected_at": collected,
        "probe": {"name": PROBE_NAME, "version": PROBE_VERSION,
                  "duration_ms": round((time.monotonic() - t0) * 1000.0, 1)},
        "facts": ctx.facts,
        "errors": ctx.errors,
        "manual": ctx.manual,
        "evidence": ctx.evidence,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the facts document.  ``--root DIR`` reads a copied filesystem instead of "/"
    (commands are then unavailable), ``--offline`` reads it as a saved file tree (see ``collect``) and
    ``--now EPOCH`` fixes the clock: for debugging and tests, never used by the auditor."""
    argv = list(sys.argv[1:] if argv is None else argv)
    root = "/"
    if len(argv) >= 2 and argv[0] == "--root":
        root = argv[1]
    now = None  # type: float | None
    if "--now" in argv[:-1]:
        now = float(argv[argv.index("--now") + 1])
    doc = collect(root, now=now, offline="--offline" in argv)
    # ASCII-only JSON: the remote locale (sudo, C locale) cannot break stdout.
    sys.stdout.write(json.dumps(doc, ensure_ascii=True, sort_keys=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
