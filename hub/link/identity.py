"""Person ids that are kept: the person store.

Linkage forms clusters of nodes (a trusted ID, or a row the ID could not link) from scratch
each run; the store gives each cluster the id its members already had:

- a cluster whose members all had one id keeps it;
- a cluster joining members of several persons (a new row bridging them) takes the oldest
  id; the others are recorded as merged into it (`identity.person_merges`);
- an id whose members now fall in several clusters (a review split them) stays with the
  cluster holding the node that founded it (else the one with most of its members), the
  rest become new persons;
- a cluster of new nodes is a new person: its id is a keyed hash of its founding node (the
  trusted ID where it has one), as before there was a store.

A full rebuild forms the same clusters and meets the same store: every id stays.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from hub.warehouse import lit, one

STORE_DDL = """
CREATE SCHEMA IF NOT EXISTS identity;
CREATE TABLE IF NOT EXISTS identity.person_nodes (node VARCHAR, person_id VARCHAR);
CREATE TABLE IF NOT EXISTS identity.persons (
    person_id VARCHAR PRIMARY KEY, founder VARCHAR, born INTEGER, merged_into VARCHAR
);
CREATE TABLE IF NOT EXISTS identity.person_merges (
    merged_id VARCHAR, into_id VARCHAR, generation INTEGER, merged_at TIMESTAMP
);
"""


def assign_ids(con: duckdb.DuckDBPyConnection, secret: str, seeds: str | None = None) -> int:
    """Create the temp tables `link_person(unique_id, person_id)` from `link_clusters`
    (unique_id, cluster) and `link_person_changed` (its rows whose person is new or other
    than before), and update the store; returns how many persons were merged.

    `seeds` (a table of unique_id) narrows the work to an incremental run's nodes that may
    have moved (and those gone): every cluster that can come out otherwise than "all its
    nodes keep the one id they had" is found from them (`_scope`), and `link_person` holds
    those clusters' nodes alone; every other node keeps its id untouched."""
    con.execute(STORE_DDL)
    generation = int(one(con, "SELECT coalesce(max(born), 0) + 1 FROM identity.persons")[0])
    clusters = _scope(con, seeds) if seeds else "link_clusters"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _prev AS SELECT c.unique_id, c.cluster, n.person_id, "
        f"p.born, p.founder = c.unique_id AS founds FROM {clusters} c "
        "LEFT JOIN identity.person_nodes n ON n.node = c.unique_id "
        "LEFT JOIN identity.persons p ON p.person_id = n.person_id"
    )
    # which cluster keeps each old id: the founder's, else the one with most of its nodes
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _won AS SELECT person_id, born, arg_min(cluster, "
        "(NOT founds, -members, first)) AS cluster FROM (SELECT person_id, born, cluster, "
        "bool_or(founds) AS founds, count(*) AS members, min(unique_id) AS first FROM _prev "
        "WHERE person_id IS NOT NULL GROUP BY ALL) GROUP BY person_id, born"
    )
    new_id = f"'P' || substr(sha256({lit(secret)} || c.cluster), 1, 16)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cluster_id AS "
        "SELECT c.cluster, coalesce(w.person_id, CASE WHEN t.person_id IS NULL THEN n.id ELSE "
        f"'P' || substr(sha256({lit(secret)} || c.cluster || '#' || {generation}), 1, 16) END) "
        "AS person_id, w.person_id IS NULL AS is_new "
        f"FROM (SELECT DISTINCT cluster FROM {clusters}) c "
        "LEFT JOIN (SELECT cluster, arg_min(person_id, (born, person_id)) AS person_id "
        "FROM _won GROUP BY cluster) w USING (cluster) "
        f"LEFT JOIN (SELECT cluster, {new_id} AS id FROM (SELECT DISTINCT cluster FROM {clusters}) c) n "
        "USING (cluster) "
        # a new id already taken (its node once founded a person kept elsewhere): salted
        "LEFT JOIN identity.persons t ON t.person_id = n.id AND w.person_id IS NULL"
    )
    now = datetime.now().replace(microsecond=0)
    con.execute("BEGIN TRANSACTION")  # the store changes all at once or not at all
    try:
        merged = _update_store(con, generation, now, clusters, seeds)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for t in ("_prev", "_won", "_cluster_id"):
        con.execute(f"DROP TABLE {t}")
    return merged


