"""一张表 Hub: department tables in once, one validated record per resident out.

The package holds the domain logic only; Dagster lives in `pipelines/`.
"""

__version__ = "0.1.0"
