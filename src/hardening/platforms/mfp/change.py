"""Plan and apply for printers over SNMP SET, and their manual steps: the `MfpRemediator` mixin.

The platform class adds it to its bases (``class MfpPlatform(MfpRemediator, CapturePlatform)``) and gets:

- `fixes`: the requirement ids some vendor profile can fix by SNMP SET (a profile's `writable.<setting>` in
  profiles.yaml that remediation.yaml maps to a requirement), and `fixes_on(facts)`: those of ONE printer, by the
  vendor the audit recognised (core/platform.HostFixes), so an unknown vendor's or a profile's unwritable
  requirement is listed as manual with its steps instead of planned.
- `manual_steps(facts, requirement)` (core/platform.ManualGuide): the vendor profile's `manual_steps.<id>`
  ({ja, en}: which web-admin page and setting), else remediation.yaml's vendor-neutral step naming the vendor's
  web administration (or "the device's web administration page" for an unknown vendor), else None (the plan shows
  the catalog's remediation text).
- `plan`: over one SNMPv3 session (snmp.SnmpSession, authPriv from the vault), the device's sysObjectID and
  sysDescr name its profile, one GET reads the current value of every writable setting of the failing
  requirements, and each setting that does not comply is one `Change` per requirement, its diff
  ``<label>: <from> → <to>`` (the values themselves, never a community or key). A value already compliant (any
  approved NTP server, an audit log already on) stays, so a plan after an apply is empty.
- `apply`, one session: the same reads again, refused with nothing set unless they give exactly the approved
  changes (the host drifted since planning: its prior values are not what the reviewer approved); every prior
  value is saved (target.backup_file, 0600, and in memory); one SET per setting; then every changed value is read
  back and must be the value set. On any failure (a SET refused, a timeout, a value that does not read back) every
  setting attempted is SET back to its prior value, in reverse order, on a fresh session, every saved value is
  read again, and `rolled_back` is True only when each equals the saved one (two attempts); otherwise
  `rollback_problems` names what differs. Failures on the host never raise.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from hardening.core.errors import ChangeError, HardeningError
from hardening.core.platform import Change, Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.common.netcli import load_platform_data
from hardening.platforms.common.valuechange import ApplyFailure, ValueApply, ValueRun, reason
from hardening.platforms.mfp.data import standard_oid
from hardening.platforms.mfp.profiles import Profile, profiles, recognise
from hardening.platforms.mfp.snmp import SnmpSession, SnmpValue

REMEDIATION_FILE = Path(__file__).with_name("remediation.yaml")


class RemediationDataError(HardeningError):
    """remediation.yaml or a profile's writable entry is not usable (names the file and the place)."""


class SessionLike(Protocol):
    """What change control uses of snmp.SnmpSession."""

    def get(self, oids: Sequence[str]) -> Mapping[str, SnmpValue]: ...

    def set(self, values: Mapping[str, SnmpValue]) -> None: ...

    def close(self) -> None: ...


# --- data -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Writable:
    """remediation.yaml `writable.<name>`: what a vendor setting fixes and what it becomes."""

    name: str
    label: dict[str, str]
    requirements: tuple[str, ...]
    parameter: str | None       # a list parameter: its first entry is written, any entry complies
    enable: bool                # switched on


@dataclass(frozen=True)
class Remediation:
    writable: dict[str, Writable]
    manual_steps: dict[str, dict[str, str]]
    manual_product: dict[str, str]


@functools.cache
def load_remediation(path: Path = REMEDIATION_FILE) -> Remediation:
    """remediation.yaml, checked (RemediationDataError naming the file and the place)."""
    try:
        data = load_platform_data(path)
    except (OSError, ValueError) as exc:
        raise RemediationDataError(f"{path}: {exc}") from None
    writable: dict[str, Writable] = {}
    for name, entry in (data.get("writable") or {}).items():
        where = f"{path}: at /writable/{name}"
        if not isinstance(entry, dict):
            raise RemediationDataError(f"{where}: not a mapping")
        requirements = entry.get("requirements")
        label = entry.get("label")
        if not (isinstance(requirements, list) and requirements and all(isinstance(r, str) for r in requirements)):
            raise RemediationDataError(f"{where}/requirements: a non-empty list of requirement ids")
        if not (isinstance(label, dict) and isinstance(label.get("ja"), str) and isinstance(label.get("en"), str)):
            raise RemediationDataError(f"{where}/label: needs ja and en")
        parameter, enable = entry.get("parameter"), entry.get("enable") is True
        if (parameter is None) == (not enable):
            raise RemediationDataError(f"{where}: needs exactly one of `parameter` and `enable: true`")
        writable[str(name)] = Writable(str(name), {"ja": label["ja"], "en": label["en"]}, tuple(requirements),
                                       str(parameter) if parameter is not None else None, enable)
    steps: dict[str, dict[str, str]] = {}
    for rid, text in (data.get("manual_steps") or {}).items():
        if not (isinstance(text, dict) and isinstance(text.get("ja"), str) and isinstance(text.get("en"), str)):
            raise RemediationDataError(f"{path}: at /manual_steps/{rid}: needs ja and en")
        steps[str(rid)] = {"ja": text["ja"], "en": text["en"]}
    product = data.get("manual_product")
    if not (isinstance(product, dict) and isinstance(product.get("ja"), str) and isinstance(product.get("en"), str)):
        raise RemediationDataError(f"{path}: at /manual_product: needs ja and en")
    return Remediation(writable, steps, {"ja": product["ja"], "en": product["en"]})


