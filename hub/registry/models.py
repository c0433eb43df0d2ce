"""Pydantic models of the registries. They describe *what* the data is, never SQL."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic import Field as PydField

FieldType = Literal["string", "date", "integer", "decimal", "boolean", "code"]
Normalizer = Literal[
    "text",
    "name",
    "cn_id",
    "date",
    "phone",
    "code",
    "integer",
    "decimal",
    "boolean",
    "orgunit",
    "account",
    "cert_no",
]
RuleKind = Literal[
    "required", "format", "pattern", "range", "agrees_with_citizen_id", "unique_in_batch"
]
Severity = Literal["error", "warning"]
# How rows arrive: a department's file, or the community form (web or Excel template). A rule
# may be stricter on the form, where the person typing can fix the value on the spot.
Channel = Literal["file", "form"]
Sensitivity = Literal["public", "internal", "sensitive"]
Entity = Literal["person", "household", "organization"]
# What a field's values look like, for proposing mappings from file content. Most follow
# from the normalizer; text fields say it where they have a recognisable shape.
ContentKind = Literal[
    "cn_id",
    "cert20",
    "phone",
    "date",
    "person_name",
    "address",
    "bank_account",
    "bank_name",
    "money",
    "small_int",
    "code",
    "orgunit",
    "identifier",
    "text",
]

# Which normalizers fit which field types; checked at load so a typo fails early.
NORMALIZERS_BY_TYPE: dict[str, set[str]] = {
    "string": {"text", "name", "cn_id", "phone", "orgunit", "account", "cert_no"},
    "date": {"date"},
    "integer": {"integer"},
    "decimal": {"decimal"},
    "boolean": {"boolean"},
    "code": {"code"},
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(Strict):
    """One validation rule of a field, e.g. `{kind: range, min: 1, max: 30, severity: warning}`.

    `severity` is one level, or one per channel: `{file: warning, form: error}`. `waived_by`
    names a yes/no field; where a row says yes there (无证 / 号码待核), the rule only warns.
    """

    kind: RuleKind
    severity: Severity | dict[Channel, Severity] = "warning"
    waived_by: str | None = None
    # a row that breaks it must not reach core: it is quarantined (an error in every channel).
    # It never stops the district: only whole-batch conditions hold data back (hub.ingest.holds)
    guards_publish: bool = False
    pattern: str | None = None
    min: float | str | None = None
    max: float | str | None = None
    message: str | None = None

    @model_validator(mode="after")
    def _params(self) -> Rule:
        if self.kind == "pattern":
            if not self.pattern:
                raise ValueError("pattern 规则需要 pattern 参数")
            re.compile(self.pattern)
        if self.kind == "range" and self.min is None and self.max is None:
            raise ValueError("range 规则至少需要 min 或 max")
        return self

    def severity_in(self, channel: str) -> Severity:
        """The level of this rule for rows arriving through `channel` (file unless named)."""
        if self.guards_publish:
            return "error"
        if isinstance(self.severity, str):
            return self.severity
        by_channel: dict[str, Severity] = dict(self.severity.items())
        return by_channel.get(channel, by_channel.get("file", "warning"))


class Field(Strict):
    """A canonical data element (数据元) such as `citizen_id` 公民身份号码."""

    name: str
    label: str
    group: str = "其他"  # the section of the consolidated form that asks it
    entity: Entity
    type: FieldType
    normalize: Normalizer
    sensitivity: Sensitivity
    aliases: list[str] = PydField(default_factory=list)
    codelist: str | None = None
    orgunit_level: Literal["street", "community", "grid"] | None = None
    authority: list[str] = PydField(default_factory=list)
    rules: list[Rule] = PydField(default_factory=list)
    content: ContentKind | None = None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"字段名 {v!r} 须为小写字母、数字和下划线（snake_case）")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Field:
        allowed = NORMALIZERS_BY_TYPE[self.type]
        if self.normalize not in allowed:
            raise ValueError(
                f"类型 {self.type} 不能使用规范化器 {self.normalize}（允许：{', '.join(sorted(allowed))}）"
            )
        if self.normalize in ("code", "boolean") and not self.codelist:
            raise ValueError(f"规范化器 {self.normalize} 需要指定 codelist")
        if self.normalize == "orgunit" and not self.orgunit_level:
            raise ValueError("规范化器 orgunit 需要指定 orgunit_level（street / community / grid）")
        return self

    def rule(self, kind: str) -> Rule | None:
        return next((r for r in self.rules if r.kind == kind), None)

    @property
    def content_kind(self) -> str:
        """The shape of this field's values (declared, else implied by the normalizer)."""
        if self.content:
            return self.content
        return _CONTENT_BY_NORMALIZER.get(self.normalize, "text")

    @property
    def required(self) -> bool:
        return self.rule("required") is not None


