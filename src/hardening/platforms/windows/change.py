"""Plan and apply for Windows over one WinRM session: the `WindowsRemediator` mixin.

The platform class adds it to its bases (``class WindowsPlatform(WindowsRemediator, …)``) and gets `fixes` (the
requirement ids remediation.yaml has settings for), `plan` and `apply`. BitLocker (DISK-ENC) and the BIOS password
(BOOT-PW) are ordinary settings here: the catalog's `fix: opt_in` for windows makes `hardening plan` include them
only when the operator names the exact id (`--requirement DISK-ENC`), recorded in the plan's selection, so the
approval covers them.

Plan reads the current value of every setting of the failing requirements (settings.py) in ONE batch over one
WinRM session (the platform.yaml command table's reads: secpol, reg_*, w32tm_config, eventlog_*, services, smb,
defender, bitlocker, computer, bios_*) and emits one `Change` per requirement and setting whose value does not
comply, its diff `<setting>: <from> → <to>` (e.g. ``[System Access] MinimumPasswordLength: 6 → 8``). A stricter
value already there stays, so a second plan after an apply is empty.

Apply, in one session: the same reads again; refused (nothing applied) unless they give exactly the approved
changes (the host drifted since planning otherwise); every value it will change is saved (to
`target.backup_file`, 0600, and in memory); the setter blocks run in a fixed order, in batches (one PowerShell
process each): every ordinary setting (registry, one secedit INF, services, SMB1, W32Time, event logs, Defender),
then the BIOS password, then BitLocker, the next batch only when the previous one fully succeeded; then every value
is read again and must be what was set. On any failure (a setter's rc != 0, an error block, a value not set, a
lost session) every value changed or attempted is restored with the documented setters (a fresh session when the
old one is lost), everything saved is read again, and `rolled_back` is True only when each value equals the
saved one; otherwise `rollback_problems` says which differ. Host failures never raise.

The BIOS password comes from the host's vault entry (field bios_password) when the command is made, and is never
in a plan, an ApplyResult, a log line or an exception: the plan shows `(set from vault entry <name>)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from hardening.core.errors import ChangeError, SecretError
from hardening.core.platform import Change, Target
from hardening.core.secrets import REDACTOR
from hardening.platforms.common.valuechange import ApplyFailure, ValueApply, ValueRun
from hardening.platforms.windows.session import WinRMSession
from hardening.platforms.windows.settings import (
    OPT_IN_KINDS,
    ORDER,
    REMEDIATION_FILE,
    BiosPasswordSetting,
    ReadError,
    SeceditSetting,
    Setting,
    build,
    load_remediation,
    secedit_command,
)

LOG = logging.getLogger(__name__)
BIOS_PASSWORD_MIN_LENGTH = 8


class CommandOutputLike(Protocol):
    """session.CommandOutput: the text of one block, its rc, and the error (HARDENING-ERROR, cut output)."""

    text: str
    rc: int
    error: str | None


class SessionLike(Protocol):
    """What change control uses of session.WinRMSession (one shell for its lifetime)."""

    def run_batch(self, commands: Sequence[tuple[str, str]]) -> Mapping[str, CommandOutputLike]: ...

    def run(self, command: str) -> CommandOutputLike: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Planned:
    """The settings of the requirements to fix, with their current values."""

    settings: dict[str, Setting]                 # ident -> setting
    by_requirement: dict[str, list[str]]         # rid -> idents, in remediation.yaml order
    current: dict[str, Any]                      # ident -> value read


class WindowsRemediator(ValueApply[Planned]):
    """Plan and apply for Windows (see the module docstring). Mix in before the platform's base class."""

    remediation_file: ClassVar[Path] = REMEDIATION_FILE
    fixes: ClassVar[frozenset[str]] = frozenset(load_remediation().requirements)

    # -- the session ---------------------------------------------------------------------------------------

    def open_winrm_session(self, target: Target) -> SessionLike:
        """A WinRM session to the host (session.WinRMSession; raises CollectionError subclasses)."""
        return cast(SessionLike, WinRMSession(target, timeout_s=target.timeout))

    # -- what to change ------------------------------------------------------------------------------------

    def _settings(self, target: Target, fix: Sequence[str],
                  parameters: Mapping[str, Any]) -> tuple[dict[str, Setting], dict[str, list[str]]]:
        remediation = load_remediation(self.remediation_file)
        host = target.host.name
        settings: dict[str, Setting] = {}
        by_requirement: dict[str, list[str]] = {}
        for rid in fix:
            if rid not in remediation.requirements:
                raise ChangeError(host, f"{rid}: no settings in {remediation.source.name}")
            for setting in build(remediation, rid, parameters, host=host, credentials=target.credentials):
                if isinstance(setting, BiosPasswordSetting):
                    _check_bios_password(target)
                settings.setdefault(setting.ident, setting)
                by_requirement.setdefault(rid, []).append(setting.ident)
        return settings, by_requirement

    def _read(self, session: SessionLike, settings: Mapping[str, Setting]) -> dict[str, Any]:
        """Every setting's current value from one batch of the command table's reads (ReadError when one
        cannot be read: never a guess)."""
        commands = load_remediation(self.remediation_file).commands
        ids = sorted({command_id for s in settings.values() for command_id in s.reads})
        missing = [i for i in ids if i not in commands]
        if missing:
            raise ReadError(f"no command {', '.join(missing)} in platform.yaml")
        outputs = session.run_batch([(i, commands[i]) for i in ids])
        return {ident: setting.read(outputs) for ident, setting in settings.items()}

    def _planned(self, session: SessionLike,
                 wanted: tuple[dict[str, Setting], dict[str, list[str]]]) -> Planned:
        settings, by_requirement = wanted
        return Planned(settings, by_requirement, self._read(session, settings))

    @staticmethod
    def changes(planned: Planned) -> list[Change]:
        """One Change per requirement and setting whose current value does not comply: `label: from → to`."""
        found = []
        for rid, idents in planned.by_requirement.items():
            for ident in idents:
                setting, value = planned.settings[ident], planned.current[ident]
                if setting.complies(value):
                    continue
                wanted = (setting.shown_wanted() if isinstance(setting, BiosPasswordSetting)
                          else setting.show(setting.wanted(value)))
                diff = f"{setting.label}: {setting.show(value)} → {wanted}\n"
                found.append(Change(rid, f"{rid}: {setting.label}", setting.target, REDACTOR.scrub(diff)))
        return found

    # -- plan ----------------------------------------------------------------------------------------------

    def plan(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """The changes that would make `fix` pass, from the values read over one session; changes nothing.
        Raises CollectionError subclasses (the session) or ChangeError (data, parameters, an unreadable value)."""
        if not fix:
            return []
        wanted = self._settings(target, fix, parameters)  # data and parameters first: no session for a bad plan
        session = self.open_winrm_session(target)
        try:
            planned = self._planned(session, wanted)
        except ReadError as exc:
            raise ChangeError(target.host.name, f"cannot read the current values: {exc}") from None
        finally:
            session.close()
        return self.changes(planned)

    # -- apply (common/valuechange.ValueApply) -----------------------------------------------------------------

    def _open(self, target: Target) -> SessionLike:
        return self.open_winrm_session(target)

    def _new_run(self, target: Target, session: Any) -> _Run:
        return _Run(target, session, self._open)

    def _read_state(self, session: SessionLike, target: Target, fix: Sequence[str],
                    parameters: Mapping[str, Any]) -> Planned:
        return self._planned(session, self._settings(target, fix, parameters))

    def _prior(self, state: Planned) -> dict[str, Any]:
        return {ident: state.current[ident] for ident in _changing(state)}

    def _set(self, run: ValueRun, state: Planned) -> None:
        for batch in _batches(state):
            cast(_Run, run).execute(batch, "set")

    def _verify(self, run: ValueRun, state: Planned) -> None:
        settings = {ident: state.settings[ident] for ident in run.saved}
        now = self._read(run.session, settings)
        for ident, setting in settings.items():
            target_value = setting.wanted(state.current[ident])
            if not setting.settled(now[ident], target_value):
                raise ApplyFailure(f"verify: {setting.label} is {setting.show(now[ident])} after the change, "
                                   f"not {_shown_target(setting, target_value)}")

    def _restore(self, run: ValueRun, state: Planned, settings: Sequence[str]) -> list[str]:
        restores = [([state.settings[i]], command) for i in settings
                    for command in state.settings[i].restorer(run.saved[i])]
        try:
            cast(_Run, run).execute(restores, "restore")
        except ApplyFailure as exc:
            # only the proof decides: deleting a registry value the failed setter never created fails, and the
            # value is as saved all the same
            return [f"restore: {exc}"]
        return []

    def _read_back(self, run: ValueRun, state: Planned) -> dict[str, Any]:
        return self._read(run.session, {ident: state.settings[ident] for ident in run.saved})

    def _differs(self, state: Planned, ident: str, now: Any, saved: Any) -> str | None:
        if now == saved:
            return None
        setting = state.settings[ident]
        return f"{setting.label} is {setting.show(now)}, saved {setting.show(saved)}"


def _changing(state: Planned) -> list[str]:
    """The idents of the settings that will change, each once (a setting two requirements share runs once)."""
    return [ident for ident in dict.fromkeys(i for idents in state.by_requirement.values() for i in idents)
            if not state.settings[ident].complies(state.current[ident])]


Step = tuple[list[Setting], str]   # (the settings a setter block changes, its command)


def _batches(state: Planned) -> list[list[Step]]:
    """The setter blocks, in batches run one after the other (the next only when every block of the previous one
    succeeded): every ordinary setting in one batch (registry first, then one secedit INF for every secedit key,
    services, SMB1, W32Time, event logs, Defender), then the BIOS password, then BitLocker, so a failure of an
    ordinary setting never leaves a firmware password or an encrypting volume behind."""
    changing = sorted((state.settings[i] for i in _changing(state)), key=lambda s: ORDER[s.kind])
    secedit = [s for s in changing if isinstance(s, SeceditSetting)]
    batches: dict[str, list[Step]] = {}
    for setting in changing:
        batch = batches.setdefault(setting.kind if setting.kind in OPT_IN_KINDS else "ordinary", [])
        if isinstance(setting, SeceditSetting):
            if setting is secedit[0]:
                batch.append((list(secedit), secedit_command({s.key: s.value for s in secedit})))
            continue
        batch += [([setting], command) for command in setting.setter(state.current[setting.ident])]
    return list(batches.values())


def _shown_target(setting: Setting, value: Any) -> str:
    return setting.shown_wanted() if isinstance(setting, BiosPasswordSetting) else setting.show(value)


def _check_bios_password(target: Target) -> None:
    credentials = target.credentials
    try:
        credentials.require("bios_password", purpose="setting the BIOS/UEFI admin password")
    except SecretError as exc:
        raise ChangeError(target.host.name, str(exc)) from None
    secret = credentials.bios_password
    if secret is None or len(secret.reveal()) < BIOS_PASSWORD_MIN_LENGTH or "," in secret.reveal() or \
            not secret.reveal().isascii():
        raise ChangeError(target.host.name, f"the bios_password of vault entry {credentials.name} is not usable: "
                                            f"it needs at least {BIOS_PASSWORD_MIN_LENGTH} ASCII characters and "
                                            "no comma (the vendors' WMI interfaces)")


class _Run(ValueRun):
    """One apply's session with the Windows setter batches."""

    def execute(self, steps: Sequence[Step], what: str) -> None:
        """Setter blocks in one batch (one PowerShell process; ids `<what>_<n>`), every setting counted as
        attempted first (a lost session leaves unknown which ran). ApplyFailure naming the first block with an
        error or rc != 0 (never its command; a BIOS block's error text not at all)."""
        if not steps:
            return
        for settings, _ in steps:
            self.attempted.extend(s.ident for s in settings)
        ids = [f"{what}_{n}" for n in range(1, len(steps) + 1)]
        outputs = self.session.run_batch([(i, command) for i, (_, command) in zip(ids, steps, strict=True)])
        failures = []
        for block_id, (settings, _) in zip(ids, steps, strict=True):
            output = outputs.get(block_id)
            labels = ", ".join(s.label for s in settings)
            if output is None:
                failures.append(f"{labels}: no answer")
            elif output.error and any(isinstance(s, BiosPasswordSetting) for s in settings):
                # PowerShell's error record may quote the command line, and so the password: not even scrubbed
                failures.append(f"{labels}: failed (the host's error text is not shown: it may quote the password)")
            elif output.error:
                failures.append(f"{labels}: {REDACTOR.scrub(str(output.error))[:200]}")
            elif output.rc != 0 and any(isinstance(s, BiosPasswordSetting) for s in settings):
                failures.append(f"{labels}: exit code {output.rc}")
            elif output.rc != 0:   # a native setter's own words (`reg.exe : ERROR: Access is denied.`)
                said = next((" ".join(line.split()) for line in output.text.splitlines() if line.strip()), "")
                failures.append(f"{labels}: exit code {output.rc}" + (f": {REDACTOR.scrub(said)[:200]}" if said
                                                                       else ""))
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise ApplyFailure(f"{what} {failures[0]}{more}")
