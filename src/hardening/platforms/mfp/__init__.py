"""Multifunction printers (MFPs) of the six makers and unknown ones: SNMP, TCP, TLS and web-admin checks."""