_CONTENT_BY_NORMALIZER = {
    "cn_id": "cn_id",
    "cert_no": "cert20",
    "phone": "phone",
    "date": "date",
    "name": "person_name",
    "account": "bank_account",
    "decimal": "money",
    "integer": "small_int",
    "code": "code",
    "boolean": "code",
    "orgunit": "orgunit",
}


class CodeEntry(Strict):
    code: str
    label: str
    synonyms: list[str] = PydField(default_factory=list)


class CodeList(Strict):
    """A national code table, e.g. GB/T 2261.1 gender, with the spellings seen in real files."""

    name: str
    label: str
    standard: str
    entries: list[CodeEntry]
    extends: str | None = None  # a list whose spellings of the same codes this one also reads

    @model_validator(mode="after")
    def _unique(self) -> CodeList:
        seen: dict[str, str] = {}
        for e in self.entries:
            for key in [e.code, e.label, *e.synonyms]:
                k = normalize_code_key(key)
                if k in seen and seen[k] != e.code:
                    raise ValueError(f"写法 {key!r} 同时指向代码 {seen[k]} 和 {e.code}")
                seen[k] = e.code
        return self

    def extended_by(self, base: CodeList) -> CodeList:
        """This list with `base`'s spellings of the codes both lists have."""
        theirs = {e.code: [e.label, *e.synonyms] for e in base.entries}
        entries = [
            e.model_copy(
                update={
                    "synonyms": [
                        x  # the base's label may be this list's label
                        for x in dict.fromkeys([*e.synonyms, *theirs.get(e.code, [])])
                        if x != e.label
                    ]
                }
            )
            for e in self.entries
        ]
        return CodeList.model_validate(self.model_dump() | {"entries": entries, "extends": None})

    def lookup(self) -> dict[str, str]:
        """Every accepted spelling (normalized) -> code."""
        out: dict[str, str] = {}
        for e in self.entries:
            for key in [e.code, e.label, *e.synonyms]:
                out[normalize_code_key(key)] = e.code
        return out


def normalize_code_key(value: str) -> str:
    """The matching key for a code spelling: half-width, no spaces, upper case.

    Must agree with the SQL `hub_code_key` macro in `hub/normalize/macros.py`.
    """
    return to_halfwidth(value).replace(" ", "").upper()


