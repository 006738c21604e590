"""README command one's path, on a throw-away SQLite file: migrate, seed, serve, log in, and
run a job on in-process threads against the LLM test server."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_quick_start_serves_the_demo_on_sqlite(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    }
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        manage + ["migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180
    )
    port, llm_port = free_port(), free_port()
    subprocess.run(
        manage + ["seed_demo", "--llm-url", f"http://127.0.0.1:{llm_port}/v1"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    llm = subprocess.Popen(
        manage + ["fake_llm_server", "--port", str(llm_port), "--latency-ms", "50"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        manage + ["runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as web:
            for _ in range(100):
                try:
                    login = web.get("/accounts/login/")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert login.status_code == 200
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
            response = web.post(
                "/accounts/login/",
                data={
                    "username": "lead",
                    "password": "dialinsight-demo",
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": base + "/accounts/login/"},
                follow_redirects=True,
            )
            assert response.status_code == 200
            assert "Real-estate demo" in response.text
            dialogues = web.get("/p/demo/dialogues/")
            assert "demo-rent-001" in dialogues.text
            assert web.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200

            # Test the demo endpoint's connection: a job on in-process threads, over SQLite,
            # against the LLM test server.
            endpoints = web.get("/p/demo/endpoints/")
            assert "Offline test LLM" in endpoints.text
            test_url = re.search(r'action="(/p/demo/endpoints/\d+/test/)"', endpoints.text).group(1)
            token = web.cookies["csrftoken"]
            started = web.post(
                test_url,
                data={"csrfmiddlewaretoken": token},
                headers={"Referer": base + "/p/demo/endpoints/"},
            )
            assert started.status_code == 302
            job_url = started.headers["location"]
            for _ in range(100):
                progress = web.get(job_url, headers={"HX-Request": "true"})
                if progress.status_code == 286:  # finished: htmx stops polling
                    break
                time.sleep(0.1)
            assert progress.status_code == 286 and "100%" in progress.text
            assert ">OK</span>: Answered in" in web.get("/p/demo/endpoints/").text
    finally:
        server.terminate()
        server.wait(timeout=10)
        llm.terminate()
        llm.wait(timeout=10)
