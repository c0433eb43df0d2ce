"""The six department tables of the sample district, each with its own headers and habits.

A column's `kind` says how the department writes it; `target` is the canonical field (or
`ext:<name>` for a department-only column). The registrations in `schemas/sources/` describe
the same tables from the hub's side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.sample.people import Resident

Getter = Callable[[Resident], Any]


@dataclass(frozen=True)
class Col:
    header: str
    target: str
    kind: str  # id | name | code:<list> | date | phone | text | raw
    get: Getter
    group: str | None = None  # parent header of a two-row merged header
    date_styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    department: str
    title: str
    filename: str
    fmt: str  # csv | xlsx
    encoding: str = "utf-8"
    title_rows: tuple[str, ...] = ()
    footer: bool = False
    date_styles: tuple[str, ...] = ("iso",)
    code_style: str = "label"
    legacy_share: float = 0.01
    blocking_errors: bool = True
    select: Callable[[Resident], bool] = lambda r: True
    columns: list[Col] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        return any(c.group for c in self.columns)


def x(key: str) -> Getter:
    return lambda r: r.extra.get(key)


def _comm_name(names: dict[str, str]) -> Getter:
    return lambda r: names[r.community_code]


def build_specs(
    period: str, comm_names: dict[str, str], grid_names: dict[str, str], district: str = "青禾区"
) -> list[SourceSpec]:
    """The sample's department tables; `period` (YYYYMM) stamps the newest file names."""
    y, m = int(period[:4]), int(period[4:])

    def ago(k: int) -> str:
        mm = (y * 12 + m - 1) - k
        return f"{mm // 12}{mm % 12 + 1:02d}"

    cid: Getter = lambda r: r.citizen_id  # noqa: E731
    comm = _comm_name(comm_names)
    return [
        SourceSpec(
            name="gongan_household",
            department="公安分局",
            title="户籍人口花名册",
            filename=f"公安_户籍人口花名册_{ago(1)}.csv",
            fmt="csv",
            encoding="gb18030",
            date_styles=("compact", "iso"),
            code_style="label",
            legacy_share=0.05,
            blocking_errors=False,
            columns=[
                Col("户号", "household_id", "raw", lambda r: r.household_id),
                Col("姓名", "name", "name", lambda r: r.name),
                Col("曾用名", "former_name", "name", lambda r: r.former_name),
                Col("性别", "gender", "code:gender", lambda r: r.gender),
                Col("民族", "ethnicity", "code:ethnicity", lambda r: r.ethnicity),
                Col("公民身份号码", "citizen_id", "id", cid),
                Col("出生日期", "birth_date", "date", lambda r: r.birth_date),
                Col(
                    "与户主关系", "relation_to_head", "code:relation_to_head", lambda r: r.relation
                ),
                Col("户主姓名", "household_head_name", "name", lambda r: r.head_name),
                Col("户主公民身份号码", "household_head_id", "raw", lambda r: r.head_id),
                Col("户籍地址", "registered_address", "text", lambda r: r.registered_address),
                Col("户口性质", "hukou_type", "code:hukou_type", lambda r: r.hukou_type),
                Col("文化程度", "education", "code:education", lambda r: r.education),
                Col("婚姻状况", "marital_status", "code:marital_status", lambda r: r.marital),
                Col("政治面貌", "political_status", "code:political_status", lambda r: r.political),
                Col("服务处所", "employer", "text", lambda r: r.employer),
                Col("联系电话", "phone", "phone", lambda r: r.phone_old or r.phone),
                Col("所属社区", "community_code", "raw", comm),
                Col("所属网格", "grid_code", "raw", lambda r: grid_names.get(r.grid_code)),
            ],
        ),
        SourceSpec(
            name="minzheng_dibao",
            department="民政局",
            title="城市低保花名册",
            filename=f"民政_城市低保花名册_{period}.xlsx",
            fmt="xlsx",
            title_rows=(
                f"{district}城市居民最低生活保障对象花名册",
                f"填报单位：{district}民政局（盖章）        统计截至：{y}年{m}月",
            ),
            footer=True,
            date_styles=("dot", "iso"),
            code_style="mixed",
            select=lambda r: "dibao_type" in r.extra,
            columns=[
                Col("序号", "ext:seq_no", "raw", x("seq")),
                Col("户主姓名", "household_head_name", "name", lambda r: r.head_name),
                Col("姓名", "name", "name", lambda r: r.name, group="家庭成员信息"),
                Col("性别", "gender", "code:gender", lambda r: r.gender, group="家庭成员信息"),
                Col("身份证号码", "citizen_id", "id", cid, group="家庭成员信息"),
                Col("出生日期", "birth_date", "date", lambda r: r.birth_date, group="家庭成员信息"),
                Col(
                    "与户主关系",
                    "relation_to_head",
                    "code:relation_to_head",
                    lambda r: r.relation,
                    group="家庭成员信息",
                ),
                Col(
                    "保障类别",
                    "assistance_type",
                    "code:assistance_type",
                    x("dibao_type"),
                    group="保障信息",
                ),
                Col("低保证号", "assistance_cert_no", "raw", x("dibao_cert"), group="保障信息"),
                Col("家庭人口", "household_size", "raw", x("dibao_size"), group="保障信息"),
                Col("月人均收入", "monthly_income", "raw", x("dibao_income"), group="保障信息"),
                Col("保障金额", "assistance_amount", "raw", x("dibao_amount"), group="保障信息"),
                Col("开户银行", "bank_name", "text", x("bank"), group="发放信息"),
                Col("银行账号", "bank_account", "raw", x("account"), group="发放信息"),
                Col("联系电话", "phone", "phone", lambda r: r.phone),
                Col("家庭住址", "current_address", "text", lambda r: r.address),
                Col("所属社区", "community_code", "raw", comm),
            ],
        ),
        SourceSpec(
            name="canlian_disabled",
            department="残疾人联合会",
            title="持证残疾人花名册",
            filename=f"残联_持证残疾人花名册_{ago(2)}.xlsx",
            fmt="xlsx",
            title_rows=(f"{district}持证残疾人基本信息花名册",),
            footer=True,
            date_styles=("cn", "iso"),
            code_style="mixed",
            select=lambda r: "dis_type" in r.extra,
            columns=[
                Col("序号", "ext:seq_no", "raw", x("seq")),
                Col("姓名", "name", "name", lambda r: r.name),
                Col("性别", "gender", "code:gender", lambda r: r.gender),
                Col("民族", "ethnicity", "code:ethnicity", lambda r: r.ethnicity),
                Col("身份证号", "citizen_id", "id", cid),
                Col("出生日期", "birth_date", "date", lambda r: r.birth_date),
                Col("残疾证号", "disability_cert_no", "raw", x("dis_cert")),
                Col("残疾类别", "disability_type", "code:disability_type", x("dis_type")),
                Col("残疾等级", "disability_level", "code:disability_level", x("dis_level")),
                Col("联系电话", "phone", "phone", lambda r: r.phone_old or r.phone),
                Col("现住址", "current_address", "text", lambda r: r.address),
                Col("联系人", "emergency_contact", "name", x("guardian")),
                Col("联系人电话", "emergency_phone", "phone", x("guardian_phone")),
                Col("发证日期", "ext:cert_issue_date", "raw", x("dis_issued")),
            ],
        ),
        SourceSpec(
            name="weijian_elderly",
            department="卫生健康局",
            title="65岁及以上老年人健康管理花名册",
            filename=f"卫健_65岁以上老年人健康管理_{period}.csv",
            fmt="csv",
            encoding="utf-8-sig",
            title_rows=(f"{district}65岁及以上老年人健康管理花名册",),
            date_styles=("dot", "cn", "iso"),
            code_style="mixed",
            select=lambda r: r.age() >= 65,
            columns=[
                Col("编号", "ext:record_no", "raw", x("seq")),
                Col("姓名", "name", "name", lambda r: r.name),
                Col("性别", "gender", "code:gender", lambda r: r.gender),
                Col("出生年月", "birth_date", "date", lambda r: r.birth_date),
                Col("身份证号码", "citizen_id", "id", cid),
                Col("联系电话", "phone", "phone", lambda r: r.phone),
                Col("现住地址", "current_address", "text", lambda r: r.address),
                Col("所属社区", "community_code", "raw", comm),
                Col("是否独居", "living_alone", "code:yes_no", x("alone")),
                Col("自理能力", "self_care_ability", "code:self_care_ability", x("self_care")),
                Col("健康状况", "health_status", "code:health_status", lambda r: r.health),
                Col("紧急联系人", "emergency_contact", "name", x("guardian")),
                Col("紧急联系人电话", "emergency_phone", "phone", x("guardian_phone")),
                Col("医保类型", "medical_insurance", "code:medical_insurance", x("medical")),
                Col("最近随访日期", "ext:last_visit_date", "raw", x("visit")),
            ],
        ),
        SourceSpec(
            name="renshe_pension",
            department="人力资源和社会保障局",
            title="城乡居民养老保险参保名册",
            filename=f"人社_城乡居民养老保险参保_{ago(3)}.xlsx",
            fmt="xlsx",
            title_rows=(f"{district}城乡居民基本养老保险参保人员名册",),
            date_styles=("serial",),
            code_style="code",
            legacy_share=0.0,
            select=lambda r: "pension" in r.extra,
            columns=[
                Col("社会保障号码", "citizen_id", "id", cid),
                Col("姓名", "name", "name", lambda r: r.name),
                Col("性别", "gender", "code:gender", lambda r: r.gender),
                Col("出生日期", "birth_date", "date", lambda r: r.birth_date),
                Col("户籍性质", "hukou_type", "code:hukou_type", lambda r: r.hukou_type),
                Col("参保状态", "pension_insurance", "code:pension_insurance", x("pension")),
                Col(
                    "就业状况",
                    "employment_status",
                    "code:employment_status",
                    lambda r: r.employment,
                ),
                Col("缴费档次", "ext:contribution_grade", "raw", x("grade")),
                Col("参保日期", "ext:enrol_date", "raw", x("enrolled")),
                Col("联系电话", "phone", "phone", lambda r: r.phone_old or r.phone),
            ],
        ),
        SourceSpec(
            name="tuiyi_veterans",
            department="退役军人事务局",
            title="退役军人信息采集表",
            filename=f"退役军人_信息采集表_{ago(4)}.csv",
            fmt="csv",
            encoding="utf-8",
            date_styles=("cn", "slash"),
            code_style="label",
            select=lambda r: "vet_cat" in r.extra,
            columns=[
                Col("序号", "ext:seq_no", "raw", x("seq")),
                Col("姓名", "name", "name", lambda r: r.name),
                Col("性别", "gender", "code:gender", lambda r: r.gender),
                Col("民族", "ethnicity", "code:ethnicity", lambda r: r.ethnicity),
                Col("身份证号", "citizen_id", "id", cid),
                Col("出生日期", "birth_date", "date", lambda r: r.birth_date),
                Col(
                    "入伍时间", "enlist_date", "date", x("enlist"), date_styles=("month_dot", "cn")
                ),
                Col(
                    "退役时间",
                    "discharge_date",
                    "date",
                    x("discharge"),
                    date_styles=("month_dot", "cn"),
                ),
                Col("优抚对象类别", "veteran_category", "code:veteran_category", x("vet_cat")),
                Col("政治面貌", "political_status", "code:political_status", lambda r: r.political),
                Col("文化程度", "education", "code:education", lambda r: r.education),
                Col("联系电话", "phone", "phone", lambda r: r.phone_old or r.phone),
                Col("现居住地址", "current_address", "text", lambda r: r.address),
                Col("工作单位", "employer", "text", lambda r: r.employer),
            ],
        ),
    ]


def as_date(v: Any) -> date | None:
    return v if isinstance(v, date) else None
