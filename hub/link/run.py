"""Link every staged department row to a person: by trusted ID, else probabilistically.

Writes `core.links` (each row's person, how it was linked, the probability and the
comparison levels that decided it), `core.link_nodes` (what each side of a pair looked
like, for review) and `core.review_queue` (pairs waiting for a person's decision).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from hub import unfinished
from hub.core.changes import links_redone
from hub.link import cache
from hub.link.assign import assign
from hub.link.decisions import load_decisions
from hub.link.feature_store import BATCHES, CHANGED_KEYS, FEATURES, TOUCHED_IDS, refresh_features
from hub.link.identity import assign_ids
from hub.link.model import (
    BLOCKING_RULES,
    BLOCKS,
    CAPPED,
    MODEL_COLUMNS,
    apply_priors,
    level_labels,
    settings,
)
from hub.link.nodes import BLOCK_HASHES, NODE_BASE, drop_review, refresh_nodes
from hub.registry.config import LinkageConfig
from hub.registry.loader import Registry
from hub.warehouse import drop_temps, lit, one, table_exists, temp_tables

log = logging.getLogger(__name__)
TRAIN_PER_ID = 20
_WORK = "hub_linkwork"  # Splink's scratch database, attached for one run
_NO_EDGES = (
    "SELECT NULL::VARCHAR AS a, NULL::VARCHAR AS b, NULL::DOUBLE AS p, NULL::DOUBLE AS w, "
    "NULL::VARCHAR AS evidence WHERE false"
)


@dataclass
class LinkResult:
    rows: int = 0
    by_id: int = 0
    probabilistic: int = 0  # rows joined to a person by the model
    reviewed: int = 0  # rows joined by an accepted review decision
    alone: int = 0  # rows that are a person of their own (no trusted ID, no match)
    persons: int = 0
    review_pairs: int = 0
    duplicates: int = 0  # rows equal to an earlier row of their batch: linked as that row
    capped: int = 0  # rows left alone whose block was too large to compare: for review
    fresh: int = 0  # pairable nodes new or changed since the last run: only their pairs scored
    cached_pairs: int = 0  # pairs taken from the last run's scores
    merged: int = 0  # persons merged into an older one by a row bridging them
    featured: int = 0  # rows whose features were computed (those of new batches)
    seconds: float = 0.0


def link(
    con: duckdb.DuckDBPyConnection, registry: Registry, decisions: Path, secret: str
) -> LinkResult:
    """Link all staged person rows of the warehouse behind `con`."""
    t = time.perf_counter()
    before = temp_tables(con)
    if unfinished.begin(con, "link"):  # a killed run changed part of it: redo it whole
        con.execute(f"DROP TABLE IF EXISTS {FEATURES}")
    refresh = refresh_features(con, registry)
    if refresh is None:
        _empty_outputs(con)
        result = LinkResult()
    else:
        result = link_features(con, registry.linkage, decisions, secret, refresh.whole)
        result.featured = refresh.featured
    unfinished.done(con, "link")
    drop_temps(con, before)
    result.seconds = round(time.perf_counter() - t, 3)
    return result


def link_features(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    decisions: Path,
    secret: str,
    whole: bool = True,
) -> LinkResult:
    """Link the rows of `link_features` and `link_dups` (see hub.link.feature_store): their
    nodes built anew (`whole`) or for the rows that changed."""
    refresh_nodes(con, whole)
    key = cache.model_key(config)
    con.execute(cache.STORE_DDL)
    _cap(con, config.max_block_pairs, key)
    n_u = con.execute("SELECT count(*) FROM link_nodes WHERE grp = 'U'").fetchall()[0][0]
    if n_u:
        _score(con, config, key)
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE link_edges AS {_NO_EDGES}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _kept_edges AS {_NO_EDGES}")
    for i in range(len(BLOCKS)):
        con.execute(f"DROP TABLE _big_{i}")
    fresh, kept = one(
        con,
        "SELECT (SELECT count(*) FROM link_nodes WHERE fresh), (SELECT count(*) FROM _kept_edges)",
    )
    cache.save(con, key)
    load_decisions(con, decisions)
    assign(con, config.thresholds.link, config.thresholds.review)
    merged = _write(con, secret, whole)
    result = _result(con)
    result.fresh, result.cached_pairs, result.merged = int(fresh), int(kept), merged
    return result


def _cap(con: duckdb.DuckDBPyConnection, max_pairs: int, key: str) -> None:
    """The temp table `link_nodes`: the nodes a pair can be made of (every U node, and the R
    nodes sharing some block with one: a pair always has a U side, see U_PAIR), each marked,
    per blocking rule, when its block has more than `max_pairs` pairs (the rule skips it,
    see hub.link.model.BLOCKS), and `fresh` when scored pairs of it are not cached
    (hub.link.cache). `_capped` lists each U node's first capped block. The `_big_<i>`
    tables (the blocks over the cap) stay for `_train_on_all`, which reads every node.

    Blocks are known by the hash each node keeps of them (hub.link.nodes): a city's
    millions of nodes are matched and counted on one integer column per rule, not on their
    keys. Only blocks holding a U node are counted (no other block makes a pair); two
    blocks sharing a hash (odds near 10^-13 per block) would count as one."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _u_blocks AS SELECT DISTINCT h FROM ("
        + " UNION ALL ".join(
            f"SELECT {c} AS h FROM {NODE_BASE} WHERE grp = 'U'" for c in BLOCK_HASHES
        )
        + ") WHERE h IS NOT NULL"
    )
    # every node of those blocks, by rule: read once for both the blocks' sizes and the nodes
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _in_u_blocks AS "
        + " UNION ALL ".join(
            f"SELECT unique_id, {i} AS i, {c} AS h FROM {NODE_BASE} SEMI JOIN _u_blocks u ON u.h = {c}"
            for i, c in enumerate(BLOCK_HASHES)
        )
    )
    for i in range(len(BLOCK_HASHES)):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _big_{i} AS SELECT h, count(*) AS n FROM _in_u_blocks "
            f"WHERE i = {i} GROUP BY h HAVING count(*) * (count(*) - 1) // 2 > {int(max_pairs)}"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _pairable AS SELECT unique_id FROM {NODE_BASE} "
        "WHERE grp = 'U' UNION SELECT unique_id FROM _in_u_blocks"
    )
    where = "unique_id IN (SELECT unique_id FROM _pairable)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE link_nodes AS {_marked_sql(where, key)}")
    con.execute("DROP TABLE _u_blocks; DROP TABLE _in_u_blocks; DROP TABLE _pairable")
    first = " ".join(f"WHEN {c} THEN {lit(BLOCKS[i][0])}" for i, c in enumerate(CAPPED))
    size = " ".join(f"WHEN {c} THEN _size_{i}" for i, c in enumerate(CAPPED))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _capped AS SELECT unique_id, "
        f"CASE {first} END AS block, CASE {size} END AS block_rows "
        f"FROM link_nodes WHERE grp = 'U' AND ({' OR '.join(CAPPED)})"
    )


