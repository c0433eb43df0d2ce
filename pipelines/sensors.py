"""A sensor on the incoming folder: new files of a registered source start a run."""

import hashlib
from typing import Any

import dagster as dg

from hub.ingest.raw import match_source
from pipelines.resources import HubResource


def build_incoming_sensor(job: Any, running: bool = False) -> dg.SensorDefinition:
    """Off unless `running` (HUB_INCOMING_SENSOR=on): it can be switched on in the UI."""

    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
        description="监视待加载目录 data/incoming 与表单提交：出现新文件或新提交时运行流程"
        "（默认关闭；设 HUB_INCOMING_SENSOR=on 或在界面中打开）",
    )
    def incoming_files(context: dg.SensorEvaluationContext, hub: HubResource) -> dg.SensorResult:
        s = hub.settings()
        reg = hub.registry()
        if not s.incoming.exists():
            return dg.SensorResult(skip_reason="待加载目录不存在")
        files = sorted(p for p in s.incoming.iterdir() if p.is_file() and match_source(reg, p.name))
        # the web form's store: a new submission changes a day file's size
        files += sorted(s.submissions.glob("*.jsonl")) if s.submissions.exists() else []
        if not files:
            return dg.SensorResult(skip_reason="待加载目录中没有已登记来源的文件，也没有表单提交")
        stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
        run_key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, tags={"files": str(len(files))})]
        )

    return incoming_files
