"""Assets generated from `schemas/sources/*.yaml`: raw/<source> -> staged/<source> -> core/links
-> core/person -> published/core -> report/<report>. A new source YAML is new assets on the next load, with no
code change."""

from datetime import date
from typing import Any

import dagster as dg

from hub.core.golden import build_core
from hub.form.corrections import accepted as accepted_corrections
from hub.form.incoming import import_incoming_templates
from hub.form.submissions import load_submissions
from hub.ingest.raw import load_incoming
from hub.link.run import link
from hub.normalize.stage import stage_source
from hub.pipeline import publish_all
from hub.publish.guards import publish_guards
from hub.registry import Registry, Source
from hub.registry.formsource import FORM_SOURCE
from hub.registry.reports import Report
from hub.reports.build import Period
from hub.reports.generate import generate_reports
from hub.validate.gx_session import run_suites
from hub.validate.quality_page import write_quality_page
from hub.warehouse import warehouse
from pipelines.checks import check_results, check_specs_for
from pipelines.resources import HubResource


def raw_key(src: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", src])


def staged_key(src: str) -> dg.AssetKey:
    return dg.AssetKey(["staged", src])


LINKS = dg.AssetKey(["core", "links"])
CORE = dg.AssetKey(["core", "person"])
PUBLISHED = dg.AssetKey(["published", "core"])


# groups whose assets are not one department's: their Chinese names
_GROUP_NAMES = {"core": "一人一档（跨部门核心数据）", "reports": "部门报表"}
CORE_META = {"部门": "数据专班（跨部门）", "分组": f"{_GROUP_NAMES['core']}（core）"}


def group_label(registry: Registry, group: str) -> str:
    """The Chinese name of a Dagster group (its key stays ASCII, as Dagster requires)."""
    departments = sorted({s.department for s in registry.sources.values() if s.group_name == group})
    name = _GROUP_NAMES.get(group) or "、".join(departments) or group
    return f"{name}（{group}）"


def source_assets(
    registry: Registry, src: Source, partitions: dg.PartitionsDefinition | None = None
) -> list[dg.AssetsDefinition]:
    """The raw and staged assets of one registered department table."""
    meta = {
        "部门": src.department,
        "分组": group_label(registry, src.group_name),
        "表名": src.title,
        "文件名模式": ", ".join(src.file_pattern),
    }

    @dg.asset(
        key=raw_key(src.name),
        partitions_def=partitions,
        group_name=src.group_name,
        kinds={"duckdb"},
        metadata=meta,
        check_specs=[
            dg.AssetCheckSpec(
                "batch_not_held",
                asset=raw_key(src.name),
                description="新批次没有被暂缓（全量名册行数骤减时暂缓采用，沿用上一批；"
                "hub batch release / reject 决定）",
            )
        ],
        description=f"{src.department}《{src.title}》原始层：新文件逐格按文本入库",
    )
    def raw_asset(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        s = hub.settings(context)
        s.ensure()
        with warehouse(s.warehouse, resources=s.resources) as con:
            results = load_incoming(
                con, hub.run_registry(context), s.incoming, s.archive, only=src.name
            )
            if src.name == FORM_SOURCE:  # templates and the web form's submissions
                results += import_incoming_templates(s, hub.run_registry(context))
                form = load_submissions(con, hub.run_registry(context), s.submissions, s.archive)
                results += [form] if form else []
        for r in results:
            (context.log.warning if r.status == "rejected" else context.log.info)(
                f"{r.file}: {r.message} {'；'.join(r.notes)}"
            )
        held = [f"{r.file}: {r.message}" for r in results if r.status == "held"]
        return dg.MaterializeResult(
            metadata={
                "files": [r.file for r in results],
                "loaded_rows": sum(r.rows for r in results),
                "rejected": [f"{r.file}: {r.message}" for r in results if r.status == "rejected"],
                "held": held,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="batch_not_held",
                    passed=not held,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"暂缓的批次": "；".join(held) or "无"},
                )
            ],
        )

    @dg.asset(
        key=staged_key(src.name),
        partitions_def=partitions,
        deps=[raw_key(src.name)],
        group_name=src.group_name,
        kinds={"duckdb"},
        metadata=meta,
        check_specs=check_specs_for(registry, src.name),
        description=f"{src.department}《{src.title}》规范化后的数据（错误行进入隔离区）",
    )
    def staged_asset(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        s = hub.settings(context)
        reg = hub.run_registry(context)
        with warehouse(s.warehouse, resources=s.resources) as con:
            result = stage_source(con, reg, src.name)
            expectations = run_suites(con, reg, [src.name], s.data)[src.name]
            checks = check_results(con, reg, src.name, expectations)
            write_quality_page(con, reg, s.data)
        return dg.MaterializeResult(
            metadata={
                "rows": result.rows,
                "staged": result.staged,
                "quarantined": result.quarantined,
                "warning_rows": result.warnings,
            },
            check_results=checks,
        )

    return [raw_asset, staged_asset]


def core_assets(
    registry: Registry, partitions: dg.PartitionsDefinition | None = None
) -> list[dg.AssetsDefinition]:
    staged = [staged_key(name) for name in registry.sources]

    @dg.asset(
        key=LINKS,
        partitions_def=partitions,
        deps=staged,
        group_name="core",
        kinds={"duckdb", "splink"},
        metadata=CORE_META,
        description="【数据专班】关联：身份证号码可信的行按号码归人，其余行用概率模型（Splink）匹配，"
        "介于两个阈值之间的配对进入人工复核",
    )
    def core_links(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        s = hub.settings(context)
        with warehouse(s.warehouse, resources=s.resources) as con:
            r = link(con, hub.run_registry(context), s.decisions, s.secret())
        return dg.MaterializeResult(
            metadata={
                "rows": r.rows,
                "by_id": r.by_id,
                "probabilistic": r.probabilistic,
                "reviewed": r.reviewed,
                "alone": r.alone,
                "persons": r.persons,
                "review_pairs": r.review_pairs,
                "duplicates": r.duplicates,
                "capped_for_review": r.capped,
            }
        )

    @dg.asset(
        key=CORE,
        partitions_def=partitions,
        deps=[LINKS],
        group_name="core",
        kinds={"duckdb"},
        metadata=CORE_META,
        description="【数据专班】一人一档：按权威来源、其次最新的规则选取每个字段，附来源追溯与冲突表",
    )
    def core_person(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        s = hub.settings(context)
        with warehouse(s.warehouse, resources=s.resources) as con:
            r = build_core(con, hub.run_registry(context), accepted_corrections(s.requests))
        return dg.MaterializeResult(
            metadata={
                "persons": r.persons,
                "observations": r.observations,
                "conflicts": r.conflicts,
            }
        )

    @dg.asset(
        key=PUBLISHED,
        partitions_def=partitions,
        deps=[CORE],
        group_name="core",
        kinds={"parquet"},
        metadata=CORE_META,
        description="【数据专班】发布：核心数据集的不可变 Parquet 快照，原子切换的发布指针",
    )
    def published_core(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        s = hub.settings(context)
        with warehouse(s.warehouse, resources=s.resources) as con:
            blocked = publish_guards(con)
            if blocked:
                raise dg.Failure("未发布：" + "；".join(blocked))
            r = publish_all(con, hub.run_registry(context), s)
        meta: dict[str, Any] = {"release": r.release, "changed": r.changed, **r.versions}
        return dg.MaterializeResult(metadata=meta)

    return [core_links, core_person, published_core]


def report_asset(
    report: Report, partitions: dg.PartitionsDefinition | None = None
) -> dg.AssetsDefinition:
    """One department report of the current month, generated from the published snapshot."""

    @dg.asset(
        key=dg.AssetKey(["report", report.name]),
        partitions_def=partitions,
        deps=[PUBLISHED],
        group_name="reports",
        kinds={"xlsx", "csv"},
        metadata={
            "部门": report.department,
            "分组": f"{_GROUP_NAMES['reports']}（reports）",
            "报表": report.title,
        },
        description=f"{report.department}《{report.title}》：由一人一档自动生成",
    )
    def report_file(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        (r,) = generate_reports(
            hub.settings(context),
            hub.run_registry(context),
            Period.of(date.today()),
            report.name,
            by="Dagster",
        )
        return dg.MaterializeResult(
            metadata={"rows": r.rows, "period": r.period, "xlsx": str(r.xlsx), "csv": str(r.csv)}
        )

    return report_file


def build_assets(
    registry: Registry, partitions: dg.PartitionsDefinition | None = None
) -> list[dg.AssetsDefinition]:
    """Every asset of the registry; in a city each is partitioned by district (`partitions`),
    a step working on its partition's district (HubResource.settings)."""
    out: list[dg.AssetsDefinition] = []
    for src in registry.sources.values():
        out.extend(source_assets(registry, src, partitions))
    out.extend(core_assets(registry, partitions))
    # a retired report (已停用) is no longer generated
    out.extend(report_asset(r, partitions) for r in registry.reports.values() if r.status == "在用")
    return out
