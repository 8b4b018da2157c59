# hardening: the two commands of the README are `make demo` and `make test` (run as root on a
# fresh Debian 12 machine: they install what they need, build the lab, and run).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_STATE := /var/lib/hardening-lab
# How the demo/test runs reach the lab: credentials from the lab's ansible-vault file, host keys
# checked strictly against the known_hosts the lab writes (an unknown or changed key is refused).
LAB_ENV := HARDENING_VAULT=$(LAB_STATE)/vault.yml HARDENING_VAULT_PASSWORD_FILE=$(LAB_STATE)/vault-pass \
           HARDENING_KNOWN_HOSTS=$(LAB_STATE)/ssh/known_hosts HARDENING_HOST_KEY_POLICY=strict

.PHONY: venv collections machine-deps lab-base lab-up lab-down lab-status demo test test-unit check lint typecheck bench bench-ansible bench-network bench-windows bench-mfp bench-scale clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# The Ansible collections of playbooks/windows.yml (ansible.windows), extracted from the `ansible` package named in
# requirements-ansible.txt into collections/ (ansible.cfg puts it first on the collections path).
collections/.installed: requirements-ansible.txt tools/install_collections.py | venv
	$(BIN)/python tools/install_collections.py --requirements requirements-ansible.txt --into collections
	touch $@

collections: collections/.installed

# Debian packages the lab and the tests need on this machine (debootstrap, chromium, CJK fonts …).
machine-deps: venv
	$(BIN)/python lab/labctl.py machine

lab-base: machine-deps
	$(BIN)/python lab/labctl.py base

lab-up: lab-base
	$(BIN)/python lab/labctl.py up

lab-down:
	$(BIN)/python lab/labctl.py down

lab-status:
	$(BIN)/python lab/labctl.py status

# Main job on the demo network: audit every lab host and write the reports. Drift (exit 2) is the
# expected outcome of the demo; an error (exit 1) fails it.
demo: lab-up
	@rc=0; $(LAB_ENV) HARDENING_LEDGER=$$(pwd)/reports/ledger.jsonl HARDENING_HISTORY=$$(pwd)/reports/history.sqlite $(BIN)/hardening audit --out reports/demo --format json,html,csv,junit,xlsx || rc=$$?; \
	echo; echo "reports: $$(pwd)/reports/demo/{report.json,report.html,report.csv,junit.xml,report.xlsx,facts/}"; \
	[ $$rc -eq 0 ] || [ $$rc -eq 2 ]

# All tests: unit tests and lab tests on real hosts. pytest exits 5 when no test ran: that fails too (with
# pytest-xdist as without). Two workers: every lab test is in one work unit (tests/conftest.py), so the lab
# tests run in order in one worker, one at a time on the shared lab, while the other worker runs the unit and
# platform tests; the lab worker takes what is left of those when its group is done. The base temporary folder is
# a short one of its own: a worker's tmp_path gains a `popen-gwN/` level, and the Ansible runs' sockets under it
# must stay within the 108 bytes of a Unix socket path.
test: lab-up collections
	$(LAB_ENV) $(BIN)/pytest -q -n 2 --dist loadgroup --basetemp=$$(mktemp -d /tmp/pt-XXXXXX) tests

test-unit: machine-deps collections
	$(BIN)/pytest -q tests/unit tests/platforms

lint: venv collections
	$(BIN)/ruff check src tests lab bench molecule tools
	cd $(CURDIR) && PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint playbooks/ tasks/

typecheck: venv
	$(BIN)/mypy

check: lint typecheck test

bench: lab-base
	$(LAB_ENV) $(BIN)/python bench/audit_vs_ansible.py

# The Linux playbook in check mode on the demo hosts: one ansible-playbook process per host vs one for all.
bench-ansible: lab-up
	$(LAB_ENV) $(BIN)/python bench/ansible_batch.py

# Our audit of 50 and 200 simulated Cisco IOS devices (lab/netsim on loopback, one process) next to a bare netmiko
# fetch of `show running-config` from the same devices with the same workers (3 rounds each, alternating; prints the
# issue 8 targets beside the figures). Needs no lab namespaces; ~4 minutes.
bench-network: venv
	$(BIN)/python bench/network_audit.py --devices 50 200 --workers 50

# Our audit of 200 simulated Windows hosts (lab/winsim on loopback addresses, split over 4 simulator processes) next
# to pywinrm running one trivial command per host on the same hosts with the same 50 workers, HTTPS + NTLM (3 rounds
# each, alternating; medians; prints the issue 9 target beside the figures). Needs no lab namespaces; ~3 minutes.
bench-windows: venv
	$(BIN)/python bench/windows_audit.py --hosts 200 --workers 50 --rounds 3

# Our audit of 200 simulated printers (lab/mfpsim on loopback addresses: snmpsim split over 2 processes, the web
# admin and the risky-service listeners in one) next to a bare pysnmp SNMPv3 GET of sysDescr per printer on the same
# printers with the same 50 workers (3 rounds each, alternating; medians; prints the issue 10 target beside the
# figures). Needs no lab namespaces (root for the privileged ports on loopback).
bench-mfp: venv
	$(BIN)/python bench/mfp_audit.py --printers 200 --workers 50 --rounds 3

# An offline audit (`audit --from`) of 10,000 synthetic hosts made from the platforms' conformance cases (every device
# class that has landed), stage by stage in one fresh process: inventory load, evaluation, history write (SQLite;
# --history URL for PostgreSQL), JSON, HTML, XLSX, with the peak RSS after each stage and the evaluation per host
# next to a bare validation of the same facts (the floor). Prints figures against the issue 11 targets (30 s, 1 GB).
# Needs no lab.
bench-scale: venv
	$(BIN)/python bench/scale_audit.py --hosts 10000

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