def fixable_by(profile: Profile | None, remediation: Remediation | None = None) -> frozenset[str]:
    """The requirement ids a profile can fix by SNMP SET (its writable settings remediation.yaml maps)."""
    if profile is None:
        return frozenset()
    remediation = remediation or load_remediation()
    return frozenset(rid for name in profile.writable if name in remediation.writable
                     for rid in remediation.writable[name].requirements)


def all_fixes() -> frozenset[str]:
    """What any vendor profile can fix: the platform's `fixes` (the catalog's `fix: automated` must agree)."""
    found: frozenset[str] = frozenset()
    for profile in profiles().values():
        found |= fixable_by(profile)
    return found


# --- one setting on one device ------------------------------------------------------------------------------------

def plain(value: SnmpValue) -> str | int:
    """A value to compare: numbers as numbers, text as its text (a Hex-STRING decoded where it is text)."""
    if isinstance(value.value, int):
        return value.value
    text = getattr(value, "text", None)
    return str(text() if callable(text) else value.value)


@dataclass(frozen=True)
class Setting:
    """One writable vendor setting of one device: where it is, what it becomes, what already complies."""

    writable: Writable
    oid: str
    type: str
    source: str
    wanted: SnmpValue
    keep: frozenset[str | int]      # values that comply as they are
    on: frozenset[str | int] = frozenset()   # for an enable setting: the values meaning on

    @property
    def name(self) -> str:
        return self.writable.name

    @property
    def label(self) -> str:
        return f"{self.writable.label['ja']} ({self.writable.label['en']})"

    def complies(self, value: SnmpValue) -> bool:
        return plain(value) in self.keep

    def show(self, value: SnmpValue) -> str:
        shown = plain(value)
        text = json.dumps(shown, ensure_ascii=False) if isinstance(shown, str) else str(shown)
        if self.writable.enable:
            text += " (on)" if shown in self.on else " (off)"
        return text

    def change(self, requirement: str, current: SnmpValue) -> Change:
        diff = f"{self.label}: {self.show(current)} → {self.show(self.wanted)}\n"
        return Change(requirement, f"{requirement}: {self.label}", f"SNMP {self.oid} ({self.source})",
                      REDACTOR.scrub(diff))


def _on_values(profile: Profile, name: str, spec: Mapping[str, Any]) -> list[str | int]:
    """The values meaning "on": the writable's `on`, then the read setting's true_values / map."""
    found: list[str | int] = []
    if spec.get("on") is not None:
        found.append(spec["on"])
    read = profile.settings.get(name) or {}
    found += list(read.get("true_values") or [])
    found += [key for key, meaning in (read.get("map") or {}).items() if meaning is True]
    return [int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v for v in found]


