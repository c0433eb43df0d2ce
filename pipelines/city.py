"""A city deployment in Dagster: the district assets partitioned by district, the city view,
and the job that runs every district side by side then the city view.

- `city/person` reads every district's published persons (all partitions of published/core).
- `city_run` puts one step per district (the district's whole run, `hub run --district`) and the
  city step after them: the multiprocess executor runs the districts side by side here;
  `city_run_celery` sends the same steps to Celery workers on any machine; on Kubernetes the
  same graph runs with dagster-k8s's executor (README「扩展到多台机器」).
- Each district step is in its own concurrency pool (`district_<code>`): with the pool limit
  of 1 (dagster.yaml) no two steps write one district's DuckDB file at once, from any run.
"""

from typing import Any

import dagster as dg
from dagster_celery import celery_executor

try:  # the cluster's image installs dagster-k8s (README「扩展到多台机器」); not needed elsewhere
    from dagster_k8s import k8s_job_executor
except ImportError:
    k8s_job_executor = None

from hub.city.districts import queue_of
from hub.city.run import run_district
from hub.city.view import build_city
from pipelines.resources import HubResource

CITY = dg.AssetKey(["city", "person"])
PUBLISHED = dg.AssetKey(["published", "core"])


def city_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=CITY,
        deps=[PUBLISHED],
        group_name="city",
        kinds={"duckdb", "parquet"},
        metadata={"部门": "数据专班（全市）"},
        description="【全市】按公民身份号码合并各区县发布的一人一档：现住地（公安登记的最新地址）"
        "所在区县的值优先，其余区县的不同值列为跨区县冲突；无身份证号的居民留在本区县",
    )
    def city_person(context: dg.AssetExecutionContext, hub: HubResource) -> dg.MaterializeResult:
        return _city_result(build_city(hub.base()))

    return city_person


def _city_result(r: Any) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "persons": r.persons,
            "cross_district": r.cross_district,
            "conflicts": r.conflicts,
            "missing_districts": ", ".join(r.missing) or "无",
            "seconds": r.seconds,
        }
    )


# On Kubernetes (dagster-k8s's executor, a pod per step) the deployment lives at /deploy in the
# image; a district's data folder is its own ReadWriteOnce volume, and every district's
# published snapshots are folders of one ReadWriteMany volume, which the city step reads.
K8S_ROOT = "/deploy"
PUBLISHED_CLAIM = "hub-published"


def _published_mount(code: str, read_only: bool) -> dict[str, Any]:
    return {
        "name": "published",
        "mount_path": f"{K8S_ROOT}/data/districts/{code}/published",
        "sub_path": code,
        "read_only": read_only,
    }


def _k8s_district(code: str) -> dict[str, Any]:
    """The pod of district `code`'s step: its own volume, its published folder on the shared one."""
    return {
        "pod_spec_config": {
            "volumes": [
                {
                    "name": "district",
                    "persistent_volume_claim": {"claim_name": f"hub-district-{code}"},
                },
                {"name": "published", "persistent_volume_claim": {"claim_name": PUBLISHED_CLAIM}},
            ]
        },
        "container_config": {
            "volume_mounts": [
                {"name": "district", "mount_path": f"{K8S_ROOT}/data/districts/{code}"},
                _published_mount(code, read_only=False),
            ]
        },
    }


def _k8s_city(codes: list[str]) -> dict[str, Any]:
    """The city step's pod: every district's published folder, read-only, and its own folder."""
    return {
        "pod_spec_config": {
            "volumes": [
                {"name": "published", "persistent_volume_claim": {"claim_name": PUBLISHED_CLAIM}},
                {"name": "city", "persistent_volume_claim": {"claim_name": "hub-city"}},
            ]
        },
        "container_config": {
            "volume_mounts": [_published_mount(c, read_only=True) for c in codes]
            + [{"name": "city", "mount_path": f"{K8S_ROOT}/data/city"}]
        },
    }


class DistrictRun(dg.Config):
    """A district step's options, as `hub run`'s: --no-gx and --full."""

    validate_with_gx: bool = True
    full: bool = False


def _district_op(code: str) -> dg.OpDefinition:
    @dg.op(
        name=f"district_{code}",
        out=dg.Out(dg.Nothing),
        pool=f"district_{code}",
        # on Celery, the worker holding the district's files takes its steps (hub city worker);
        # on Kubernetes, the step's pod mounts the district's volume
        tags={
            "dagster-celery/queue": queue_of(code),
            "dagster-k8s/config": _k8s_district(code),
        },
        description=f"区县 {code} 的完整运行（加载、规范化与校验、关联、一人一档、发布）",
    )
    def _run(context: dg.OpExecutionContext, hub: HubResource, config: DistrictRun) -> None:
        s = run_district(hub.base(), code, None, config.validate_with_gx, config.full)
        context.log.info(
            f"区县 {code}：居民 {s.core.persons if s.core else '-'}，"
            f"发布 {s.published.release if s.published else '未发布'}"
        )
        if s.blocked:
            context.log.warning("未发布：" + "；".join(s.blocked))

    return _run


def city_jobs(codes: list[str]) -> list[dg.JobDefinition]:
    """`city_run` (multiprocess) and `city_run_celery`: one step per district, then the city."""

    @dg.op(
        name="city_view",
        ins={f"after_{c}": dg.In(dg.Nothing) for c in codes},
        tags={"dagster-k8s/config": _k8s_city(codes)},
        description="全市视图：合并各区县发布的一人一档",
    )
    def city_view(context: dg.OpExecutionContext, hub: HubResource) -> None:
        r = build_city(hub.base())
        context.log.info(f"全市视图：{r.persons} 人，跨区县 {r.cross_district} 人")

    steps = {c: _district_op(c) for c in codes}

    @dg.graph(name="city")
    def city_graph() -> None:
        city_view(**{f"after_{c}": steps[c]() for c in codes})

    k8s = []
    if k8s_job_executor is not None:  # dagster-k8s is installed in the cluster's image only
        k8s.append(
            city_graph.to_job(
                name="city_run_k8s",
                description="全部区县各一个 Kubernetes Pod 运行后合并全市视图",
                executor_def=k8s_job_executor,
            )
        )
    return [
        *k8s,
        city_graph.to_job(
            name="city_run",
            description="全部区县并行运行后合并全市视图（本机多进程）",
            executor_def=dg.multiprocess_executor,
        ),
        city_graph.to_job(
            name="city_run_celery",
            description="全部区县在 Celery 工作机上运行后合并全市视图",
            executor_def=celery_executor,
        ),
    ]
