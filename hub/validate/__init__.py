"""Validation: row-level rules from `fields.yaml` as SQL, table-level expectations with GX."""
