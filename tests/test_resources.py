"""What the warehouse may use of the machine: from configuration, the environment winning."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hub.resources import Resources, ResourcesError
from hub.run_lock import RunInProgress
from hub.warehouse import connect, release_cache


def _settings(con) -> tuple[str, str, str, str]:
    return con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads')::VARCHAR, "
        "current_setting('temp_directory'), current_setting('block_allocator_memory')"
    ).fetchall()[0]


def test_configuration_then_environment_set_the_connection(tmp_path: Path):
    schemas, data = tmp_path / "schemas", tmp_path / "data"
    schemas.mkdir()
    (schemas / "resources.yaml").write_text("memory_mb: 1500\nthreads: 1\n", encoding="utf-8")
    res = Resources.load(schemas, data, env={"HUB_MEMORY_MB": "1200", "HUB_SPILL_DIR": "tmp"})
    assert (res.memory_mb, res.threads, res.spill_dir) == (1200, 1, (data / "tmp").resolve())
    con = connect(data / "warehouse.duckdb", resources=res)
    memory, threads, spill, pool = _settings(con)
    # 1200 MB, as DuckDB prints it; the buffer pool it keeps for reuse is as large
    assert (memory, threads, spill) == ("1.1 GiB", "1", str(res.spill_dir))
    assert pool == memory
    con.close()


def test_a_second_connection_with_a_smaller_limit_still_opens(tmp_path: Path):
    """The buffer pool of a database already open in this process can only grow."""
    path = tmp_path / "warehouse.duckdb"
    first = connect(path, resources=Resources(1500, 2, tmp_path / "spill"))
    second = connect(path, resources=Resources(600, 2, tmp_path / "spill"))
    assert _settings(second)[0] == "572.2 MiB"
    second.execute("CREATE TABLE t AS SELECT range AS i FROM range(10)")
    assert first.execute("SELECT count(*) FROM t").fetchall() == [(10,)]
    first.close()
    second.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("memory_mb: lots\n", "memory_mb 应为正整数，现为「lots」"),
        ("threads: 0\n", "threads 应为正整数，现为「0」"),
        ("memry_mb: 100\n", "不认识的键 memry_mb"),
    ],
)
def test_a_bad_setting_is_named_in_chinese(tmp_path: Path, text: str, message: str):
    (tmp_path / "resources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ResourcesError, match=message):
        Resources.load(tmp_path, tmp_path / "data", env={})


def test_tables_are_stored_in_row_groups_both_cores_share(tmp_path: Path):
    """DuckDB splits a scan among threads by row group: a district-sized table must have
    several, and every connection of the process sees the one warehouse."""
    path, res = tmp_path / "warehouse.duckdb", Resources(600, 2, tmp_path / "spill")
    con = connect(path, resources=res)
    con.execute("CREATE TABLE raw.t AS SELECT range AS i FROM range(100000)")
    groups = "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('raw.t')"
    assert con.execute(groups).fetchall() == [(4,)]  # 100,000 rows in groups of 32,768
    other = connect(path, resources=res)
    assert other.execute("SELECT count(*) FROM raw.t").fetchall() == [(100000,)]
    other.close()
    con.close()
    reopened = connect(path, read_only=True, resources=res)
    assert reopened.execute(groups).fetchall() == [(4,)]
    with pytest.raises(RunInProgress, match="只读"):
        connect(path, resources=res)
    reopened.close()


def _reopened_with_a_table(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse (limit 600 MB) holding raw.t, 3 million rows, opened anew: nothing cached."""
    path, res = tmp_path / "warehouse.duckdb", Resources(600, 2, tmp_path / "spill")
    con = connect(path, resources=res)
    con.execute("CREATE TABLE raw.t AS SELECT md5(range::VARCHAR) AS s FROM range(3000000)")
    con.close()
    con = connect(path, resources=res)
    return con


def test_released_cache_lets_go_of_blocks_and_keeps_the_limit(tmp_path: Path):
    """Between stages the pool drops the table blocks it cached; its limit is as set."""
    con = _reopened_with_a_table(tmp_path)
    used = "SELECT sum(memory_usage_bytes) // 2**20 FROM duckdb_memory()"
    assert con.execute("SELECT count(DISTINCT s) FROM raw.t").fetchall() == [(3000000,)]
    cached = con.execute(used).fetchall()[0][0]
    release_cache(con, keep_mb=16)
    assert con.execute(used).fetchall()[0][0] < min(16, cached)
    assert cached > 40
    assert _settings(con)[0] == "572.2 MiB"
    con.close()


def test_released_cache_keeps_the_temp_tables_the_next_step_reads(tmp_path: Path):
    con = _reopened_with_a_table(tmp_path)
    con.execute("CREATE TEMP TABLE kept AS SELECT s || s AS s FROM raw.t LIMIT 1000000")
    usage = "SELECT tag, memory_usage_bytes // 2**20, temporary_storage_bytes FROM duckdb_memory()"
    before = {tag: (mb, spilled) for tag, mb, spilled in con.execute(usage).fetchall()}
    release_cache(con, keep_mb=16)
    after = {tag: (mb, spilled) for tag, mb, spilled in con.execute(usage).fetchall()}
    assert before["IN_MEMORY_TABLE"][0] > 40
    assert after["IN_MEMORY_TABLE"] == (before["IN_MEMORY_TABLE"][0], 0)  # not spilled
    assert after["BASE_TABLE"][0] < min(16, before["BASE_TABLE"][0])
    con.close()
