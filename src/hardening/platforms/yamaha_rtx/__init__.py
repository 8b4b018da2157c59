"""YAMAHA RTX routers (platform `yamaha_rtx`: RTX830, RTX1210, RTX1300, RTX5000 …): fetch over netmiko, parse offline.

A `NetmikoCapturePlatform`: `fetch` opens ONE netmiko SSH session (device_type `yamaha` unless the inventory's
`connection_options.netmiko.extras.device_type` says otherwise; netmiko turns paging off with `console lines
infinity`), enters administrator mode (`administrator`, then the credentials' `enable_secret` at `Password:`),
runs every command of the command table (platform.yaml `commands`) and saves each output; `parse` turns such a
capture into the shared facts by pure functions (parse.py over the flat configuration reader config.py), on the
auditor's side. `hardening audit --from DIR` and the conformance cases read the same layout.

Capture layout (DIR/<host>/, one file per command, named by `netcli.capture_file`)::

    show_config.txt        required: the configuration (`show config`, a saved config file or a handover text)
    show_environment.txt   live: model, firmware revision, security class
    show_log.txt           live: the internal log (the logging function runs; its timestamp format)
    prompt.txt             live: the prompt the session reached (`RTX830#` = administrator)

A capture with only the configuration (a backup) gives every configured fact; the live ones are named under
`errors`. RTX has no NTP client state to show (the clock is set by `ntpdate`, usually `schedule at … ntpdate`),
no listing of listening sockets and no port shutdown setting: those facts are errors or manual items on every
capture, with the reason. Platform knowledge (defaults, default-on services, the command table, generic admin
names, error markers, volatile header lines) is data: platform.yaml.
"""
