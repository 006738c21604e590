"""Real Celery worker processes for integration tests, on the test run's Redis and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the test database pytest-django created (its NAME is patched by then)."""
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    def __init__(
        self,
        name: str,
        log_dir: Path,
        queues: str = "default,llm,cpu",
        concurrency: int = 1,
        pool: str = "prefork",
        env: dict[str, str] | None = None,
        include: str = "",
    ):
        self.name = name
        self.log_path = log_dir / f"worker-{name}.log"
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.extra_env = env or {}
        # Extra modules the worker imports (test job kinds, e.g. tests.support.fault_kinds).
        self.include = include
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        env = dict(os.environ, DATABASE_URL=database_url(), CELERY_TASK_ALWAYS_EAGER="false")
        env.update(self.extra_env)
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dialinsight_site",
                "worker",
                "--loglevel=INFO",
                f"--hostname={self.name}@%h",
                f"--queues={self.queues}",
                f"--concurrency={self.concurrency}",
                f"--pool={self.pool}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *([f"--include={self.include}"] if self.include else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log_path.read_text()}")
            time.sleep(0.2)
        raise RuntimeError(
            f"worker {self.name} not ready in {timeout}s:\n{self.log_path.read_text()}"
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
