"""Mail on new drift (issue 11 item 4): a local SMTP sink (aiosmtpd on 127.0.0.1) with STARTTLS and AUTH; one mail
per responsible manager with only their hosts' new drift, Japanese first; no new drift, no mail; the password
nowhere; a relay without STARTTLS or with an untrusted certificate is refused before anything is sent."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.jobkit import FIXTURE_OF, SmtpSink, save_facts, write_job

from hardening.core.secrets import SecretStore
from hardening.jobs.jobfile import load_job
from hardening.jobs.runner import run_job

ADDRESSES = {"情報政策課長": "jouhou@city.example", "広報広聴課長": "kouhou@city.example",
             "市民課長": "shimin@city.example"}
MANAGER_HOSTS = {"情報政策課長": {"ntp01", "log01"}, "広報広聴課長": {"web01"}, "市民課長": {"pc-shimin01"}}


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink(tmp_path / "tls").start() if (tmp_path / "tls").mkdir() is None else None
    assert server is not None
    yield server
    server.stop()


def _job(tmp_path: Path, sink: SmtpSink, facts: Path, **notify: Any) -> Path:
    settings = {"smtp": {"host": "localhost", "port": sink.port, "ca_file": str(sink.ca), "credentials": "smtp",
                         "timeout": 20},
                "from": "hardening@city.example", "to": dict(ADDRESSES), **notify}
    return write_job(tmp_path / "job.yaml", scope={"hosts": sorted(FIXTURE_OF)}, notify=settings,
                     **{"from": str(facts)})


def _secrets(sink: SmtpSink) -> SecretStore:
    return SecretStore(environ={"HARDENING_CRED_SMTP_USERNAME": sink.user,
                                "HARDENING_CRED_SMTP_PASSWORD": sink.password})


def _mails(sink: SmtpSink) -> dict[str, tuple[list[str], email.message.EmailMessage]]:
    found = {}
    for item in sink.messages:
        message = email.message_from_bytes(item["data"], policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found[str(message["To"])] = (item["to"], message)
    return found


def _body(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _no_password_anywhere(directory: Path, password: str) -> None:
    for path in directory.rglob("*"):
        if path.is_file() and not path.name.endswith(".lock"):
            assert password.encode() not in path.read_bytes(), path


def test_one_mail_per_manager_with_their_new_drift_only(
        tmp_path: Path, sink: SmtpSink, capsys: pytest.CaptureFixture[str]) -> None:
    facts = save_facts(tmp_path / "facts", {**FIXTURE_OF, "ntp01": "rsyslog"})
    job = load_job(_job(tmp_path, sink, facts))
    first = run_job(job, say=print, secrets=_secrets(sink))
    assert first.run is not None
    report = first.run.report
    mails = _mails(sink)
    assert sorted(mails) == sorted(ADDRESSES.values())  # the first run of a scope: every fail is new
    assert sink.logins == [sink.user]  # one session, AUTH after STARTTLS
    fails = {(f["host"], f["requirement"]) for f in report["findings"] if f["status"] == "fail"}
    for manager, address in ADDRESSES.items():
        envelope, message = mails[address]
        assert envelope == [address]
        assert str(message["From"]) == "hardening@city.example"
        assert str(message["Subject"]).startswith("【坂戸市（デモ環境）】新たな不適合 ")
        assert manager in str(message["Subject"])
        body = _body(message)
        assert body.startswith(f"{manager} 様\n")
        assert body.index("前回の点検にはなかった不適合") < body.index("new drift(s) since the previous run")
        mine = {(h, r) for h, r in fails if h in MANAGER_HOSTS[manager]}
        assert f"不適合が {len(mine)} 件" in body
        for host, requirement in fails:
            line = f"ホスト {host}  要件 {requirement}  "
            assert (line in body) == (host in MANAGER_HOSTS[manager]), (manager, host, requirement)
        others = {h for hosts in MANAGER_HOSTS.values() for h in hosts} - MANAGER_HOSTS[manager]
        assert not any(f"ホスト {h} " in body for h in others)
        assert "期待値: " in body
        assert "実際の値: " in body
        attachments = list(message.iter_attachments())
        assert [a.get_filename() for a in attachments] == ["report.html"]
        html = attachments[0].get_content()
        for host in MANAGER_HOSTS[manager]:
            assert f">{host}<" in html
        for host in others:
            assert f">{host}<" not in html  # the manager's own report: their hosts only
        assert sink.password not in message.as_string()
    notify = json.loads((first.run.out / "notify.json").read_text(encoding="utf-8"))
    assert notify["previous_run"] is None
    assert all(m["sent"] for m in notify["mails"])
    assert first.exit_code == 1  # saved file trees leave live facts as errors: exit as `audit` would
    assert first.problems == []

    # Second run: ntp01's logs lose their full timestamps (LOG-TIMESTAMPS fails anew); its other fails persist.
    save_facts(facts, {"ntp01": "chrony"})
    sink.messages.clear()
    second = run_job(job, say=print, secrets=_secrets(sink))
    assert second.run is not None
    mails = _mails(sink)
    assert list(mails) == [ADDRESSES["情報政策課長"]]
    body = _body(mails[ADDRESSES["情報政策課長"]][1])
    assert "不適合が 1 件" in body
    assert "1. ホスト ntp01  要件 LOG-TIMESTAMPS  条項 第2章 7(1)イ" in body
    assert "2. " not in body
    assert "log01" not in body.split("貴職のホストの報告書")[0]  # persisting drift is not news
    notify = json.loads((second.run.out / "notify.json").read_text(encoding="utf-8"))
    assert notify["previous_run"] == first.run.report["run"]["id"]
    assert notify["new_drift"] == 1

    # Third run, nothing changed: no new drift, no mail.
    sink.messages.clear()
    third = run_job(job, say=print, secrets=_secrets(sink))
    assert sink.messages == []
    assert third.mails == []
    assert third.problems == []
    _no_password_anywhere(tmp_path / "runs", sink.password)
    _no_password_anywhere(tmp_path, sink.password)
    assert sink.password not in capsys.readouterr().out


def test_a_manager_without_an_address_is_reported(tmp_path: Path, sink: SmtpSink) -> None:
    facts = save_facts(tmp_path / "facts")
    to = {k: v for k, v in ADDRESSES.items() if k != "市民課長"}
    outcome = run_job(load_job(_job(tmp_path, sink, facts, to=to)), say=print, secrets=_secrets(sink))
    assert sorted(_mails(sink)) == sorted(to.values())  # the others are still told
    assert outcome.exit_code == 1
    assert any(p.startswith("通知先がありません (no address for manager 市民課長): ") and "pc-shimin01" in p
               for p in outcome.problems)
    assert outcome.run is not None
    notify = json.loads((outcome.run.out / "notify.json").read_text(encoding="utf-8"))
    unsent = [m for m in notify["mails"] if not m["sent"]]
    assert [m["manager"] for m in unsent] == ["市民課長"]
    assert unsent[0]["error"].startswith("no address")


def test_a_relay_without_starttls_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    clear = SmtpSink(tmp_path / "tls", starttls=False).start()
    try:
        facts = save_facts(tmp_path / "facts")
        outcome = run_job(load_job(_job(tmp_path, clear, facts)), say=print, secrets=_secrets(clear))
    finally:
        clear.stop()
    assert clear.messages == []
    assert clear.logins == []  # the password never went out in clear
    assert outcome.exit_code == 1
    assert any(f"relay localhost:{clear.port} offers no STARTTLS: refused to send mail in clear" in p
               for p in outcome.problems)


def test_a_relay_whose_certificate_does_not_verify_is_refused(
        tmp_path: Path, sink: SmtpSink) -> None:
    facts = save_facts(tmp_path / "facts")
    path = _job(tmp_path, sink, facts)
    other = tmp_path / "other"
    other.mkdir()
    from tests.jobkit import make_certificate

    ca, _, _ = make_certificate(other)  # a CA that did not sign the relay's certificate
    text = path.read_text(encoding="utf-8").replace(str(sink.ca), str(ca))
    path.write_text(text, encoding="utf-8")
    outcome = run_job(load_job(path), say=print, secrets=_secrets(sink))
    assert sink.messages == []
    assert sink.logins == []
    assert any("certificate not trusted" in p for p in outcome.problems), outcome.problems


def test_a_wrong_password_is_refused_without_showing_it(
        tmp_path: Path, sink: SmtpSink) -> None:
    facts = save_facts(tmp_path / "facts")
    wrong = "Wr0ng-" + sink.password
    secrets = SecretStore(environ={"HARDENING_CRED_SMTP_USERNAME": sink.user, "HARDENING_CRED_SMTP_PASSWORD": wrong})
    outcome = run_job(load_job(_job(tmp_path, sink, facts)), say=print, secrets=secrets)
    assert sink.messages == []
    assert outcome.exit_code == 1
    assert any("SMTPAuthenticationError 535" in p for p in outcome.problems), outcome.problems
    assert wrong not in json.dumps(outcome.problems)
    _no_password_anywhere(tmp_path / "runs", wrong)
