"""Confirmed actions on the clusters: plans, confirmations, re-checks, submission, watching, audit."""
