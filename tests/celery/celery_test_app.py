"""The Celery app of the Celery delivery tests (tests/python/test_celery.py).

A shop would have its own app; what matters is the broker URL, JSON-only content and,
on workers, the ``convtrack`` config key (the worker's tracker settings). The worker is
started as ``celery -A celery_test_app worker`` with its settings in the environment.
"""

import json
import os
from typing import Any, Dict, Optional

from celery import Celery

import convtrack.celery  # registers convtrack.deliver_event / convtrack.handoff_pending


def make_app(broker: str, visibility_timeout: float = 3600.0, worker_settings: Optional[Dict[str, Any]] = None) -> Celery:
    app = Celery("convtrack_test", broker=broker, backend=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        task_acks_late=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        # A short visibility timeout makes a killed worker's task come back quickly; kombu
        # then sweeps for such tasks every unacked_restore_interval * unacked_restore_throttle s.
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"retry_policy": {"max_retries": 0}},
        convtrack=worker_settings,
    )
    return app


if os.environ.get("CONVTRACK_TEST_BROKER"):
    app = make_app(
        os.environ["CONVTRACK_TEST_BROKER"],
        float(os.environ.get("CONVTRACK_TEST_VISIBILITY", "3600")),
        json.loads(os.environ.get("CONVTRACK_TEST_WORKER_SETTINGS", "null")),
    )
    if os.environ.get("CONVTRACK_TEST_PAUSE_RETRY"):
        convtrack.celery.configure(pause_retry_seconds=float(os.environ["CONVTRACK_TEST_PAUSE_RETRY"]))
