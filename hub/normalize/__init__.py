"""Canonical forms: DuckDB macros and the SQL that turns raw text into staged values."""
