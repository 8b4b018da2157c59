"""Engines that drive many hosts: Nornir for collection (and later plan/apply), ansible-runner for changes."""
