"""The `hub` command as a user meets it: status JSON, readable errors, the sensor's decision."""

from __future__ import annotations

import json

import dagster as dg

from pipelines.definitions import build_definitions
from tests.conftest import hub_cli


def test_status_json_lists_every_source_before_anything_ran(tmp_path, registry):
    doc = json.loads(hub_cli(["status", "--json"], tmp_path).stdout)
    assert {s["source"] for s in doc["sources"]} == set(registry.sources)
    assert doc["persons"] == 0 and doc["published"] is None


def test_status_after_a_run_counts_batches_rows_and_quarantine(sample_run):
    doc = json.loads(hub_cli(["status", "--json"], sample_run.data).stdout)
    assert sum(s["rows"] for s in doc["sources"]) == len(sample_run.truth_rows)
    assert sum(s["quarantine"] for s in doc["sources"]) > 0
    assert doc["persons"] == len({r["citizen_id"] for r in sample_run.truth_rows})
    assert doc["published"]["release"] == 1


def test_broken_registry_is_a_chinese_error_not_a_traceback(hub_home):
    path = hub_home.schemas / "sources" / "tuiyi_veterans.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("field: enlist_date", "field: enlist_day"),
        encoding="utf-8",
    )
    proc = hub_cli(["status"], hub_home.data, hub_home.schemas, check=False)
    assert proc.returncode == 2
    assert "tuiyi_veterans.yaml" in proc.stderr and "enlist_day" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rejected_file_makes_run_exit_non_zero_with_the_file_named(hub_home):
    (hub_home.incoming / "残联_持证残疾人花名册_202510.xlsx").write_bytes(b"broken")
    proc = hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas, check=False)
    assert proc.returncode == 1
    assert "残联_持证残疾人花名册_202510.xlsx" in proc.stdout and "拒收" in proc.stdout


def test_sensor_requests_a_run_only_when_registered_files_wait(hub_home):
    defs = build_definitions(schemas=hub_home.schemas, data=hub_home.data)
    sensor = defs.resolve_sensor_def("incoming_files")
    resources = {"hub": defs.resources["hub"]}
    assert not sensor(dg.build_sensor_context(resources=resources)).run_requests
    (hub_home.incoming / "退役军人_信息采集表_202511.csv").write_text(
        "姓名\n张三\n", encoding="utf-8"
    )
    requests = sensor(dg.build_sensor_context(resources=resources)).run_requests
    assert len(requests) == 1 and requests[0].run_key
