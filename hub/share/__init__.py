"""Sharing with departments: grants as published tables, guarded queries, and the audit log."""
