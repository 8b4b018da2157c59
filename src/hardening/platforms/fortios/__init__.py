"""FortiGate firewalls (platform `fortios`, FortiOS 6.4 / 7.0 / 7.2 / 7.4): fetch over netmiko, parse offline.

A `NetmikoCapturePlatform`: `fetch` opens ONE netmiko SSH session (device_type from the inventory's
`connection_options.netmiko.extras.device_type`, default `fortinet`; the driver finds the VDOM mode and sets
`output standard` itself), runs every command of the command table (platform.yaml `commands`) and saves each
output; `parse` turns such a capture into the shared facts by pure functions (parse.py over the block tree of
config.py), on the auditor's side. `hardening audit --from DIR` and the conformance cases read the same layout.

Capture layout (DIR/<host>/, one file per command, named by `data.capture_file`)::

    show_full-configuration.txt               the configuration (required; or `show.txt`, a plain `show`,
                                              or a GUI backup `*.conf` with its `#config-version=` header)
    get_system_status.txt                     live: release, hostname
    diagnose_sys_ntp_status.txt               live: synchronised, selected server, stratum, offset
    diagnose_sys_process_pidof_miglogd.txt    live: the log daemon runs
    get_system_interface_physical.txt         live: link state of the physical ports

Options a plain `show` leaves out have their documented defaults (platform.yaml `defaults`). A capture with
only the configuration gives every configured fact; the live ones are named under `errors`, never a value.

Why netmiko and not the REST API (fortiosapi) or napalm-fortios: the audit reads the same text live and from a
saved backup with one parser; the REST API needs an API token and HTTPS admin access, which the policy may
close, and gives JSON no backup has.
"""
