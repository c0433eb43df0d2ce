"""The registries load, cover DESIGN's core elements, and a broken one fails with file and entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hub.registry import RegistryError, load_registry
from hub.registry.files import DEFAULTS
from hub.settings import Settings
from tests.conftest import SCHEMAS

CORE_FIELDS = [
    "citizen_id",
    "name",
    "former_name",
    "gender",
    "birth_date",
    "ethnicity",
    "phone",
    "current_address",
    "registered_address",
    "hukou_type",
    "household_id",
    "household_head_name",
    "household_head_id",
    "relation_to_head",
    "marital_status",
    "education",
    "political_status",
    "health_status",
    "employment_status",
    "employer",
    "community_code",
    "grid_code",
    "disability_cert_no",
    "disability_type",
    "disability_level",
    "assistance_type",
    "assistance_cert_no",
    "household_size",
    "monthly_income",
    "veteran_category",
    "enlist_date",
    "discharge_date",
    "pension_insurance",
    "medical_insurance",
    "bank_name",
    "bank_account",
    "emergency_contact",
    "emergency_phone",
    "living_alone",
    "self_care_ability",
]


def test_every_core_field_is_registered_with_label_and_sensitivity(registry):
    missing = [f for f in CORE_FIELDS if f not in registry.fields]
    assert missing == []
    assert registry.fields["bank_account"].sensitivity == "sensitive"
    assert registry.fields["citizen_id"].label == "公民身份号码"


def test_code_lists_know_real_world_spellings(registry):
    gender = registry.codelists["gender"].lookup()
    assert gender["男"] == gender["男性"] == gender["1"] == gender["MALE"] == "1"
    assert registry.codelists["ethnicity"].lookup()["汉"] == "01"
    assert len([e for e in registry.codelists["ethnicity"].entries if int(e.code) <= 56]) == 56
    for name in (
        "marital_status",
        "health_status",
        "employment_status",
        "relation_to_head",
        "education",
        "political_status",
        "disability_type",
        "disability_level",
    ):
        assert registry.codelists[name].entries, name


def test_org_tree_has_streets_communities_and_grids(registry):
    orgs = registry.orgs
    assert len(orgs.streets) >= 3
    assert len(orgs.communities) >= 12
    assert all(len(c.grids) >= 1 for c in orgs.communities)


def test_six_sources_from_five_departments(registry):
    assert len(registry.sources) >= 6
    assert len({s.department for s in registry.sources.values()}) >= 5


def _break(hub_home: Settings, rel: str, edit) -> RegistryError:
    path = hub_home.schemas / rel
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        load_registry(hub_home.schemas)
    return info.value


def test_unknown_field_in_source_names_file_column_and_allowed(hub_home):
    err = _break(
        hub_home, "sources/minzheng_dibao.yaml", lambda d: d["columns"][2].update(field="nmae")
    )
    assert "minzheng_dibao.yaml" in str(err)
    assert "家庭成员信息/姓名" in str(err) and "nmae" in str(err) and "允许" in str(err)


def test_bad_normalizer_for_type_is_rejected(hub_home):
    def edit(d):
        next(f for f in d["fields"] if f["name"] == "birth_date")["normalize"] = "phone"

    err = _break(hub_home, "fields.yaml", edit)
    assert "fields.yaml" in str(err) and "birth_date" in str(err) and "允许" in str(err)


def test_unknown_rule_kind_lists_allowed_kinds(hub_home):
    def edit(d):
        d["fields"][0]["rules"].append({"kind": "checksum", "severity": "error"})

    err = _break(hub_home, "fields.yaml", edit)
    assert "citizen_id" in str(err) and "checksum" in str(err) and "required" in str(err)


def test_code_spelling_claimed_by_two_codes_is_rejected(hub_home):
    err = _break(
        hub_home, "codelists/gender.yaml", lambda d: d["entries"][1]["synonyms"].append("男性")
    )
    assert "gender.yaml" in str(err) and "男性" in str(err)


def test_missing_registry_file_is_named(tmp_path: Path):
    # generic registries come from the package; only the district's tree is its own
    with pytest.raises(RegistryError, match=r"orgunits\.yaml.*文件不存在"):
        load_registry(tmp_path)


def test_a_deployment_holds_only_what_it_changes(tmp_path: Path):
    shutil.copyfile(SCHEMAS / "orgunits.yaml", tmp_path / "orgunits.yaml")
    reg = load_registry(tmp_path)  # fields, code lists, reports: the package's
    assert reg.fields["citizen_id"].label == "公民身份号码" and len(reg.reports) >= 9
    assert not reg.shares and set(reg.sources) == {"community_form"}
    (tmp_path / "codelists").mkdir()
    gender = yaml.safe_load((DEFAULTS / "codelists" / "gender.yaml").read_text(encoding="utf-8"))
    gender["entries"][0]["synonyms"].append("男士")
    (tmp_path / "codelists" / "gender.yaml").write_text(
        yaml.safe_dump(gender, allow_unicode=True), encoding="utf-8"
    )
    reg = load_registry(tmp_path)  # the district's file replaces the package's, the rest stay
    assert reg.codelists["gender"].lookup()["男士"] == gender["entries"][0]["code"]
    assert len(reg.codelists) == len(list((DEFAULTS / "codelists").glob("*.yaml")))
