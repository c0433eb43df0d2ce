"""Proposing how a department file's columns map onto canonical fields."""
