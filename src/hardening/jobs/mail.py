"""Mail to the responsible managers (第3章 2) about NEW drift, through an SMTP relay that must speak STARTTLS.

One message per manager, listing only that manager's hosts' new drift, Japanese first, with the manager's own
report attached. The relay's certificate is verified (system CAs, or the job's ca_file); a relay that offers no
STARTTLS is refused before anything is sent, so nothing ever travels in clear. The AUTH password comes from the
vault (SecretStore) and is never logged, raised or written: errors are scrubbed by REDACTOR.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from hardening.core.errors import HardeningError, SecretError
from hardening.core.secrets import REDACTOR, SecretStore
from hardening.jobs.jobfile import Relay
from hardening.report.views import ReportView, clause_key

_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_VALUE_CHARS = 300


class MailError(HardeningError):
    """The relay could not be used (no STARTTLS, a certificate that does not verify, refused login, …):
    names the relay, never the password."""


@dataclass
class ManagerMail:
    """What one manager is told: their hosts' new drift, and where their report is."""

    manager: str
    addresses: tuple[str, ...]
    drift: list[dict[str, Any]]          # the report's findings that are new drift, on this manager's hosts
    report_dir: Path | None = None
    attachment: Path | None = None
    sent: bool = False
    error: str | None = None
    hosts: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The notify.json entry (no secret: addresses, counts, hosts, the outcome)."""
        return {"manager": self.manager, "to": list(self.addresses), "hosts": self.hosts,
                "new_drift": [{"host": f["host"], "requirement": f["requirement"]} for f in self.drift],
                "report": str(self.report_dir) if self.report_dir else None, "sent": self.sent,
                "error": self.error}


def one_line(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Device data in a mail line: controls and bidi overrides shown as spaces, bounded length."""
    flat = _CONTROLS.sub(" ", text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _actual(finding: dict[str, Any]) -> str:
    violations = finding.get("violations") or []
    values = ({v["pointer"] or "/": v["actual"] for v in violations} if violations else finding.get("actual") or {})
    return one_line(json.dumps(values, ensure_ascii=False, sort_keys=True, default=str))


def _site(report: dict[str, Any], lang: str) -> str:
    site = report.get("site") or {}
    return one_line(str(site.get("name_en" if lang == "en" else "name") or site.get("name") or ""), 80)


def render_body(mail: ManagerMail, report: dict[str, Any], job_name: str, run_dir: Path) -> str:
    """The text of the mail: Japanese, then English; one block per new drift (host, requirement, clause, title,
    expected vs actual)."""
    view = ReportView(report)
    items = sorted(mail.drift, key=lambda f: (f["host"], clause_key(f["clause"]), f["requirement"]))
    run = report["run"]
    ja = [f"{one_line(mail.manager)} 様", "",
          f"{_site(report, 'ja')} の定期点検（ジョブ {job_name}、実行 {run['id']}、{run['started_at']}）で、"
          f"前回の点検にはなかった不適合が {len(items)} 件見つかりました。対象は貴職が管理する情報システムのホストです"
          "（第3章 2）。", ""]
    en = [f"To: {one_line(mail.manager)}", "",
          f"The scheduled audit of {_site(report, 'en')} (job {job_name}, run {run['id']}, {run['started_at']}) "
          f"found {len(items)} new drift(s) since the previous run, on hosts of the information systems you manage.",
          ""]
    for index, finding in enumerate(items, 1):
        requirement = view.requirement(finding["requirement"])
        title, expected = requirement["title"], finding.get("expected") or {}
        ja += [f"{index}. ホスト {one_line(finding['host'])}  要件 {finding['requirement']}  条項 {finding['clause']}",
               f"   {one_line(title.get('ja', ''))}",
               f"   期待値: {one_line(expected.get('ja', ''))}",
               f"   実際の値: {_actual(finding)}", ""]
        en += [f"{index}. host {one_line(finding['host'])}  requirement {finding['requirement']}  "
               f"clause {finding['clause']}",
               f"   {one_line(title.get('en', ''))}",
               f"   expected: {one_line(expected.get('en', ''))}",
               f"   actual: {_actual(finding)}", ""]
    where = mail.report_dir or run_dir
    ja += [f"貴職のホストの報告書: {where}" + ("（添付）" if mail.attachment else ""), ""]
    en += [f"Your hosts' report: {where}" + (" (attached)" if mail.attachment else ""), ""]
    return "\n".join([*ja, "-" * 40, "", *en, "-- ", "hardening (坂戸市情報セキュリティポリシー準拠点検)"]) + "\n"


def compose(mail: ManagerMail, report: dict[str, Any], *, sender: str, job_name: str,
            run_dir: Path) -> EmailMessage:
    """The message for one manager (UTF-8, Japanese subject first)."""
    message = EmailMessage()
    count = len(mail.drift)
    message["Subject"] = one_line(f"【{_site(report, 'ja')}】新たな不適合 {count} 件 ({mail.manager}) — "
                                  f"hardening job {job_name}: {count} new drift(s)", 200)
    message["From"] = sender
    message["To"] = ", ".join(mail.addresses)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    body = render_body(mail, report, job_name, run_dir)
    message.set_content(body.encode("utf-8", "replace").decode("utf-8"), charset="utf-8")
    if mail.attachment is not None:
        data = mail.attachment.read_bytes()
        subtype = "html" if mail.attachment.suffix == ".html" else "json"
        maintype = "text" if subtype == "html" else "application"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=mail.attachment.name)
    return message


