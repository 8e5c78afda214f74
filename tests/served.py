"""The app under a real gunicorn, on the test's database and at the suite's moment, for the fault tests
(tests/functional/test_faults.py): a worker can be killed with SIGKILL and the database cut off, as in production.

`python -m tests.served` is the server process: it fixes the clock (time-machine, started before gunicorn forks, so
every worker inherits it) and runs gunicorn with one gthread worker. `Served` starts and stops it from a test."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
ENTERED = "entered "  # what the server writes to stderr when a request reaches the app


class Served:
    """gunicorn serving the app in another process; `url(path)`, `worker_pid()`, `kill_worker()`."""

    def __init__(self, database_url: str, secret_key: str, now: datetime, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        env = {**os.environ, "SERVED_DATABASE_URL": database_url, "SERVED_SECRET_KEY": secret_key,
               "SERVED_NOW": now.isoformat(), "SERVED_BIND": f"127.0.0.1:{self.port}",
               "PROMETHEUS_MULTIPROC_DIR": str(log.parent / "prometheus")}
        env.pop("DTECH_ENV", None)
        (log.parent / "prometheus").mkdir(exist_ok=True)
        self._out = log.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.served"], cwd=ROOT, env=env,
                                        stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_until_answering()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_until_answering(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                requests.get(self.url("/healthz"), timeout=10)
                return
            except requests.RequestException:  # not listening yet, or the worker still loading the app
                time.sleep(0.1)
        raise RuntimeError("the server did not answer")

    def worker_pid(self) -> int:
        """The one worker's pid (gunicorn's master is `process`; its worker is its only child)."""
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    return int(entry.name)
        raise RuntimeError("gunicorn has no worker")

    def wait_until_entered(self, path: str, within: float = 30) -> None:
        """Until a request for `path` has reached the app (the server logs it as it enters)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if f"{ENTERED}{path}\n" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no request for {path} reached the app")

    def kill_worker(self) -> None:
        """SIGKILL the worker in the middle of whatever it does; gunicorn's master starts another."""
        old = self.worker_pid()
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.worker_pid() != old:
                    break
            except RuntimeError:
                pass
            time.sleep(0.05)
        self.wait_until_answering()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _main() -> None:
    import time_machine
    from gunicorn.app.base import BaseApplication

    time_machine.travel(datetime.fromisoformat(os.environ["SERVED_NOW"]), tick=True).start()

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": os.environ["SERVED_BIND"], "workers": 1, "worker_class": "gthread",
                               "threads": 2, "timeout": 60, "graceful_timeout": 5, "accesslog": None}.items():
                self.cfg.set(key, value)

        def load(self):  # in the worker, after the fork: each new worker has its own database connections
            from app import create_app
            from config import TestingConfig

            config = TestingConfig()
            config.SQLALCHEMY_DATABASE_URI = os.environ["SERVED_DATABASE_URL"]
            config.SECRET_KEY = os.environ["SERVED_SECRET_KEY"]
            app = create_app(config)
            inner = app.wsgi_app

            def announcing(environ, start_response):
                sys.stderr.write(f"{ENTERED}{environ['PATH_INFO']}\n")
                sys.stderr.flush()
                return inner(environ, start_response)

            app.wsgi_app = announcing
            return app

    Server().run()


if __name__ == "__main__":
    _main()
