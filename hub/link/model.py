"""The probabilistic model: what is compared, how pairs are found, and how it is trained.

Comparisons know Chinese records: an ID is compared digit by digit (a mistyped or swapped
digit is one edit; the embedded birth date and area survive most typos); a name by its
simplified form, then its pinyin (同音字 张伟/张玮), then pinyin similarity; an address by
its community, building number and unit instead of edit distance on the whole string.

Training uses the links the hub is sure of: rows sharing a trusted ID are the same person,
so the chance that each comparison agrees for the same person (m) is measured on them. The
ID comparison cannot be learnt that way (those IDs always agree), nor can birth date and
gender (a row's ID is trusted only when they agree with it): their m come from
`schemas/linkage.yaml`.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator

from hub.registry.config import LinkageConfig

# Every candidate pair involves at least one row that the ID could not link (group 'U'):
# pairs of ID-linked persons are already decided.
U_PAIR = "(l.grp = 'U' OR r.grp = 'U')"
# How pairs are found: rows agreeing on every key of a block (each key SQL over a table
# alias `{t}`), with the block's name in Chinese. A block with more pairs than
# `max_block_pairs` (schemas/linkage.yaml) is left out of that rule (`capped_<i>`): one shared
# office phone or a file of copies must not exhaust memory; its rows are listed for review.
BLOCKS: list[tuple[str, tuple[str, ...]]] = [
    ("姓名拼音与出生日期", ("{t}.name_py", "{t}.birth")),
    ("身份证号中的出生日期与地区", ("{t}.id_birth", "{t}.id_area")),
    ("联系电话", ("{t}.phone",)),
    ("姓名拼音、社区与门牌", ("{t}.name_py", "{t}.addr_comm", "{t}.addr_no")),
    ("出生日期、社区与房间", ("{t}.birth", "{t}.addr_comm", "{t}.addr_unit")),
    # an ID with a typo after the birth date still shares its first 14 digits or its last 4
    ("身份证号前 14 位", ("substr({t}.id_text, 1, 14)",)),
    (
        "身份证号地区码、末 4 位与姓名拼音",
        ("substr({t}.id_text, 1, 6)", "substr({t}.id_text, 15, 4)", "{t}.name_py"),
    ),
    # two digits swapped across the birth date's end and the sequence (digits 14–15)
    (
        "身份证号地区码、末 3 位与姓名拼音",
        ("substr({t}.id_text, 1, 6)", "substr({t}.id_text, 16, 3)", "{t}.name_py"),
    ),
]
BLOCKING_RULES = [
    " AND ".join(f"{k.format(t='l')} = {k.format(t='r')}" for k in keys)
    + f" AND {U_PAIR} AND NOT l.capped_{i}"
    for i, (_, keys) in enumerate(BLOCKS)
]
CAPPED = tuple(f"capped_{i}" for i in range(len(BLOCKS)))
MODEL_COLUMNS = (
    "unique_id",
    "grp",
    "id_text",
    "id_birth",
    "id_area",
    "name_s",
    "name_py",
    "birth",
    "gender",
    "phone",
    "phones",
    "addr_comm",
    "addr_no",
    "addr_unit",
    "head_py",
)
ID_LEVELS = ("exact", "one_edit", "same_birth_area", "other")
CHANGEABLE = ("phone", "address")  # facts that change over time: see changeable_floor


# An agreeing ID counts only where the names read the same (or one is missing): relatives
# share a surname and often most of a given name, so "similar" names are no gate.
def _alike() -> Any:
    return cll.Or(cll.NullLevel("name_py"), cll.ExactMatchLevel("name_py"))


def _label(level: Any, label: str) -> Any:
    return level.configure(label_for_charts=label)


def comparisons() -> list[Any]:
    """The comparisons, each level labelled in Chinese (shown as a link's evidence). Splink's
    own level classes keep the SQL dialect out of the model; the address levels compare the
    parts `features.py` cuts a Chinese address into."""
    return [
        cl.CustomComparison(
            output_column_name="id_text",
            comparison_description="身份证号",
            comparison_levels=[
                cll.NullLevel("id_text"),
                _label(cll.And(cll.ExactMatchLevel("id_text"), _alike()), "身份证号相同"),
                _label(
                    cll.And(cll.DamerauLevenshteinLevel("id_text", 1), _alike()),
                    "身份证号一位之差或相邻两位颠倒",
                ),
                _label(
                    cll.And(
                        cll.ExactMatchLevel("id_birth"), cll.ExactMatchLevel("id_area"), _alike()
                    ),
                    "身份证号中的地区和出生日期相同",
                ),
                # the same number on a differently named row is someone else's (the household
                # head's ID in a member's row): it is evidence of nothing
                _label(cll.ElseLevel(), "身份证号不同或属于他人"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="name",
            comparison_description="姓名",
            comparison_levels=[
                cll.NullLevel("name_s"),
                cll.ExactMatchLevel("name_s").configure(
                    tf_adjustment_column="name_s", label_for_charts="姓名相同"
                ),
                _label(cll.ExactMatchLevel("name_py"), "姓名同音（繁简或同音字）"),
                _label(cll.JaroWinklerLevel("name_py", 0.9), "姓名拼音相近"),
                _label(cll.ElseLevel(), "姓名不同"),
            ],
        ),
        _exact("birth", "出生日期"),
        _exact("gender", "性别"),
        cl.CustomComparison(
            output_column_name="phone",
            comparison_description="联系电话",
            comparison_levels=[
                cll.NullLevel("phones"),
                # a person known by ID keeps every number departments gave for them
                _label(cll.ArrayIntersectLevel("phones", 1), "联系电话相同"),
                _label(cll.ElseLevel(), "联系电话不同"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="address",
            comparison_description="地址",
            comparison_levels=[
                cll.NullLevel("addr_comm"),
                _label(
                    cll.And(
                        *(cll.ExactMatchLevel(c) for c in ("addr_comm", "addr_no", "addr_unit"))
                    ),
                    "同一社区、门牌和房间",
                ),
                _label(
                    cll.And(cll.ExactMatchLevel("addr_comm"), cll.ExactMatchLevel("addr_no")),
                    "同一社区同一门牌",
                ),
                _label(cll.ExactMatchLevel("addr_comm"), "同一社区"),
                _label(cll.ElseLevel(), "地址不同"),
            ],
        ),
        _exact("head_py", "户主"),
    ]


def _exact(column: str, label: str) -> Any:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=label,
        comparison_levels=[
            cll.NullLevel(column),
            _label(cll.ExactMatchLevel(column), f"{label}相同"),
            _label(cll.ElseLevel(), f"{label}不同"),
        ],
    )


def settings(prior: float) -> SettingsCreator:
    """`prior`: the chance two random rows are the same person."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        blocking_rules_to_generate_predictions=[{"blocking_rule": r} for r in BLOCKING_RULES],
        comparisons=comparisons(),
        # Splink 5 keeps each comparison's level (gamma) with the matching columns: the levels
        # are each link's evidence
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
    )