def build_setting(profile: Profile, writable: Writable, parameters: Mapping[str, Any], host: str) -> Setting:
    """The setting of `writable` on a device of `profile` (ChangeError: a parameter or the profile unusable)."""
    spec = profile.writable[writable.name]
    where = f"profiles.yaml /profiles/{profile.key}/writable/{writable.name}"
    if not isinstance(spec, dict) or not spec.get("oid") or not spec.get("type") or not spec.get("source"):
        raise ChangeError(host, f"{where}: needs oid, type and source (the vendor MIB object)")
    oid = str(spec["oid"]) if str(spec["oid"]).startswith(".") else "." + str(spec["oid"])
    kind = str(spec["type"])
    if writable.enable:
        on = _on_values(profile, writable.name, spec)
        if not on:
            raise ChangeError(host, f"{where}: no value meaning on (`on`, or the setting's true_values/map)")
        return Setting(writable, oid, kind, str(spec["source"]), SnmpValue(kind, on[0]), frozenset(on),
                       frozenset(on))
    assert writable.parameter is not None  # noqa: S101 - load_remediation: parameter or enable
    values = parameters.get(writable.parameter)
    if not (isinstance(values, list) and values and all(isinstance(v, str) and v for v in values)):
        raise ChangeError(host, f"{writable.label['en']}: the site parameter {writable.parameter} is empty: "
                                "nothing approved to set")
    if kind == "IpAddress":
        try:
            ipaddress.IPv4Address(values[0])
        except ValueError:
            raise ChangeError(host, f"{writable.label['en']}: the vendor object {spec['source']} takes an IPv4 "
                                    f"address, the first {writable.parameter} entry {values[0]!r} is not "
                                    "one") from None
    elif kind != "STRING":
        raise ChangeError(host, f"{where}: a parameter setting must be STRING or IpAddress, not {kind}")
    return Setting(writable, oid, kind, str(spec["source"]), SnmpValue(kind, values[0]), frozenset(values))


@dataclass(frozen=True)
class State:
    """The settings of the requirements to fix on one device, with their current values."""

    profile: Profile
    settings: dict[str, Setting]              # name -> setting
    by_requirement: dict[str, list[str]]      # rid -> names, in remediation.yaml order
    current: dict[str, SnmpValue]

    def changing(self) -> list[str]:
        """The settings that will change, each once (one two requirements share is set once)."""
        names = dict.fromkeys(n for names in self.by_requirement.values() for n in names)
        return [n for n in names if not self.settings[n].complies(self.current[n])]


# --- the mixin ----------------------------------------------------------------------------------------------------