def _marked_sql(where: str, key: str) -> str:
    """What the model and the caches read of the kept nodes `n` matching `where` (not the
    names and addresses review shows), marked with their blocks' sizes over the cap
    (`_big_<i>`, from `_cap`), the caps, and freshness under model `key`.

    A node's `sig` here covers its caps too: when a block grows past the cap or shrinks
    below it, its nodes are fresh, so pairs it now allows are scored (as a rebuild would)."""
    joins = " ".join(
        f"LEFT JOIN _big_{i} b{i} ON b{i}.h = n.{c}" for i, c in enumerate(BLOCK_HASHES)
    )
    sizes = ", ".join(f"coalesce(b{i}.n, 0) AS _size_{i}" for i in range(len(BLOCKS)))
    capped = ", ".join(f"_size_{i} > 0 AS {c}" for i, c in enumerate(CAPPED))
    return (
        f"SELECT n.* EXCLUDE (_sig), {cache.FRESH} AS fresh FROM (SELECT *, {capped}, "
        f"hash(_sig, {', '.join(CAPPED)}) AS sig FROM (SELECT "
        f"{', '.join('n.' + c for c in MODEL_COLUMNS)}, n.sig AS _sig, {sizes} "
        f"FROM (FROM {NODE_BASE} WHERE {where}) n {joins})) n {cache.sigs_join(key)}"
    )