def to_halfwidth(value: str) -> str:
    out = []
    for ch in value:
        o = ord(ch)
        if o == 0x3000:
            out.append(" ")
        elif 0xFF01 <= o <= 0xFF5E:
            out.append(chr(o - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out).strip()


class HeaderSpec(Strict):
    """Where the header sits: 1-based first row and how many rows it spans (2 = merged)."""

    row: int = PydField(ge=1)
    rows: int = PydField(default=1, ge=1, le=3)


class SourceColumn(Strict):
    """One column of a department table: mapped to a field, or kept as an extension column."""

    header: str
    field: str | None = None
    extension: str | None = None
    required: bool | None = None
    # headers this column had in earlier files: their data in older batches still maps here
    former_headers: list[str] = PydField(default_factory=list)
    # a second column for the same field as an earlier one (手机 and 宅电 both phone): its
    # value is used where the earlier column is empty
    fallback: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> SourceColumn:
        if (self.field is None) == (self.extension is None):
            raise ValueError(f"列 {self.header!r} 须且只能指定 field 或 extension 之一")
        if self.extension is not None and not _NAME.match(self.extension):
            raise ValueError(f"扩展列名 {self.extension!r} 须为 snake_case")
        if self.fallback and self.field is None:
            raise ValueError(f"列 {self.header!r}：fallback 只能用于映射到字段的列")
        return self


class Source(Strict):
    """A registered department table (one YAML file under `schemas/sources/`)."""

    name: str
    department: str
    title: str
    entity: Entity = "person"
    file_pattern: list[str]
    format: Literal["csv", "xlsx", "xls", "xlsb", "ods"] | None = None
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"] = "auto"
    sheet: str | int | None = None
    header: HeaderSpec | Literal["auto"] = "auto"
    period: Literal["daily", "monthly", "quarterly", "yearly", "adhoc"] = "monthly"
    # the day every batch's values were true, for a table that names no period (a one-off)
    as_of: date | None = None
    # else, after file name and title: the header of a date column whose latest date it is
    period_column: str | None = None
    owner: str | None = None
    group: str | None = None  # ASCII group name for the Dagster UI; default: the name's prefix
    # false for a table that is rightly empty at times (the form before anyone submitted)
    expect_rows: bool = True
    channel: Channel = "file"
    # in a city deployment, the district (6-digit code) whose table this is; none: every
    # district's department sends one like it
    district: str | None = None
    # full: every batch is the whole register, and supersedes the batches before it (a
    # resident missing from it is no longer on it); delta: batches add to each other
    snapshot: Literal["full", "delta"] = "delta"
    full_roster: bool = False  # the earlier spelling of `snapshot: full`
    # an extension column listing, per row, the fields the row asserts (comma-separated); the
    # row's other values only identify whom it is about and are not observations
    asserts: str | None = None
    columns: list[SourceColumn]

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"来源名 {v!r} 须为 snake_case")
        return v

    @model_validator(mode="after")
    def _full_roster_is_a_full_snapshot(self) -> Source:
        if self.full_roster:
            self.snapshot = "full"
        return self

    @model_validator(mode="after")
    def _unique_columns(self) -> Source:
        headers = [c.header for c in self.columns]
        dup = {h for h in headers if headers.count(h) > 1}
        if dup:
            raise ValueError(f"表头重复登记：{', '.join(sorted(dup))}")
        if self.group is not None and not _NAME.match(self.group):
            raise ValueError(f"group {self.group!r} 须为小写字母、数字和下划线")
        if self.asserts and self.asserts not in {c.extension for c in self.columns}:
            raise ValueError(f"asserts: 没有名为 {self.asserts!r} 的扩展列")
        seen: set[str] = set()
        for c in self.columns:
            if not c.field:
                continue
            if c.field in seen and not c.fallback:
                raise ValueError(
                    f"多个列映射到同一字段 {c.field}：后面的列「{c.header}」须写 fallback: true"
                    "（前一列为空时取本列），或改为扩展列"
                )
            if c.field not in seen and c.fallback:
                raise ValueError(
                    f"列「{c.header}」写了 fallback: true，但前面没有映射到 {c.field} 的列"
                )
            seen.add(c.field)
        return self

    @property
    def group_name(self) -> str:
        return self.group or self.name.split("_")[0]

    @property
    def mapped(self) -> list[SourceColumn]:
        """The column of each mapped field (fallback columns are reached through it)."""
        return [c for c in self.columns if c.field and not c.fallback]

    def fallbacks(self, col: SourceColumn) -> list[SourceColumn]:
        """Later columns whose values stand in where `col` is empty, in order."""
        return [c for c in self.columns if c.fallback and c.field == col.field]

    def column_for(self, field: str) -> SourceColumn | None:
        return next((c for c in self.columns if c.field == field), None)

    def is_required(self, col: SourceColumn, fields: dict[str, Field]) -> bool:
        """A file without this column is not loaded: declared so, or its field is required."""
        if col.required is not None:
            return col.required
        return bool(col.field and fields[col.field].required)