class MfpRemediator(ValueApply[State]):
    """Plan, apply and manual steps for printers (see the module docstring). Mix in before the platform's base."""

    fixes: ClassVar[frozenset[str]] = all_fixes()
    subject: ClassVar[str] = "device"

    def open_snmp_session(self, target: Target) -> SessionLike:
        """The device's SNMP session (snmp.SnmpSession; raises CollectionError subclasses)."""
        return cast(SessionLike, SnmpSession(target, timeout=min(5.0, target.timeout)))

    # -- per host, without contact -------------------------------------------------------------------------------

    def fixes_on(self, facts: Mapping[str, Any]) -> frozenset[str]:
        """What this printer's vendor profile can fix (core/platform.HostFixes), from the audit's /os/vendor."""
        return fixable_by(_profile_of(facts))

    def manual_steps(self, facts: Mapping[str, Any], requirement: str) -> dict[str, str] | None:
        """The vendor's step for `requirement`, else the vendor-neutral one naming the vendor's web admin, else
        None (core/platform.ManualGuide). {product} is filled in here, the requirement's parameters by the plan."""
        profile = _profile_of(facts)
        remediation = load_remediation()
        if profile is not None:
            product = {"ja": f"{profile.name_ja}の {profile.product}", "en": f"{profile.name_en} {profile.product}"}
            vendor = {"ja": profile.name_ja, "en": profile.name_en}
            text = profile.manual_steps.get(requirement) or remediation.manual_steps.get(requirement)
        else:
            product, vendor = remediation.manual_product, {"ja": "", "en": ""}
            text = remediation.manual_steps.get(requirement)
        if not (isinstance(text, dict) and isinstance(text.get("ja"), str) and isinstance(text.get("en"), str)):
            return None
        steps = {lang: _fill_product(text[lang], product[lang], vendor[lang]) for lang in ("ja", "en")}
        if profile is not None and not all(profile.product in steps[lang] for lang in steps):
            # a vendor's step written as a menu path alone: say whose web administration it is in
            steps = {lang: f"{product[lang]}: {steps[lang]}" for lang in steps}
        return steps

    # -- what to change ------------------------------------------------------------------------------------------

    def _state(self, session: SessionLike, target: Target, fix: Sequence[str],
               parameters: Mapping[str, Any]) -> State:
        """Identify the device, build its settings for `fix` and read their current values (ChangeError when the
        vendor is unknown, a requirement has no writable setting there, or a value cannot be read)."""
        host = target.host.name
        identity = session.get([standard_oid("sysObjectID"), standard_oid("sysDescr")])
        object_id = identity.get(standard_oid("sysObjectID"))
        descr = identity.get(standard_oid("sysDescr"))
        profile = recognise(str(object_id.value) if object_id else None, str(plain(descr)) if descr else None)
        if profile is None:
            raise ChangeError(host, "the device matches no vendor profile: no setting can be written")
        remediation = load_remediation()
        settings: dict[str, Setting] = {}
        by_requirement: dict[str, list[str]] = {}
        for rid in fix:
            names = [n for n, w in remediation.writable.items() if rid in w.requirements and n in profile.writable]
            if not names:
                raise ChangeError(host, f"{rid}: the {profile.name_en} profile has no writable setting for it")
            for name in names:
                settings.setdefault(name, build_setting(profile, remediation.writable[name], parameters, host))
                by_requirement.setdefault(rid, []).append(name)
        read = session.get([s.oid for s in settings.values()])
        missing = [s for s in settings.values() if s.oid not in read]
        if missing:
            raise ChangeError(host, f"cannot read the current value of {missing[0].label}: the device has no "
                                    f"object {missing[0].oid}")
        return State(profile, settings, by_requirement, {n: read[s.oid] for n, s in settings.items()})

    @staticmethod
    def changes(state: State) -> list[Change]:
        """One Change per requirement and setting whose current value does not comply: `label: from → to`."""
        return [state.settings[name].change(rid, state.current[name])
                for rid, names in state.by_requirement.items() for name in names
                if not state.settings[name].complies(state.current[name])]

    # -- plan ----------------------------------------------------------------------------------------------------

    def plan(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """The changes that would make `fix` pass, from the values read over one session; changes nothing.
        Raises CollectionError subclasses (the session) or ChangeError (profile, parameters, an unreadable value)."""
        if not fix:
            return []
        session = self.open_snmp_session(target)
        try:
            return self.changes(self._state(session, target, fix, parameters))
        finally:
            session.close()

    # -- apply (common/valuechange.ValueApply) ---------------------------------------------------------------------

    def _open(self, target: Target) -> SessionLike:
        return self.open_snmp_session(target)

    def _read_state(self, session: SessionLike, target: Target, fix: Sequence[str],
                    parameters: Mapping[str, Any]) -> State:
        return self._state(session, target, fix, parameters)

    def _prior(self, state: State) -> dict[str, Any]:
        return {name: state.current[name] for name in state.changing()}

    def _backup(self, state: State, saved: Mapping[str, Any]) -> Mapping[str, Any]:
        return {name: {"oid": state.settings[name].oid, "type": value.type, "value": value.value}
                for name, value in saved.items()}

    def _set(self, run: ValueRun, state: State) -> None:
        for name in state.changing():
            setting = state.settings[name]
            run.attempted.append(name)   # a timeout leaves unknown whether the agent applied it
            run.session.set({setting.oid: setting.wanted})

    def _verify(self, run: ValueRun, state: State) -> None:
        settings = [state.settings[name] for name in run.saved]
        now = run.session.get([s.oid for s in settings])
        for setting in settings:
            value = now.get(setting.oid)
            if value is None:
                raise ApplyFailure(f"verify: {setting.label} ({setting.oid}) could not be read back")
            if plain(value) != plain(setting.wanted):
                raise ApplyFailure(f"verify: {setting.label} reads {setting.show(value)} after the SET, not "
                                   f"{setting.show(setting.wanted)}")

    def _restore(self, run: ValueRun, state: State, settings: Sequence[str]) -> list[str]:
        problems = []
        for name in settings:
            setting = state.settings[name]
            try:
                run.session.set({setting.oid: run.saved[name]})
            except Exception as exc:  # only the proof decides
                problems.append(f"restore {setting.label}: {reason(exc)}")
        return problems

    def _read_back(self, run: ValueRun, state: State) -> dict[str, Any]:
        now = run.session.get([state.settings[name].oid for name in run.saved])
        return {name: now.get(state.settings[name].oid) for name in run.saved}

    def _differs(self, state: State, name: str, now: Any, saved: Any) -> str | None:
        if now is not None and plain(now) == plain(saved):
            return None
        setting = state.settings[name]
        shown = "unreadable" if now is None else setting.show(now)
        return f"{setting.label} is {shown}, saved {setting.show(saved)}"


def _profile_of(facts: Mapping[str, Any]) -> Profile | None:
    vendor = ((facts.get("facts") or {}).get("os") or {}).get("vendor")
    return profiles().get(vendor) if isinstance(vendor, str) else None


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"   # the plan fills the requirement's parameters


def _fill_product(text: str, product: str, vendor: str) -> str:
    try:
        return text.format_map(_Keep(product=product, vendor=vendor))
    except (ValueError, IndexError, AttributeError):
        return text
