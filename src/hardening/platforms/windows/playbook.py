"""The Windows settings for playbooks/windows.yml: the same data (remediation.yaml) and the same code (settings.py)
as `hardening plan`/`apply`, exposed as two Ansible filters (playbooks/filter_plugins/hardening_windows.py).

- `reads(fix, params)`: the command-table reads (platform.yaml `commands`) the settings of `fix` need, as
  [{id, command}], for one `ansible.windows.win_powershell` task that runs them and returns their outputs;
- `changes(fix, params, outputs)`: from those outputs, one item per setting that does not comply, with what the
  playbook's module for its kind needs (win_regedit path/name/type/data, win_service name, the documented setter
  command for the others) and `from`/`to` as the plan shows them.

So a site that runs Ansible gets the same values, the same "a stricter value stays" and the same setter forms.
The BIOS password is never here: the item carries the vendor's script with `$old`/`$new` parameters, and the
playbook passes the password as a SecureString (win_powershell sensitive_parameters, no_log).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hardening.platforms.windows.pwsh import ERROR_PREFIX, CommandOutput
from hardening.platforms.windows.settings import (
    BiosPasswordSetting,
    RegistrySetting,
    ServiceSetting,
    Setting,
    build,
    load_remediation,
)


def _settings(fix: Sequence[str], params: Mapping[str, Any]) -> list[tuple[str, Setting]]:
    remediation = load_remediation()
    found: list[tuple[str, Setting]] = []
    for rid in fix:
        if rid in remediation.requirements:
            found += [(rid, s) for s in build(remediation, rid, params, host="ansible")]
    return found


def reads(fix: Sequence[str], params: Mapping[str, Any]) -> list[dict[str, str]]:
    """[{id, command}] of the command table that the settings of `fix` are read from."""
    commands = load_remediation().commands
    ids = sorted({i for _, s in _settings(fix, params) for i in s.reads})
    return [{"id": i, "command": commands[i]} for i in ids]


def _outputs(raw: Mapping[str, Any]) -> dict[str, CommandOutput]:
    """The read task's {id: {text, rc}} as the session's blocks (a HARDENING-ERROR text is the block's error)."""
    out = {}
    for command_id, item in raw.items():
        text = str(item.get("text") or "").replace("\r\n", "\n")
        error = text.strip() if text.lstrip().startswith(ERROR_PREFIX.strip()) else None
        out[command_id] = CommandOutput(text, int(item.get("rc") or 0), error)
    return out


def changes(fix: Sequence[str], params: Mapping[str, Any], raw_outputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One item per setting of `fix` that does not comply (a setting two requirements share: once, naming both)."""
    outputs = _outputs(raw_outputs)
    items: dict[str, dict[str, Any]] = {}
    for rid, setting in _settings(fix, params):
        if setting.ident in items:
            items[setting.ident]["requirements"].append(rid)
            continue
        current = setting.read(outputs)
        if setting.complies(current):
            continue
        wanted = setting.wanted(current)
        item: dict[str, Any] = {
            "requirements": [rid], "kind": setting.kind, "label": setting.label, "from": setting.show(current),
            "to": "(set from hardening_bios_password)" if isinstance(setting, BiosPasswordSetting)
            else setting.show(wanted)}
        if isinstance(setting, RegistrySetting):
            item.update(path=setting.key.replace("HKLM\\", "HKLM:\\", 1), name=setting.name,
                        type="dword" if setting.type == "REG_DWORD" else "string", data=wanted)
        elif isinstance(setting, ServiceSetting):
            item.update(name=setting.name)
        elif isinstance(setting, BiosPasswordSetting):
            vendor = next(v for v in setting.vendors if v.name == current["vendor"])
            item.update(script="param($old, $new)\n$old = [System.Net.NetworkCredential]::new('', $old).Password\n"
                               "$new = [System.Net.NetworkCredential]::new('', $new).Password\n"
                        + vendor.set.replace("{old}", "$old").replace("{new}", "$new"))
        else:  # secedit (one INF per key here), w32tm, eventlog, smb1, defender, bitlocker
            item.update(command=setting.setter(current)[0])
        items[setting.ident] = item
    return list(items.values())