def _score(con: duckdb.DuckDBPyConnection, config: LinkageConfig, key: str) -> None:
    """Score candidate pairs into the temp table `link_edges`: the cached pairs of unchanged
    nodes, and Splink's scores of the pairs with a fresh node (see hub.link.cache). The model
    is trained on the rows the ID links the first time, then kept.

    Splink works in an in-memory database attached to the warehouse's own: under the same
    memory limit and spill folder, with no copy through Arrow, and none of its tables reach
    the warehouse file (the database is detached afterwards)."""
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.WARNING)
    model = cache.stored_model(con, key)
    fresh = one(con, "SELECT count(*) FROM link_nodes WHERE fresh")[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _kept_edges AS {cache.kept_edges_sql(key)}")
    con.execute(f"ATTACH ':memory:' AS {_WORK}")
    sc = con.cursor()
    try:
        sc.execute(f"USE {_WORK}")
        api = DuckDBAPI(sc)
        if model is None:
            model = _train_on_all(con, api, config, key)
            cache.store_model(con, key, model, f"{_WORK}.nodes_all")
        if fresh:
            cache.splink_input(con, f"{_WORK}.nodes")
            con.execute(f"CREATE TABLE {_WORK}.tf AS {cache.tf_sql(key, f'{_WORK}.nodes')}")
            linker = Linker(
                api.register("nodes", table_name="link_nodes"),
                fresh_only(model),
                log_level=logging.WARNING,
            )
            linker.table_management.register_term_frequency_lookup(
                api.register("tf", table_name="link_tf"), "name_s"
            )
            pred = linker.inference.predict(
                threshold_match_probability=config.thresholds.review, warning_mode="never"
            )
            new = f"{_WORK}.{pred.physical_name}"
        else:
            new = None
        con.execute(
            "CREATE OR REPLACE TEMP TABLE link_edges AS SELECT * FROM _kept_edges"
            + (f" UNION ALL {_edges_sql(model, config, new)}" if new else "")
        )
    finally:
        sc.close()
        con.execute(f"DETACH {_WORK}")


def _edges_sql(model: dict[str, Any], config: LinkageConfig, pred: str) -> str:
    # twins and siblings share birth date, address and household: names that differ
    # outright, or only nearly agree while the IDs differ, are never linked on the other
    # facts alone; such a pair waits in review instead (levels: see hub.link.model)
    differ = "(gamma_name = 0 OR (gamma_name = 1 AND gamma_id_text = 0))"
    review = config.thresholds.review
    return (
        f"SELECT unique_id_l AS a, unique_id_r AS b, "
        f"CASE WHEN {differ} THEN least(match_probability, {review}) ELSE match_probability END AS p, "
        f"CASE WHEN {differ} THEN least(match_weight, 0) ELSE match_weight END AS w, "
        f"{_evidence_sql(model)} || CASE WHEN {differ} THEN '；姓名与身份证号不足以确认，须人工确认' ELSE '' END "
        f"AS evidence FROM {pred}"
    )


def fresh_only(model: dict[str, Any]) -> dict[str, Any]:
    """The model with each blocking rule kept to pairs with a fresh node."""
    out = dict(model)
    out["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": f"{rule} AND (l.fresh OR r.fresh)", "sql_dialect": "duckdb"}
        for rule in BLOCKING_RULES
    ]
    return out


def _train_on_all(
    con: duckdb.DuckDBPyConnection, api: Any, config: LinkageConfig, key: str
) -> dict[str, Any]:
    """Train on every node (u) and on rows sharing a trusted ID (m): the first run's model."""
    cols = ", ".join(MODEL_COLUMNS)
    con.execute(
        f"CREATE TABLE {_WORK}.nodes_all AS SELECT {cols}, {', '.join(CAPPED)} "
        f"FROM ({_marked_sql('true', key)})"
    )
    # known matches: rows sharing a trusted ID, at most TRAIN_PER_ID of each (pairs grow
    # with the square: one ID on a thousand rows must not dominate or exhaust the training)
    train_cols = (
        "record_key AS unique_id, 'T' AS grp, "
        + cols.replace("unique_id, grp, ", "").replace(
            ", phones", ", CASE WHEN phone IS NOT NULL THEN [phone] END AS phones"
        )
        + "".join(f", false AS {c}" for c in CAPPED)
    )
    con.execute(f"CREATE TABLE {_WORK}.train AS {training_rows(train_cols)}")
    n, n_train = one(
        con,
        f"SELECT (SELECT count(*) FROM {_WORK}.nodes_all), (SELECT count(*) FROM {_WORK}.train)",
    )
    n_u = con.execute("SELECT count(*) FROM link_nodes WHERE grp = 'U'").fetchall()[0][0]
    prior = min(0.5, n_u / max(1, n * (n - 1) / 2))
    return _train(api, n_train, prior, config)


def training_rows(columns: str) -> str:
    """SQL of `columns` of the rows `link_features` (alias f) gives the m training: rows
    sharing a trusted ID, at most TRAIN_PER_ID of each, the first by record key."""
    return (
        "WITH c AS (SELECT id_text, count(*) AS n FROM link_features WHERE trusted "
        f"GROUP BY 1 HAVING count(*) > 1) SELECT {columns} FROM link_features f "
        "JOIN c USING (id_text) WHERE f.trusted "
        # only the few IDs on more rows need their rows numbered (a window sorts each ID)
        f"AND (c.n <= {TRAIN_PER_ID} OR f.record_key IN (SELECT record_key FROM link_features "
        f"WHERE trusted AND id_text IN (SELECT id_text FROM c WHERE n > {TRAIN_PER_ID}) "
        f"QUALIFY row_number() OVER (PARTITION BY id_text ORDER BY record_key) <= {TRAIN_PER_ID}))"
    )


