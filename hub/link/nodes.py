"""The nodes linkage compares, kept between runs in `core.link_node_base`.

Each node carries `sig`, a hash of what the model compares (hub.link.cache), and per
blocking rule a hash of its block (`block_<i>`, hub.link.run finds blocks by it). One node per
person known by a trusted ID (its values as most of its rows give them, ties to
the smallest, so a run and a rebuild agree), and one per row the ID could not link. An
incremental run rebuilds the nodes of the IDs and rows that changed (hub.link.feature_store)
and keeps the others.
"""

from __future__ import annotations

import duckdb

from hub.link.cache import COMPARED
from hub.link.feature_store import CHANGED_KEYS, TOUCHED_IDS
from hub.link.model import BLOCKS, MODEL_COLUMNS
from hub.warehouse import table_columns

NODE_BASE = "core.link_node_base"
_OWN = ("unique_id", "grp", "id_text", "id_birth", "id_area", "birth", "gender", "phones")
# what an ID's node takes from its rows
_HELD = [c for c in MODEL_COLUMNS if c not in _OWN] + ["name", "address"]
_ID_ROW_COLUMNS = list(dict.fromkeys(["id_text", "id_birth", "id_area", "phone", "source", *_HELD]))
# per blocking rule, a hash of the node's block (NULL where a key is missing: no block), so
# finding the nodes that share a block with a few others need not hash every node's keys
BLOCK_HASHES = tuple(f"block_{i}" for i in range(len(BLOCKS)))
REVIEW_VIEW = (
    "CREATE OR REPLACE VIEW core.link_nodes AS SELECT unique_id, grp, id_text, name, birth, "
    f"gender, phone, address, sources FROM {NODE_BASE}"
)


def node_sql(ids: str | None = None, keys: str | None = None, id_rows: str | None = None) -> str:
    """The nodes of `link_features`: of every row, or of the IDs in the table `ids` and the
    untrusted rows in the table `keys` (record_key); `id_rows`, if given, holds the trusted
    rows of those IDs (read twice below: a city's features are better read once).

    An ID on one or two rows takes the smaller of two differing values (a tie) and the value
    itself otherwise: min and max, whose states are fixed in size. Only IDs on more rows need
    the mode (held values per ID): over every ID of a city that aggregate outgrows memory."""
    r_scope = f" AND id_text IN (SELECT id_text FROM {ids})" if ids else ""
    trusted = id_rows or f"(SELECT * FROM link_features WHERE trusted{r_scope})"
    u_scope = f" AND record_key IN (SELECT record_key FROM {keys})" if keys else ""
    ident = (
        "'id:' || id_text AS unique_id, 'R' AS grp, id_text, id_birth, id_area, "
        "id_birth AS birth, hub_id_gender(id_text) AS gender"
    )
    return (
        f"WITH few AS (SELECT id_text, count(*) AS n, any_value(id_birth) AS id_birth, "
        f"any_value(id_area) AS id_area, {', '.join(f'min({c}) AS {c}' for c in _HELD)}, "
        "min(phone) AS phone0, max(phone) AS phone1, min(source) AS source0, "
        f"max(source) AS source1 FROM {trusted} GROUP BY id_text), "
        f"many AS (SELECT id_text, any_value(id_birth) AS id_birth, any_value(id_area) AS id_area, "
        f"{', '.join(f'mode({c} ORDER BY {c}) AS {c}' for c in _HELD)}, "
        "nullif(list_sort(list(DISTINCT phone) FILTER (WHERE phone IS NOT NULL)), []) AS phones, "
        f"list_sort(list(DISTINCT source)) AS sources FROM {trusted} "
        "WHERE id_text IN (SELECT id_text FROM few WHERE n > 2) GROUP BY id_text) "
        f"SELECT *, hash({', '.join(COMPARED)}) AS sig, {_block_hashes()} FROM ("
        f"SELECT {ident}, {', '.join(_HELD)}, "
        "CASE WHEN phone0 IS NULL THEN NULL WHEN phone0 = phone1 THEN [phone0] "
        "ELSE [phone0, phone1] END AS phones, "
        "CASE WHEN source0 = source1 THEN [source0] ELSE [source0, source1] END AS sources "
        "FROM few WHERE n <= 2 "
        f"UNION ALL BY NAME SELECT {ident}, {', '.join(_HELD)}, phones, sources FROM many "
        "UNION ALL BY NAME SELECT record_key AS unique_id, 'U' AS grp, id_text, id_birth, id_area, birth, "
        "gender, name_s, name_py, phone, CASE WHEN phone IS NOT NULL THEN [phone] END AS phones, "
        "addr_comm, addr_no, addr_unit, head_py, name, address, "
        f"[source] AS sources FROM link_features WHERE NOT trusted{u_scope}) n"
    )


def _block_hashes() -> str:
    out = []
    for i, (_, keys) in enumerate(BLOCKS):
        k = [key.format(t="n") for key in keys]
        out.append(
            f"CASE WHEN {' AND '.join(f'{x} IS NOT NULL' for x in k)} "
            f"THEN hash({i}, {', '.join(k)}) END AS {BLOCK_HASHES[i]}"
        )
    return ", ".join(out)


def refresh_nodes(con: duckdb.DuckDBPyConnection, whole: bool) -> None:
    """Bring `core.link_node_base` up to date with `link_features`: whole, or for what the
    feature store says changed."""
    if whole or BLOCK_HASHES[0] not in table_columns(con, "core", "link_node_base"):
        con.execute(f"CREATE OR REPLACE TABLE {NODE_BASE} AS {node_sql()}")
    else:
        con.execute(
            f"DELETE FROM {NODE_BASE} WHERE unique_id IN (SELECT record_key FROM {CHANGED_KEYS}) "
            f"OR unique_id IN (SELECT 'id:' || id_text FROM {TOUCHED_IDS})"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _id_rows AS SELECT {', '.join(_ID_ROW_COLUMNS)} FROM link_features "
            f"WHERE trusted AND id_text IN (SELECT id_text FROM {TOUCHED_IDS})"
        )
        con.execute(
            f"INSERT INTO {NODE_BASE} BY NAME {node_sql(TOUCHED_IDS, CHANGED_KEYS, '_id_rows')}"
        )
        con.execute("DROP TABLE _id_rows")
    review_view(con)


def review_view(con: duckdb.DuckDBPyConnection) -> None:
    """`core.link_nodes`, what review shows of each node: a view of the kept nodes."""
    drop_review(con)  # a warehouse from before the nodes were kept has a table there
    con.execute(REVIEW_VIEW)


def drop_review(con: duckdb.DuckDBPyConnection) -> None:
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = 'core' "
        "AND table_name = 'link_nodes'"
    ).fetchall()
    if kind:
        con.execute(f"DROP {'TABLE' if kind[0][0] == 'BASE TABLE' else 'VIEW'} core.link_nodes")
