"""Ansible lookup `hardening_secret`: a connection secret of this run, asked of the orchestrator over a socket.

The inventory of a run holds only `{{ lookup('hardening_secret', 'S_3') }}` for a password or an enable secret;
the value lives in the orchestrator's memory and is served over the Unix socket named by HARDENING_SECRET_SOCK
(in the run's private 0700 folder; the server answers only processes of its own user). Nothing secret is written
to any file, nor put in an environment variable (ansible-runner writes the whole environment of the run into its
artifacts). See hardening/engines/ansible_secrets.py for the server side.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: hardening_secret
short_description: a connection secret of this hardening run, served by the orchestrator
description:
  - Returns the secret registered under each term by the orchestrator for this run.
options:
  _terms:
    description: secret names (opaque, such as S_3)
    required: true
"""

_MAX = 1 << 20


def fetch(path: str, name: str) -> str:
    """The secret `name` from the server at `path`; raises AnsibleError (never with the value) when it fails."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        try:
            conn.connect(path)
            conn.sendall(name.encode("ascii") + b"\n")
            chunks = []
            received = 0
            while received < _MAX:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
        except OSError as exc:
            raise AnsibleError(f"hardening_secret: the orchestrator's secret socket did not answer for {name} "
                               f"({type(exc).__name__})") from None
    try:
        answer = json.loads(b"".join(chunks))
        return str(answer["value"])
    except (ValueError, KeyError, TypeError):
        raise AnsibleError(f"hardening_secret: no secret {name} in this run") from None


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[str]:
        path = os.environ.get("HARDENING_SECRET_SOCK")
        if not path:
            raise AnsibleError("hardening_secret: HARDENING_SECRET_SOCK is not set (run through hardening only)")
        return [fetch(path, str(term)) for term in terms]