def _train(api: Any, n_train: int, prior: float, config: LinkageConfig) -> dict[str, Any]:
    """u on the nodes (one per person: random pairs are almost never a match), m on rows
    sharing a trusted ID (known matches)."""
    from splink import Linker

    quiet = logging.WARNING
    linker = Linker(
        api.register("nodes_all", table_name="link_u"), settings(prior), log_level=quiet
    )
    # one pass over the sampled pairs: Splink's chunks (ten, after a probe of a tenth of
    # one) spare memory on samples of billions of pairs, and on ours only repeat the SQL
    linker.training.estimate_u_using_random_sampling(
        max_pairs=config.u_sample_pairs, seed=7, num_chunks=1
    )
    model: dict[str, Any] = linker.misc.save_model_to_json()
    if n_train >= 2:
        linker = Linker(api.register("train", table_name="link_training"), model, log_level=quiet)
        linker.training.estimate_m_from_label_column("id_text")
        model = linker.misc.save_model_to_json()
    model["retain_matching_columns"] = True  # the levels (gamma) are each link's evidence
    return apply_priors(model, config)


def _evidence_sql(model: dict[str, Any]) -> str:
    """The decisive levels of a scored pair in Chinese, from its gamma columns."""
    parts = []
    for column, labels in level_labels(model).items():
        whens = " ".join(f"WHEN {g} THEN {lit(label)}" for g, label in labels.items())
        parts.append(f"CASE gamma_{column} {whens} END")
    return f"concat_ws('；', {', '.join(parts)})"


def _write(con: duckdb.DuckDBPyConnection, secret: str, whole: bool) -> int:
    """core.links (whole, or the rows whose link may have changed) and what review reads;
    returns how many persons were merged into others."""
    incremental = not whole and table_exists(con, "core", "links")
    if incremental:  # the nodes whose person may change: every U node, and what changed
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _id_seeds AS SELECT unique_id FROM link_nodes "
            f"WHERE grp = 'U' UNION SELECT record_key FROM {CHANGED_KEYS} UNION "
            f"SELECT 'id:' || id_text FROM {TOUCHED_IDS} UNION SELECT a FROM link_decisions "
            "UNION SELECT b FROM link_decisions"
        )
    merges = assign_ids(con, secret, "_id_seeds" if incremental else None)
    redo = None
    if incremental:
        redo = "_links_redo"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {redo} AS SELECT record_key FROM {CHANGED_KEYS} "
            "UNION SELECT record_key FROM link_features WHERE NOT trusted "
            "UNION SELECT f.record_key FROM link_features f SEMI JOIN link_person_changed c "
            "ON c.unique_id = 'id:' || f.id_text WHERE f.trusted"
        )
        con.execute(
            f"DELETE FROM core.links WHERE record_key IN (SELECT record_key FROM {redo}) OR "
            f"record_key IN (SELECT record_key FROM link_dups WHERE rep IN (SELECT record_key FROM {redo}))"
        )
    into = "INSERT INTO core.links" if redo else "CREATE OR REPLACE TABLE core.links AS"
    rows, c = "(FROM link_features)", "link_clusters k JOIN link_person p USING (unique_id)"
    if redo:  # the rows to redo, and only the nodes they go to (not every node's person)
        rows = f"(FROM link_features WHERE record_key IN (SELECT record_key FROM {redo}))"
        c += (
            " WHERE unique_id IN (SELECT CASE WHEN trusted THEN 'id:' || id_text "
            "ELSE record_key END FROM _redo_rows)"
        )
    con.execute(
        f"{into} "
        f"WITH _redo_rows AS {'MATERIALIZED ' if redo else ''}{rows}, c AS (SELECT k.*, p.person_id FROM {c}) "
        "SELECT f.source, f.batch_id, f.source_row, f.record_key, r.person_id, "
        "CASE WHEN f.trusted THEN f.id_text END AS citizen_id, "
        "CASE WHEN f.trusted THEN 'id' ELSE u.method END AS method, "
        "CASE WHEN f.trusted THEN 1.0 ELSE u.p END AS match_probability, "
        "CASE WHEN f.trusted THEN '身份证号码有效，且与本行出生日期、性别一致' "
        "WHEN f.id_doubt IS NOT NULL THEN f.id_doubt || '；' || coalesce(u.evidence, '未找到与之相符的居民') "
        "ELSE u.evidence END AS evidence, "
        "CASE WHEN f.trusted THEN NULL ELSE u.via END AS matched_to "
        "FROM _redo_rows f "
        "LEFT JOIN c u ON u.unique_id = f.record_key AND NOT f.trusted "
        "JOIN c r ON r.unique_id = CASE WHEN f.trusted THEN 'id:' || f.id_text ELSE f.record_key END"
    )
    con.execute(  # each duplicate row goes where the row it repeats went
        "INSERT INTO core.links SELECT l.source, l.batch_id, "
        "d.source_row, d.record_key, l.person_id, "
        "l.citizen_id, l.method, l.match_probability, "
        "'与同一文件第 ' || d.rep_row || ' 行完全相同（重复行），随该行关联' AS evidence, d.rep "
        "FROM link_dups d JOIN core.links l ON l.record_key = d.rep"
        + (f" WHERE d.rep IN (SELECT record_key FROM {redo})" if redo else "")
    )
    links_redone(
        con,
        f"SELECT record_key FROM {redo} UNION ALL "
        f"SELECT record_key FROM link_dups WHERE rep IN (SELECT record_key FROM {redo})"
        if redo
        else None,
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.link_capped AS SELECT c.unique_id AS record_key, "
        "l.source, l.batch_id, l.source_row, c.block, c.block_rows FROM _capped c "
        "JOIN core.links l ON l.record_key = c.unique_id WHERE l.method = 'alone' "
        "ORDER BY l.source, l.batch_id, l.source_row"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.review_queue AS SELECT "
        f"substr(sha256({lit(secret)} || a || '~' || b), 1, 10) AS pair_id, a, b, "
        "round(p, 4) AS match_probability, evidence FROM link_review ORDER BY p DESC, a, b"
    )
    return merges


