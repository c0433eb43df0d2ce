"""What linkage keeps between runs so a run scores only pairs it has not scored before.

- The model (Splink's parameters, the prior, and the name frequencies its term-frequency
  adjustment reads) is trained once and kept in `identity.link_model` / `identity.link_tf`:
  with it fixed, a pair's score depends on the two nodes alone. It is retrained when
  `linkage.yaml` or the comparisons change. `hub run --full` keeps it (like the person ids,
  it is the hub's memory, not data derived from one run).
- Scored pairs stay in `core.link_edge_cache` beside the signature (a hash of the compared
  columns and of the caps on the node's blocks) of each node they were scored on. A node whose signature is new is fresh; only
  pairs with a fresh side are scored again. A cached pair still counts if both nodes are
  unchanged and some blocking rule still pairs them (a block may have grown past its cap).
A full rebuild starts with no cache and scores every pair with the same model: the same edges.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import duckdb

from hub.link.model import BLOCKS, CAPPED, MODEL_COLUMNS, U_PAIR
from hub.registry.config import LinkageConfig
from hub.warehouse import lit, one

MODEL_VERSION = "2026-12-model-1"  # bump when comparisons or blocking change meaning
STORE_DDL = """
CREATE SCHEMA IF NOT EXISTS identity;
CREATE SCHEMA IF NOT EXISTS core;
CREATE TABLE IF NOT EXISTS identity.link_model (key VARCHAR PRIMARY KEY, model VARCHAR, trained_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS identity.link_tf (key VARCHAR, name_s VARCHAR, tf_name_s DOUBLE);
CREATE TABLE IF NOT EXISTS core.link_edge_cache (
    a VARCHAR, b VARCHAR, p DOUBLE, w DOUBLE, evidence VARCHAR, model_key VARCHAR
);
CREATE TABLE IF NOT EXISTS core.link_node_sigs (unique_id VARCHAR, sig UBIGINT, model_key VARCHAR);
"""
COMPARED = tuple(c for c in MODEL_COLUMNS if c not in ("unique_id",))


def model_key(config: LinkageConfig) -> str:
    text = json.dumps([MODEL_VERSION, config.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stored_model(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any] | None:
    con.execute(STORE_DDL)
    rows = con.execute("SELECT model FROM identity.link_model WHERE key = ?", [key]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def store_model(
    con: duckdb.DuckDBPyConnection, key: str, model: dict[str, Any], nodes: str
) -> None:
    """Keep `model`, and the name frequencies of `nodes` (a table) it was trained on."""
    con.execute("DELETE FROM identity.link_model WHERE key = ?", [key])
    con.execute(
        "INSERT INTO identity.link_model VALUES (?, ?, ?)",
        [key, json.dumps(model, ensure_ascii=False), datetime.now().replace(microsecond=0)],
    )
    con.execute("DELETE FROM identity.link_tf WHERE key = ?", [key])
    con.execute(
        f"INSERT INTO identity.link_tf SELECT {lit(key)}, name_s, count(*) / "
        f"sum(count(*)) OVER () FROM {nodes} WHERE name_s IS NOT NULL GROUP BY name_s"
    )


def tf_sql(key: str, nodes: str) -> str:
    """The name frequencies for scoring `nodes`: as trained, and a name unseen then as rare
    as the rarest seen (so a pair's score never depends on what else was loaded)."""
    return (
        f"WITH t AS (SELECT name_s, tf_name_s FROM identity.link_tf WHERE key = {lit(key)}) "
        f"SELECT n.name_s, coalesce(t.tf_name_s, (SELECT min(tf_name_s) FROM t), 1.0) AS tf_name_s "
        f"FROM (SELECT DISTINCT name_s FROM {nodes} WHERE name_s IS NOT NULL) n "
        "LEFT JOIN t USING (name_s)"
    )


# over the kept nodes `n` joined by `sigs_join`: no cached pairs were scored on this node as it is
FRESH = "k.unique_id IS NULL"


def sigs_join(key: str) -> str:
    """SQL joining the node signatures scored under model `key` to kept nodes `n` (which
    carry their `sig`, hub.link.nodes); a node without one is fresh (every node, when the
    cache was scored with another model)."""
    return (
        f"LEFT JOIN core.link_node_sigs k ON k.unique_id = n.unique_id AND k.sig = n.sig "
        f"AND k.model_key = {lit(key)}"
    )


def splink_input(con: duckdb.DuckDBPyConnection, target: str) -> int:
    """Create `target`: the fresh nodes and every node some blocking rule pairs with one
    (the rest cannot meet a fresh node); returns its rows."""
    partners = []
    for i, (_, keys) in enumerate(BLOCKS):
        k = [key.format(t="n") for key in keys]
        f = [key.format(t="f") for key in keys]
        on = " AND ".join(f"{a} = {b}" for a, b in zip(k, f, strict=True))
        partners.append(
            f"SELECT n.unique_id FROM link_nodes n SEMI JOIN (SELECT * FROM link_nodes WHERE fresh) f "
            f"ON {on} AND NOT n.{CAPPED[i]}"
        )
    cols = ", ".join([*MODEL_COLUMNS, *CAPPED, "fresh"])
    every = one(con, "SELECT bool_and(fresh) FROM link_nodes")[0]
    # every node fresh (the first run, a new model): no partners to look for
    where = "" if every else f" WHERE fresh OR unique_id IN ({' UNION '.join(partners)})"
    con.execute(f"CREATE TABLE {target} AS SELECT {cols} FROM link_nodes{where}")
    return int(one(con, f"SELECT count(*) FROM {target}")[0])


def kept_edges_sql(key: str) -> str:
    """Cached pairs of two unchanged nodes that a blocking rule still pairs (over the temp
    table `link_nodes`)."""
    rules = []
    for i, (_, keys) in enumerate(BLOCKS):
        eq = " AND ".join(f"{k.format(t='l')} = {k.format(t='r')}" for k in keys)
        rules.append(f"({eq} AND NOT l.{CAPPED[i]})")
    return (
        "SELECT e.a, e.b, e.p, e.w, e.evidence FROM core.link_edge_cache e "
        "JOIN link_nodes l ON l.unique_id = e.a JOIN link_nodes r ON r.unique_id = e.b "
        f"WHERE e.model_key = {lit(key)} AND NOT l.fresh AND NOT r.fresh AND {U_PAIR} "
        f"AND ({' OR '.join(rules)})"
    )


def save(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Keep this run's edges (`link_edges`) and node signatures for the next run."""
    con.execute(
        "CREATE OR REPLACE TABLE core.link_edge_cache AS SELECT a, b, p, w, evidence, "
        f"{lit(key)} AS model_key FROM link_edges"
    )
    other = one(con, "SELECT count(*) FROM core.link_node_sigs WHERE model_key <> ?", [key])[0]
    if other:
        con.execute(
            "CREATE OR REPLACE TABLE core.link_node_sigs AS SELECT unique_id, sig, "
            f"{lit(key)} AS model_key FROM link_nodes"
        )
        return
    # an unchanged node's signature is kept as it is: only the fresh ones are written
    con.execute(
        "DELETE FROM core.link_node_sigs WHERE unique_id NOT IN "
        "(SELECT unique_id FROM link_nodes WHERE NOT fresh)"
    )
    con.execute(
        f"INSERT INTO core.link_node_sigs SELECT unique_id, sig, {lit(key)} FROM link_nodes "
        "WHERE fresh"
    )
