"""Which requirements apply to which host, and the host filters admins use on the command line."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from hardening.core.models import Host, Requirement


def applies(requirement: Requirement, host: Host) -> tuple[bool, dict[str, str]]:
    """(applies?, reason in ja/en when it does not)."""
    if host.device_class not in requirement.device_classes:
        return False, {
            "ja": f"機器区分 {host.device_class} は対象外",
            "en": f"device class {host.device_class} is out of scope",
        }
    scope = requirement.scope
    zones = scope.get("zones")
    if zones and host.zone not in zones:
        return False, {"ja": f"ゾーン {host.zone} は対象外（対象: {', '.join(zones)}）",
                       "en": f"zone {host.zone} is out of scope (applies to: {', '.join(zones)})"}
    roles_any = scope.get("roles_any")
    if roles_any and not set(roles_any) & set(host.roles):
        return False, {"ja": f"役割 {', '.join(roles_any)} のいずれも持たない",
                       "en": f"host has none of the roles {', '.join(roles_any)}"}
    roles_none = scope.get("roles_none")
    if roles_none and set(roles_none) & set(host.roles):
        hit = ", ".join(sorted(set(roles_none) & set(host.roles)))
        return False, {"ja": f"役割 {hit} のホストは対象外", "en": f"hosts with role {hit} are out of scope"}
    for key, minimum in (scope.get("min_classification") or {}).items():
        if host.classification.get(key, 0) < minimum:
            return False, {"ja": f"重要性分類 {key}={host.classification.get(key)} は {minimum} 未満",
                           "en": f"classification {key}={host.classification.get(key)} is below {minimum}"}
    return True, {}


@dataclass
class Selection:
    """Command-line scope filters; empty lists select everything. Patterns are shell-style."""

    hosts: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    device_classes: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)

    def host_selected(self, host: Host) -> bool:
        if self.hosts and not any(fnmatch.fnmatchcase(host.name, p) for p in self.hosts):
            return False
        if self.groups and not set(self.groups) & set(host.groups):
            return False
        if self.zones and host.zone not in self.zones:
            return False
        if self.systems and host.system.name not in self.systems:
            return False
        return not (self.device_classes and host.device_class not in self.device_classes)

    def requirement_selected(self, requirement: Requirement) -> bool:
        return not self.requirements or any(fnmatch.fnmatchcase(requirement.id, p) for p in self.requirements)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.__dict__.items() if v}
