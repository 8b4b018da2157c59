"""Simulated multifunction printers for the lab: snmpsim agents (data generated from host states and the vendor
profiles), a web-admin login simulator and risky-service listeners (see README.md)."""
