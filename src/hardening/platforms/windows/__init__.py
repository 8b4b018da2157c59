"""Windows over WinRM: one PowerShell batch per host, parsed on the auditor's side."""
