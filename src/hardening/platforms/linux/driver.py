"""Linux servers and PCs: one SSH session, one read-only probe (probe.py) that returns every fact."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, ClassVar

from hardening.core.errors import AuthenticationFailed, ProbeError
from hardening.core.models import Finding
from hardening.core.platform import ApplyResult, HostPlan, Target
from hardening.core.schemas import validator
from hardening.core.secrets import REDACTOR
from hardening.platforms.common import ssh

PROBE_PATH = Path(__file__).with_name("probe.py")


class LinuxPlatform:
    name: ClassVar[str] = "linux"
    device_classes: ClassVar[frozenset[str]] = frozenset({"linux_server", "linux_pc"})

    def __init__(self) -> None:
        self._probe: bytes | None = None

    def probe_source(self) -> bytes:
        if self._probe is None:
            self._probe = PROBE_PATH.read_bytes()
        return self._probe

    def command(self, target: Target) -> str:
        # The probe comes on stdin: nothing is written on the host. `sudo -n` never prompts, so a
        # missing sudo rule fails at once instead of hanging until the timeout.
        python = "python3 -"
        return f"sudo -n {python}" if target.host.become else python

    def collect(self, target: Target) -> dict[str, Any]:
        """Run the probe; return its facts document (validated), or raise a CollectionError."""
        host = target.host
        result = ssh.run(target, self.command(target), stdin=self.probe_source())
        stderr = REDACTOR.scrub(result.stderr.decode("utf-8", "replace").strip())[-500:]
        if result.exit_status != 0:
            if "sudo" in stderr and ("password is required" in stderr or "not allowed" in stderr
                                     or "not in the sudoers" in stderr):
                raise AuthenticationFailed(host.name, f"privilege escalation refused: {stderr}")
            raise ProbeError(host.name, f"probe exited with status {result.exit_status}: {stderr or 'no message'}")
        try:
            document = json.loads(result.stdout)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProbeError(host.name, f"probe output is not JSON ({type(exc).__name__})") from None
        if not isinstance(document, dict):
            raise ProbeError(host.name, "probe output is not a JSON object")
        document["host"] = host.name
        document["device_class"] = host.device_class
        document["platform"] = self.name
        errors = sorted(validator("facts.schema.json").iter_errors(document), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/" + "/".join(str(p) for p in first.absolute_path)
            raise ProbeError(host.name, f"probe output does not match facts.schema.json at {where}: "
                                        f"{first.message[:200]}")
        return document

    def plan(self, target: Target, findings: list[Finding]) -> HostPlan:
        """Not implemented yet: the change-control issue brings Ansible check/diff plans."""
        raise NotImplementedError(f"{self.name}: plan is not implemented yet ({shlex.quote(target.host.name)})")

    def apply(self, target: Target, plan: HostPlan) -> ApplyResult:
        """Not implemented yet: the change-control issue brings Ansible apply with rollback."""
        raise NotImplementedError(f"{self.name}: apply is not implemented yet ({shlex.quote(target.host.name)})")
