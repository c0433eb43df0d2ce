"""一张表 Hub: department tables in once, one validated record per resident out.

The package holds the domain logic only; Dagster lives in `pipelines/`.
"""

__version__ = "0.1.0"

import os as _os

import pyarrow as _pa

# pyarrow's default allocator (mimalloc) hands freed memory straight back to the system, so
# each file's columns fault in fresh zeroed pages: a third of loading a district went to the
# kernel clearing pages. jemalloc reuses freed pages (the system allocator where a build has
# no jemalloc); ARROW_DEFAULT_MEMORY_POOL still chooses when set.
if not _os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
    try:
        _pa.set_memory_pool(_pa.jemalloc_memory_pool())
    except NotImplementedError:
        _pa.set_memory_pool(_pa.system_memory_pool())