def _scope(con: duckdb.DuckDBPyConnection, seeds: str) -> str:
    """The temp table `_scope(unique_id, cluster)`: the clusters of the seeds, grown until
    closed under "a node of the cluster" and "a node that had the same person as one of
    them" (a split or a merge moves ids only among such nodes)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope AS SELECT unique_id, cluster FROM link_clusters "
        f"WHERE cluster IN (SELECT cluster FROM link_clusters SEMI JOIN {seeds} USING (unique_id))"
    )
    con.execute(  # the persons the seeds had (gone nodes too): every node of theirs counts
        "CREATE OR REPLACE TEMP TABLE _scope_persons AS SELECT DISTINCT person_id FROM "
        f"identity.person_nodes WHERE node IN (SELECT unique_id FROM {seeds})"
    )
    size, grown = -1, int(one(con, "SELECT count(*) FROM _scope")[0])
    while grown != size:
        size = grown
        con.execute(
            "INSERT INTO _scope_persons SELECT DISTINCT person_id FROM identity.person_nodes "
            "WHERE node IN (SELECT unique_id FROM _scope) "
            "AND person_id NOT IN (SELECT person_id FROM _scope_persons)"
        )
        con.execute(
            "INSERT INTO _scope SELECT unique_id, cluster FROM link_clusters WHERE cluster IN ("
            "SELECT cluster FROM link_clusters WHERE unique_id IN (SELECT node FROM "
            "identity.person_nodes WHERE person_id IN (SELECT person_id FROM _scope_persons))) "
            "AND unique_id NOT IN (SELECT unique_id FROM _scope)"
        )
        grown = int(one(con, "SELECT count(*) FROM _scope")[0])
    return "_scope"


def _update_store(
    con: duckdb.DuckDBPyConnection,
    generation: int,
    now: datetime,
    clusters: str,
    seeds: str | None,
) -> int:
    merged = con.execute(
        "INSERT INTO identity.person_merges SELECT w.person_id, k.person_id, ?, ? FROM _won w "
        "JOIN _cluster_id k USING (cluster) WHERE w.person_id <> k.person_id",
        [generation, now],
    ).fetchall()[0][0]
    con.execute(
        "UPDATE identity.persons p SET merged_into = k.person_id FROM _won w "
        "JOIN _cluster_id k USING (cluster) WHERE p.person_id = w.person_id "
        "AND w.person_id <> k.person_id"
    )
    con.execute(
        "INSERT INTO identity.persons SELECT person_id, cluster, ?, NULL FROM _cluster_id "
        "WHERE is_new",
        [generation],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE link_person AS SELECT c.unique_id, k.person_id "
        f"FROM {clusters} c JOIN _cluster_id k USING (cluster)"
    )
    # the nodes whose person is new or other than before: the store changes only there
    con.execute(
        "CREATE OR REPLACE TEMP TABLE link_person_changed AS SELECT l.unique_id, l.person_id "
        "FROM link_person l JOIN _prev p USING (unique_id) "
        "WHERE p.person_id IS DISTINCT FROM l.person_id"
    )
    # nodes gone: among the seeds when there are seeds (a gone row is one); listed first, as
    # a condition beside the other would test every node of the store against every cluster
    among = (
        f"(SELECT DISTINCT unique_id FROM {seeds})"
        if seeds
        else "(SELECT DISTINCT node AS unique_id FROM identity.person_nodes)"
    )
    con.execute(  # an anti join hashes the few seeds, not every cluster
        f"CREATE OR REPLACE TEMP TABLE _gone_nodes AS SELECT unique_id FROM {among} "
        "ANTI JOIN link_clusters USING (unique_id)"
    )
    con.execute(
        "DELETE FROM identity.person_nodes WHERE node IN (SELECT unique_id FROM "
        "link_person_changed UNION ALL FROM _gone_nodes)"
    )
    con.execute("DROP TABLE _gone_nodes")
    con.execute("INSERT INTO identity.person_nodes SELECT * FROM link_person_changed")
    return int(merged)