def _context(relay: Relay) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(relay.ca_file) if relay.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def send(relay: Relay, messages: Sequence[tuple[ManagerMail, EmailMessage]], secrets: SecretStore) -> None:
    """Send each message through `relay` in one session: STARTTLS (certificate verified against the relay's
    name), then AUTH when the relay has credentials. Raises MailError when the session cannot be set up (nothing
    sent); a message the relay refuses sets its ManagerMail.error and the others still go."""
    where = f"{relay.host}:{relay.port}"
    login: tuple[str, str] | None = None
    if relay.credentials:
        try:
            credentials = secrets.credentials(relay.credentials)
            credentials.require("username", "password", purpose=f"SMTP AUTH on {where}")
        except SecretError as exc:
            raise MailError(f"relay {where}: {exc}") from None
        password = credentials.password.reveal() if credentials.password is not None else ""  # require()d
        login = (credentials.username, password)
    try:
        context = _context(relay)
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"relay {where}: CA file {relay.ca_file} cannot be used "
                        f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as session:
            session.ehlo()
            if not session.has_extn("starttls"):
                raise MailError(f"relay {where} offers no STARTTLS: refused to send mail in clear")
            session.starttls(context=context)
            session.ehlo()
            if login is not None:
                session.login(*login)
            for mail, message in messages:
                try:
                    refused = session.send_message(message)
                except smtplib.SMTPException as exc:
                    mail.error = _reason(exc)
                    continue
                mail.sent = not refused
                if refused:
                    mail.error = "refused recipient(s): " + ", ".join(sorted(refused))
    except MailError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise MailError(f"relay {where}: certificate not trusted ({one_line(exc.verify_message or str(exc))}): "
                        "nothing sent") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise MailError(f"relay {where}: {_reason(exc)}: nothing sent" if not any(m.sent for m, _ in messages)
                        else f"relay {where}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return REDACTOR.scrub(one_line(f"{type(exc).__name__} {exc.smtp_code} {text}", 200))
    return REDACTOR.scrub(one_line(f"{type(exc).__name__}: {exc}", 200))


def by_manager(report: dict[str, Any], new: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """The new drift's findings grouped by responsible manager (views.responsible_managers: a co-managed host's
    drift goes to each of its managers)."""
    from hardening.report.views import responsible_managers

    wanted = set(new)
    hosts = {h["name"]: h for h in report["hosts"]}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        if (finding["host"], finding["requirement"]) in wanted:
            for manager in responsible_managers(hosts[finding["host"]]):
                grouped.setdefault(manager, []).append(finding)
    return dict(sorted(grouped.items()))