def _result(con: duckdb.DuckDBPyConnection) -> LinkResult:
    counts = dict(con.execute("SELECT method, count(*) FROM core.links GROUP BY method").fetchall())
    # a person per cluster (hub.link.identity): each R node is one, the U nodes' own
    # clusters are the rest (counting the persons of a city's links hashes millions of ids)
    persons, rows, pairs, dups, capped = con.execute(
        "SELECT (SELECT count(*) FROM link_clusters WHERE unique_id LIKE 'id:%') + (SELECT "
        "count(DISTINCT cluster) FROM link_clusters WHERE cluster NOT LIKE 'id:%'), "
        "(SELECT count(*) FROM core.links), "
        "(SELECT count(*) FROM core.review_queue), (SELECT count(*) FROM core.link_duplicates), "
        "(SELECT count(*) FROM core.link_capped)"
    ).fetchall()[0]
    return LinkResult(
        rows=rows,
        by_id=counts.get("id", 0),
        probabilistic=counts.get("probabilistic", 0),
        reviewed=counts.get("review", 0),
        alone=counts.get("alone", 0),
        persons=persons,
        review_pairs=pairs,
        duplicates=dups,
        capped=capped,
    )


def _empty_outputs(con: duckdb.DuckDBPyConnection) -> None:
    links_redone(con, None)
    con.execute(
        "CREATE OR REPLACE TABLE core.links (source VARCHAR, batch_id VARCHAR, source_row INTEGER, "
        "record_key VARCHAR, person_id VARCHAR, citizen_id VARCHAR, method VARCHAR, "
        "match_probability DOUBLE, evidence VARCHAR, matched_to VARCHAR)"
    )
    for table in (FEATURES, BATCHES, NODE_BASE):  # nothing kept: the next run starts whole
        con.execute(f"DROP TABLE IF EXISTS {table}")
    drop_review(con)
    con.execute(
        "CREATE OR REPLACE TABLE core.link_nodes (unique_id VARCHAR, grp VARCHAR, id_text VARCHAR, "
        "name VARCHAR, birth VARCHAR, gender VARCHAR, phone VARCHAR, address VARCHAR, sources VARCHAR[])"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.review_queue (pair_id VARCHAR, a VARCHAR, b VARCHAR, "
        "match_probability DOUBLE, evidence VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.link_duplicates (record_key VARCHAR, source_row INTEGER, "
        "rep VARCHAR, rep_row INTEGER)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.link_capped (record_key VARCHAR, source VARCHAR, "
        "batch_id VARCHAR, source_row INTEGER, block VARCHAR, block_rows BIGINT)"
    )
