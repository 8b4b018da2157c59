"""deploy/: the systemd service + timer of scheduled jobs and the cron example parse, and name a command that exists
(`hardening job run JOBFILE` as the CLI parses it)."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from hardening import cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICE = DEPLOY / "systemd" / "hardening-job@.service"
TIMER = DEPLOY / "systemd" / "hardening-job@.timer"


def _unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                          comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def _hardening_argv(command: str) -> list[str]:
    """The arguments given to `hardening` in a command line (after /usr/bin/env, if any)."""
    words = shlex.split(command)
    if words[0] == "/usr/bin/env":
        words = words[1:]
    assert Path(words[0]).name == "hardening", command
    return words[1:]


def test_the_service_runs_the_instance_job_file() -> None:
    unit = _unit(SERVICE)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["Type"] == "oneshot"
    argv = _hardening_argv(service["ExecStart"])
    assert argv == ["job", "run", "/etc/hardening/jobs/%i.yaml"]
    args = cli._parser().parse_args([a.replace("%i", "nightly") for a in argv])
    assert (args.command, args.job_command, args.jobfile) == ("job", "run", Path("/etc/hardening/jobs/nightly.yaml"))
    assert cli.cmd_job is not None
    assert service["SuccessExitStatus"] == "2"  # drift is a result, not a failed unit
    assert unit["Unit"]["ConditionPathExists"] == "/etc/hardening/jobs/%i.yaml"
    for directive in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert directive in service, directive
    assert service["ReadWritePaths"] == "/var/lib/hardening"


def test_the_timer_starts_the_service_of_the_same_instance() -> None:
    unit = _unit(TIMER)
    assert unit["Timer"]["Unit"] == "hardening-job@%i.service"
    assert unit["Timer"]["OnCalendar"]
    assert unit["Timer"]["Persistent"] == "true"
    assert unit["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed: structure "
                    "checked by the tests above")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    for source in (SERVICE, TIMER):
        (tmp_path / source.name.replace("@.", "@nightly.")).write_bytes(source.read_bytes())
        (tmp_path / source.name).write_bytes(source.read_bytes())
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "hardening-job@nightly.service"),
                           str(tmp_path / "hardening-job@nightly.timer")],
                          capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Unknown key" not in done.stderr, done.stderr
    assert "Unknown section" not in done.stderr, done.stderr


def test_the_cron_example_lines_run_jobs() -> None:
    jobs = []
    for line in (DEPLOY / "cron.example").read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" in text.split()[0]:
            continue
        fields = text.split(None, 6)
        assert len(fields) == 7, line  # m h dom mon dow user command (/etc/cron.d format)
        assert fields[5] == "hardening"
        argv = _hardening_argv(fields[6])
        args = cli._parser().parse_args(argv)
        assert (args.command, args.job_command) == ("job", "run")
        jobs.append(args.jobfile)
    assert jobs, "no job line"
    assert all(str(path).startswith("/etc/hardening/jobs/") for path in jobs)
