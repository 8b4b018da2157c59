"""Cisco IOS and IOS-XE routers and switches (platform `cisco_ios`): fetch over netmiko, parse offline.

A `CapturePlatform`: `fetch` opens ONE netmiko SSH session (device_type from the inventory's
`connection_options.netmiko.extras.device_type`, default `cisco_ios`), enters privileged mode with the
credentials' `enable_secret`, runs every command of the command table (platform.yaml `commands`) and saves
each output; `parse` turns such a capture into the shared facts by pure functions (parse.py), on the auditor's
side. `hardening audit --from DIR` and the conformance cases read the same layout.

Capture layout (DIR/<host>/, one file per command, named by `data.capture_file`: spaces and any character
other than letters, digits, `.` and `-` become `_`, plus `.txt`)::

    show_running-config.txt                 required: the configuration (a backup or a handover text will do)
    show_version.txt                        live: software release
    show_privilege.txt                      live: the privilege level the session reached (must be 15)
    show_ntp_status.txt                     live: synchronised, stratum, reference, offset
    show_ntp_associations.txt               live: the associations (evidence)
    show_logging.txt                        live: syslog on/off, effective buffer size and level
    show_ip_interface_brief.txt             live: link state (routers and switches)
    show_interfaces_status.txt              live: link state of switch ports
    show_control-plane_host_open-ports.txt  live: listening ports

A capture with only the configuration (a backup) gives every configured fact; the live ones are named under
`errors` (never a value), and what the configuration alone cannot decide (unused switch ports without link
state, a vty line's transport default on releases whose default is not documented, the lockout of logins an
AAA server group checks) is `manual`.
Platform knowledge (defaults, the command table, generic admin names, management servers) is data: platform.yaml.

Modules: config.py (blocks, banners with any delimiter, interface ranges), lines.py (console/aux/tty/vty lines
per line number: overlapping ranges, `transport input` defaults, how a login is checked: `login local`, `login` +
line password, AAA method lists), acl.py (numbered, named and IPv6 access lists and the sources they admit,
resolved fail-closed), access.py (/management/access: every way in with its sources; /network/any_any_permits:
interface access groups, IPv6 traffic filters, zone-based firewall policies), parse.py (every other section and
the whole capture).

Why netmiko and not napalm for the audit: napalm's `ios` getters (get_config, get_ntp_stats, get_interfaces …)
open the same netmiko session but return their own parsed structures, not the devices' text. The audit must
give the same facts live and from a saved backup, so it keeps the raw outputs (the capture) and parses them
with one set of functions; napalm's structures would need a second parser for backups. napalm's safe config
mechanism (configure replace, archive) remains the candidate for plan/apply.
"""
