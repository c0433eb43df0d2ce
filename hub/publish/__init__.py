"""Immutable Parquet snapshots of the core datasets behind one atomically switched pointer."""
