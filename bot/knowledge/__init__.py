"""Runbook knowledge: Markdown files → sections → whoosh index → ranked answers.

Knows nothing about chat; usable from a script or the CLI.
"""