def apply_priors(model: dict[str, Any], config: LinkageConfig) -> dict[str, Any]:
    """Put the configured priors in. A level never seen among known matches gets its m from
    `m_defaults`, and one never seen among random pairs a u of one in the pairs sampled (at
    most that common), instead of Splink's defaults."""
    priors = config.id_match_priors.model_dump()
    unseen_u = 1 / config.u_sample_pairs
    differs = {
        "birth": config.agreement_priors.birth_differs,
        "gender": config.agreement_priors.gender_differs,
    }
    for comp in model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        name = comp["output_column_name"]
        for lvl in levels:
            if lvl.get("u_probability") is None:
                lvl["u_probability"] = unseen_u
        if name == "id_text":
            for lvl, key in zip(levels, ID_LEVELS, strict=True):
                lvl["m_probability"] = priors[key]
            continue
        if name in differs:  # levels: same, else
            levels[0]["m_probability"], levels[1]["m_probability"] = (
                1 - differs[name],
                differs[name],
            )
            continue
        defaults = config.m_defaults.get(name, [])
        for i, lvl in enumerate(levels):
            if lvl.get("m_probability") is None:
                lvl["m_probability"] = defaults[i] if i < len(defaults) else 0.01
        if name in CHANGEABLE:
            levels[-1]["m_probability"] = max(levels[-1]["m_probability"], config.changeable_floor)
    return model


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """output column -> comparison vector value -> the level's Chinese label."""
    out: dict[str, dict[int, str]] = {}
    for comp in model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        n = len(levels)
        out[comp["output_column_name"]] = {
            n - 1 - i: str(lvl.get("label_for_charts", "")) for i, lvl in enumerate(levels)
        }
    return out
