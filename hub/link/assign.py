"""From scored pairs to persons, in DuckDB SQL.

Nodes are the rows the ID could not link ('U', keyed by their record key) and the persons
it did ('R', keyed `id:<citizen id>`, one node each and never merged with another: two
valid, different IDs are two people). Review decisions come first: an accepted pair links
whatever its score, a rejected one never does. Then each U row joins its best R at or above
the link threshold (best by match weight: probabilities of strong pairs all round to 1); U
rows left over form persons among themselves by connected components
of their links; a rejected pair that ended up together anyway is split again.
"""

from __future__ import annotations

import duckdb

from hub.link.nodes import NODE_BASE

MAX_ROUNDS = 50  # label propagation halves component diameters; 50 covers any real chain


def assign(con: duckdb.DuckDBPyConnection, link: float, review: float) -> None:
    """Reads `link_nodes(unique_id, grp)` (every U node, and the R nodes pairs were made
    of), the kept nodes (every R node is a person), `link_edges(a, b, p, w, evidence)` and
    `link_decisions(a, b, accept)`; writes `link_clusters(unique_id, cluster, via, p,
    evidence, method)` and `link_review(a, b, p, evidence)`."""
    _decided_edges(con)
    con.execute(
        # equal weights are broken by the node's key: a run and a rebuild choose alike
        "CREATE OR REPLACE TEMP TABLE _u2r AS SELECT u, arg_max(o, (w, o)) AS r FROM ("
        "SELECT a AS u, b AS o, p, w FROM _edges UNION ALL SELECT b, a, p, w FROM _edges) "
        f"WHERE u NOT LIKE 'id:%' AND o LIKE 'id:%' AND p >= {link} GROUP BY u"
    )
    _components(con, link)
    _split_rejected(con)
    _explain(con)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE link_review AS SELECT e.a, e.b, e.p, e.evidence "
        "FROM _edges e JOIN _cluster ca ON ca.unique_id = e.a JOIN _cluster cb ON cb.unique_id = e.b "
        f"WHERE e.p >= {review} AND e.p < {link} AND NOT e.decided AND ca.cluster <> cb.cluster"
    )


def _decided_edges(con: duckdb.DuckDBPyConnection) -> None:
    """Scored pairs in a fixed order, with accepted pairs forced in and rejected ones out."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _edges AS "
        "WITH e AS (SELECT least(a, b) AS a, greatest(a, b) AS b, p, w, evidence FROM link_edges), "
        f"n AS (SELECT unique_id FROM {NODE_BASE}) "
        "SELECT coalesce(e.a, d.a) AS a, coalesce(e.b, d.b) AS b, "
        "CASE WHEN d.accept THEN 1.0 ELSE e.p END AS p, "
        "CASE WHEN d.accept THEN 1e9 ELSE e.w END AS w, "
        "CASE WHEN d.accept THEN '人工确认为同一人' ELSE e.evidence END AS evidence, "
        "d.a IS NOT NULL AS decided "
        "FROM e FULL JOIN link_decisions d ON d.a = e.a AND d.b = e.b "
        "WHERE coalesce(d.accept, true) "
        "AND coalesce(e.a, d.a) IN (SELECT unique_id FROM n) AND coalesce(e.b, d.b) IN (SELECT unique_id FROM n)"
    )


def _components(con: duckdb.DuckDBPyConnection, link: float) -> None:
    """U rows not joined to an R: connected components of their links at `link` or above.
    A component whose joined members all point at one R joins that R."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _uu AS SELECT a AS x, b AS y FROM _edges "
        f"WHERE p >= {link} AND a NOT LIKE 'id:%' AND b NOT LIKE 'id:%' "
        "UNION ALL SELECT b, a FROM _edges "
        f"WHERE p >= {link} AND a NOT LIKE 'id:%' AND b NOT LIKE 'id:%'"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _label AS SELECT unique_id AS node, unique_id AS label "
        "FROM link_nodes WHERE grp = 'U'"
    )
    for _ in range(MAX_ROUNDS):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _label_next AS SELECT l.node, "
            "least(l.label, coalesce(min(m.label), l.label)) AS label FROM _label l "
            "LEFT JOIN _uu e ON e.x = l.node LEFT JOIN _label m ON m.node = e.y GROUP BY l.node, l.label"
        )
        changed = con.execute(
            "SELECT count(*) FROM _label JOIN _label_next USING (node) "
            "WHERE _label.label <> _label_next.label"
        ).fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE _label AS SELECT * FROM _label_next")
        if not changed:
            break
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cluster AS "
        "WITH comp_r AS (SELECT l.label, min(r.r) AS r FROM _label l JOIN _u2r r ON r.u = l.node "
        "GROUP BY l.label HAVING count(DISTINCT r.r) = 1) "
        "SELECT l.node AS unique_id, coalesce(r.r, c.r, l.label) AS cluster "
        "FROM _label l LEFT JOIN _u2r r ON r.u = l.node LEFT JOIN comp_r c ON c.label = l.label "
        f"UNION ALL SELECT unique_id, unique_id FROM {NODE_BASE} WHERE grp = 'R'"
    )


def _split_rejected(con: duckdb.DuckDBPyConnection) -> None:
    """A rejected pair is never one person, even through a chain of other links."""
    for _ in range(MAX_ROUNDS):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _detach AS SELECT DISTINCT "
            "CASE WHEN d.b NOT LIKE 'id:%' THEN d.b ELSE d.a END AS node FROM link_decisions d "
            "JOIN _cluster ca ON ca.unique_id = d.a JOIN _cluster cb ON cb.unique_id = d.b "
            "WHERE NOT d.accept AND ca.cluster = cb.cluster"
        )
        if not con.execute("SELECT count(*) FROM _detach").fetchall()[0][0]:
            return
        con.execute(
            "UPDATE _cluster SET cluster = unique_id WHERE unique_id IN (SELECT node FROM _detach)"
        )


def _explain(con: duckdb.DuckDBPyConnection) -> None:
    """Per U row: the strongest link inside its person (what decided it), and how."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE link_clusters AS "
        "WITH both_ways AS (SELECT a AS u, b AS o, p, w, evidence FROM _edges "
        "UNION ALL SELECT b, a, p, w, evidence FROM _edges), "
        "inside AS (SELECT e.u, arg_max(e.o, (e.w, e.o)) AS via, arg_max(e.p, (e.w, e.o)) AS p, "
        "arg_max(e.evidence, (e.w, e.o)) AS evidence "
        "FROM both_ways e JOIN _cluster cu ON cu.unique_id = e.u JOIN _cluster co ON co.unique_id = e.o "
        "WHERE cu.cluster = co.cluster GROUP BY e.u) "
        "SELECT c.unique_id, c.cluster, i.via, i.p, i.evidence, "
        "CASE WHEN c.unique_id LIKE 'id:%' THEN 'id' WHEN i.evidence = '人工确认为同一人' THEN 'review' "
        "WHEN i.via IS NULL THEN 'alone' ELSE 'probabilistic' END AS method "
        "FROM _cluster c LEFT JOIN inside i ON i.u = c.unique_id"
    )
