"""`hub bench linkage`: the hub's linkage against a generic Splink model, same data, same run.

The records (hub.link.synth) are written once; each side then runs in a fresh process so
its seconds and peak memory are its own, starting from the same department strings:
- hub: the hub's normalization (the staging macros), ID links, then the Chinese-aware model;
- baseline: Splink with generic comparisons on the raw columns, trained the usual way
  (random-sample u, EM), clustered at the same threshold.
Both are scored pairwise against the truth: of the record pairs put in one person, how many
are one resident (precision); of the pairs that are one resident, how many were found.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hub.registry.loader import Registry, load_registry

# the staging macros applied to the department strings: the same normalization `hub run` does
NORMALIZE_SQL = """
SELECT r.record_key, r.source, '1' AS batch_id, CAST(r.source_row AS INTEGER) AS source_row,
  hub_id18(r.citizen_id) AS id_text, hub_name(r.name) AS name, hub_date(r.birth_date) AS birth_date,
  g.code AS gender, hub_phone(r.phone) AS phone, hub_clean(r.current_address) AS address,
  hub_name(r.household_head_name) AS head_name
FROM records r LEFT JOIN hub_codes g ON g.codelist = 'gender' AND g.key = hub_code_key(r.gender)
"""
TRUST_SQL = """
SELECT *, coalesce(id_text IS NOT NULL AND hub_id_problem(id_text) IS NULL
  AND (birth_date IS NULL OR birth_date = hub_id_birth(id_text))
  AND (gender IS NULL OR gender = hub_id_gender(id_text)), false) AS trusted,
  hash(record_key) AS row_hash FROM normalized
"""


def run_linkage_bench(schemas: Path, records: int, seed: int) -> dict[str, Any]:
    from hub.link.synth import generate_records

    registry = load_registry(schemas)
    root = Path(tempfile.mkdtemp(prefix="hub-bench-link-"))
    try:
        sample = generate_records(registry, records, seed)
        pq.write_table(sample.records, root / "records.parquet")
        truth = pa.table({"record_key": list(sample.truth), "person": list(sample.truth.values())})
        out: dict[str, Any] = {"records": sample.records.num_rows, "residents": sample.residents}
        ctx = mp.get_context("spawn")  # a fresh interpreter: memory and time of one side only
        for side in ("hub", "baseline"):
            with ctx.Pool(1) as pool:
                figures = pool.apply(_side, (side, str(schemas), str(root)))
            out[side] = {**_score(root / f"{side}.parquet", truth), **figures}
        out["f1_gain"] = round(out["hub"]["f1"] - out["baseline"]["f1"], 4)
        out["time_ratio"] = round(out["hub"]["seconds"] / out["baseline"]["seconds"], 2)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _side(side: str, schemas: str, root: str) -> dict[str, Any]:
    registry = load_registry(Path(schemas))
    records = pq.read_table(Path(root) / "records.parquet")
    with duckdb.connect() as con:
        con.register("records", records)
        t = time.perf_counter()
        table = hub_linkage(con, registry) if side == "hub" else baseline_linkage(con)
        seconds = time.perf_counter() - t
    pq.write_table(table, Path(root) / f"{side}.parquet")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(rss, 1)}


def hub_linkage(con: duckdb.DuckDBPyConnection, registry: Registry) -> pa.Table:
    """record_key -> person, the hub's way, from the table `records` of department strings."""
    from hub.link.feature_store import keep
    from hub.link.features import build_features
    from hub.link.run import link_features
    from hub.normalize.lookups import load_lookups
    from hub.normalize.macros import register_macros

    register_macros(con)
    load_lookups(con, registry)
    con.sql("CREATE SCHEMA IF NOT EXISTS core")
    con.execute(f"CREATE TEMP TABLE normalized AS {NORMALIZE_SQL}")
    build_features(con, TRUST_SQL)
    keep(con)
    link_features(con, registry.linkage, Path("/nonexistent/decisions.jsonl"), "bench")
    return con.sql("SELECT record_key, person_id AS person FROM core.links").to_arrow_table()


def baseline_linkage(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """record_key -> person with Splink's generic comparisons on the raw strings."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    con.sql(
        "CREATE TABLE base_input AS SELECT record_key AS unique_id, citizen_id, name, gender, "
        "birth_date, phone, current_address AS address, household_head_name AS head FROM records"
    )
    api = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("citizen_id"),
            block_on("name", "birth_date"),
            block_on("phone"),
            block_on("name", "address"),
        ],
        comparisons=[
            cl.LevenshteinAtThresholds("citizen_id", [1, 2]),
            cl.JaroWinklerAtThresholds("name", [0.9, 0.8]),
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
            cl.ExactMatch("head"),
        ],
    )
    linker = Linker(api.register("base_input"), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("citizen_id")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "birth_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("citizen_id"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95)
    return con.sql(
        f"SELECT unique_id AS record_key, CAST(cluster_id AS VARCHAR) AS person "
        f"FROM {clusters.physical_name}"
    ).to_arrow_table()


def pair_scores(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Pairwise precision, recall and F1 of `assigned(record_key, person)` against
    `truth(record_key, person)`."""
    tp, predicted, true = con.execute(
        "WITH j AS (SELECT a.person AS pp, t.person AS tp FROM assigned a JOIN truth t USING (record_key)), "
        "cell AS (SELECT count(*) AS n FROM j GROUP BY pp, tp), "
        "pc AS (SELECT count(*) AS n FROM j GROUP BY pp), tc AS (SELECT count(*) AS n FROM j GROUP BY tp) "
        "SELECT (SELECT sum(n * (n - 1) / 2) FROM cell), (SELECT sum(n * (n - 1) / 2) FROM pc), "
        "(SELECT sum(n * (n - 1) / 2) FROM tc)"
    ).fetchall()[0]
    precision = float(tp) / float(predicted) if predicted else 1.0
    recall = float(tp) / float(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _score(path: Path, truth: pa.Table) -> dict[str, float]:
    with duckdb.connect() as con:
        con.register("assigned", pq.read_table(path))
        con.register("truth", truth)
        return pair_scores(con)


if __name__ == "__main__":  # for a quick look: python -m hub.link.bench 20000
    import sys

    print(json.dumps(run_linkage_bench(Path("schemas"), int(sys.argv[1]), 7), indent=2))
