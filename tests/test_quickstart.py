"""README command one's path, on a throw-away SQLite file: migrate, seed, serve, log in."""

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
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True, timeout=180)
    port = free_port()
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
    finally:
        server.terminate()
        server.wait(timeout=10)
