"""Code lists that know real exports: hub codes unknown lists what no list reads, hub codes add
records a spelling so the next run accepts it; spellings seen in real files are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.registry.errors import RegistryError
from hub.registry.loader import load_registry
from tests.conftest import SCHEMAS, Run, copy_schemas, hub_cli
from tests.test_form import copy_run


@pytest.mark.parametrize(
    ("codelist", "spelling", "code"),
    [
        ("relation_to_head", "儿子", "20"),
        ("relation_to_head", "次女", "30"),
        ("assistance_type", "农村低保户", "02"),
        ("yes_no", "√", "1"),
        ("yes_no", "无", "0"),
        ("relation_to_head", "外孙女", "40"),
        ("relation_to_head", "儿媳", "80"),
        ("relation_to_head", "爱人", "10"),
        ("assistance_type", "农村低保对象", "02"),
        ("yes_no", "✓", "1"),
        ("yes_no", "没有", "0"),
    ],
)
def test_spellings_seen_in_real_exports_are_read(codelist: str, spelling: str, code: str):
    from hub.registry.models import normalize_code_key

    reg = load_registry(SCHEMAS)
    assert reg.codelists[codelist].lookup()[normalize_code_key(spelling)] == code


def test_unknown_values_listed_and_added(sample_run: Run, tmp_path: Path):
    s = copy_run(sample_run, tmp_path / "data")
    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    unknown = json.loads(hub_cli(["codes", "unknown", "--json"], s.data, schemas).stdout)
    assert unknown and all(r["rows"] >= 1 and r["sources"] for r in unknown)
    assert [r["rows"] for r in unknown] == sorted((r["rows"] for r in unknown), reverse=True)
    target = unknown[0]
    listed, value = target["codelist"], target["value"]
    code = load_registry(SCHEMAS).codelists[listed].entries[-1].code  # 其他, 90 and the like
    added = hub_cli(["codes", "add", listed, value, "--as", code, "--json"], s.data, schemas)
    assert json.loads(added.stdout)["added"] is True
    again = hub_cli(["codes", "add", listed, value, "--as", code], s.data, schemas)
    assert "无需登记" in again.stdout
    wrong = hub_cli(["codes", "add", "gender", "男", "--as", "2"], s.data, schemas, check=False)
    assert wrong.returncode == 2 and "已表示 1" in wrong.stderr
    missing = hub_cli(["codes", "add", "gender", "x", "--as", "7"], s.data, schemas, check=False)
    assert missing.returncode == 2 and "没有代码 '7'" in missing.stderr

    hub_cli(["run"], s.data, schemas)
    after = json.loads(hub_cli(["codes", "unknown", "--json"], s.data, schemas).stdout)
    assert not [r for r in after if (r["codelist"], r["value"]) == (listed, value)]
    assert len(after) == len(unknown) - 1


def test_a_bad_synonym_file_is_a_load_error_naming_file_and_key(tmp_path: Path):
    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    (schemas / "code_synonyms.yaml").write_text("gender:\n  公: '7'\n", encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(schemas)
    assert "code_synonyms.yaml" in str(err.value) and "gender.公" in str(err.value)
    (schemas / "code_synonyms.yaml").write_text("nolist:\n  公: '1'\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="nolist"):
        load_registry(schemas)
