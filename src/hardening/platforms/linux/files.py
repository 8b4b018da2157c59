"""Backups of the files a change will touch, and their restoration: the Linux rollback.

Both run as one small stdlib script over the same SSH transport as the probe (`sudo -n python3 -`).
The backup is exact (content, mode, owner, and whether the file existed at all) and is kept on the
auditor's side, mode 0600, because the host itself may be what is failing.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hardening.core.errors import ProbeError
from hardening.core.platform import Target
from hardening.platforms.common import ssh
from hardening.report.files import atomic_write

# Services to restart after restoring files under these directories (so the restored config is live).
RESTART_AFTER: dict[str, str] = {
    "/etc/ssh/": "ssh",
    "/etc/chrony/": "chrony",
    "/etc/rsyslog.conf": "rsyslog",
    "/etc/rsyslog.d/": "rsyslog",
    "/etc/clamav/": "clamav-daemon",
}

_BACKUP = r"""
import base64, json, os, stat, sys
paths = json.loads(%(paths)r)
out = {}
for p in paths:
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        out[p] = {"exists": False}
        continue
    if not stat.S_ISREG(st.st_mode):
        out[p] = {"exists": True, "kind": "other"}
        continue
    with open(p, "rb") as f:
        data = f.read()
    out[p] = {"exists": True, "kind": "file", "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
              "gid": st.st_gid, "content": base64.b64encode(data).decode()}
sys.stdout.write(json.dumps(out))
"""

_RESTORE = r"""
import base64, json, os, subprocess, sys, tempfile
backup = json.loads(%(backup)r)
services = json.loads(%(services)r)
problems = []
for p, e in sorted(backup.items()):
    try:
        if not e["exists"]:
            if os.path.lexists(p):
                os.unlink(p)
        elif e.get("kind") == "file":
            d = os.path.dirname(p)
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".hardening-restore-")
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(e["content"]))
            os.chown(tmp, e["uid"], e["gid"])
            os.chmod(tmp, e["mode"])
            os.replace(tmp, p)
    except OSError as exc:
        problems.append("%%s: %%s" %% (p, exc.strerror))
for s in services:
    r = subprocess.run(["service", s, "restart"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        problems.append("service %%s restart: exit %%d" %% (s, r.returncode))
sys.stdout.write(json.dumps({"problems": problems}))
"""


def _run(target: Target, script: str) -> Any:
    command = "sudo -n python3 -" if target.host.become else "python3 -"
    result = ssh.run(target, command, stdin=script.encode("utf-8"))
    if result.exit_status != 0:
        raise ProbeError(target.host.name, f"file script exited with status {result.exit_status}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ProbeError(target.host.name, "file script output is not JSON") from None


def backup(target: Target, paths: list[str]) -> dict[str, Any]:
    """Exact copies of `paths` (absolute) as they are now; absent files are recorded as absent."""
    clean = sorted({p for p in paths if p.startswith("/")})
    if not clean:
        return {}
    result: dict[str, Any] = _run(target, _BACKUP % {"paths": json.dumps(clean)})
    return result


def restore(target: Target, saved: dict[str, Any]) -> list[str]:
    """Put every backed-up file back (delete those that did not exist), restart affected services.

    Returns the problems met (empty list = restored)."""
    if not saved:
        return []
    services = sorted({svc for path in saved for prefix, svc in RESTART_AFTER.items() if path.startswith(prefix)})
    result = _run(target, _RESTORE % {"backup": json.dumps(saved), "services": json.dumps(services)})
    return [str(p) for p in result.get("problems", [])]


def save(saved: dict[str, Any], path: Path) -> None:
    """Keep a backup on disk, readable by root only (config files may hold site secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(saved))


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        saved: dict[str, Any] = json.load(handle)
    return saved


def decoded(saved: dict[str, Any], path: str) -> bytes | None:
    entry = saved.get(path) or {}
    return base64.b64decode(entry["content"]) if entry.get("kind") == "file" else None
