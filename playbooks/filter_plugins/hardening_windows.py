"""Filters of playbooks/windows.yml: the Windows settings from the project's own data and code
(hardening.platforms.windows.playbook), so the playbook sets exactly what `hardening plan`/`apply` would."""

from __future__ import annotations

from typing import Any


class FilterModule:
    def filters(self) -> dict[str, Any]:
        from hardening.platforms.windows.playbook import changes, reads

        return {"hardening_windows_reads": reads, "hardening_windows_changes": changes}
