import time

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout

from curation.tasks import ping

pytestmark = pytest.mark.worker


def test_a_real_worker_runs_json_tasks(celery_worker_process):
    assert ping.apply_async().get(timeout=30) == "pong"


def test_the_worker_refuses_pickled_messages(celery_worker_process):
    result = ping.apply_async(serializer="pickle")
    with pytest.raises(CeleryTimeout):
        result.get(timeout=3)
    deadline = time.monotonic() + 10
    while "pickle" not in celery_worker_process.output() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "untrusted content of type pickle" in celery_worker_process.output()
