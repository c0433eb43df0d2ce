"""Golden records: one row per resident chosen by survivorship, with provenance and conflicts."""
