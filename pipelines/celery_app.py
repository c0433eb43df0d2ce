"""The Celery app that Dagster's celery executor (job `city_run_celery`) sends district steps
to. A worker machine runs

    HUB_CELERY_BROKER=redis://broker-host:6379/0 celery -A pipelines.celery_app worker \
        -Q dagster --concurrency 1

with the same code, registries (HUB_SCHEMAS) and its districts' data (HUB_DATA) as the run;
HUB_THREADS / HUB_MEMORY_MB hold it to its share of the machine (hub.resources)."""

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

BROKER = os.environ.get("HUB_CELERY_BROKER", "redis://127.0.0.1:6379/0")
BACKEND = os.environ.get("HUB_CELERY_BACKEND", BROKER)

app = make_app(CeleryExecutor.for_cli(broker=BROKER, backend=BACKEND).app_args())
execute_plan = create_task(app)
