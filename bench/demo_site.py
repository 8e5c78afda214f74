"""The demo site as production runs it, for the benchmarks that drive it from outside (http_load.py with wrk,
lighthouse.py): the demo data seeded into the benchmark's own database, gunicorn with gunicorn.conf.py and
DTECH_ENV=production (2 gthread workers × 4 threads), signed-in sessions, and the pages' addresses."""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from app.demo.seed import DEMO_PASSWORD
from bench.common import bench_database
from config import new_data_key

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CUSTOMER = "9876500001"  # the demo's Asha Patil: three connections, two years of bills
STAFF = "admin@demo.dtech.in"


class Site:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, cookie: str | None = None) -> requests.Response:
        return requests.get(self.base + path, headers={"Cookie": cookie} if cookie else {}, allow_redirects=False,
                            timeout=30)

    def sign_in(self, login: str) -> str:
        """The session cookie of a signed-in user. Production marks it Secure, which a client over plain HTTP (as
        here, behind no proxy) would not send back, so it is carried by hand."""
        page = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        answer = requests.post(f"{self.base}/login", data={"csrf_token": token, "login": login,
                                                           "password": DEMO_PASSWORD},
                               headers={"Cookie": _cookie_header(page)}, allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            sys.exit(f"signing in as {login} failed: {answer.status_code}")
        return _cookie_header(answer)

    def first(self, pattern: str, path: str, cookie: str | None = None) -> str:
        """The first address on a page that matches `pattern`."""
        match = re.search(pattern, self.get(path, cookie).text)
        if not match:
            sys.exit(f"{path} shows nothing matching {pattern}")
        return match.group(0)

    def check(self, path: str, cookie: str | None = None) -> None:
        """A page answers 200 before it is measured (a redirect to the sign-in page would measure that)."""
        status = self.get(path, cookie).status_code
        if status != 200:
            sys.exit(f"{path} answered {status}, not 200")

    def static_path(self) -> str:
        return self.first(r'/static/[^"]*app[^"]*\.css', "/login")

    def customer_pages(self, cookie: str) -> list[str]:
        bill = self.first(r"/bills/\d+", "/bills", cookie)
        return ["/", "/bills", bill, "/usage", "/pay", "/payments", "/notifications", "/complaints", "/readings/new"]

    def staff_pages(self, cookie: str) -> list[str]:
        consumer = self.first(r"/staff/consumers/\d+", "/staff/consumers?q=Patil", cookie)
        report = self.first(r"/staff/reports/[a-z-]+(?=\")", "/staff/reports", cookie)
        return ["/staff/consumers?q=Patil", "/staff/consumers?q=1700", consumer, "/staff/readings", report]


@contextmanager
def demo_site(database_url: str | None, database_name: str):
    """The seeded demo under gunicorn with production settings, on a free port; stopped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="dtech-bench-site-"))
    env = _environment(bench_database(database_url, database_name), workdir)
    print("seeding the demo data …", flush=True)
    development = {**env, "DTECH_ENV": "development"}
    for command in (["db", "upgrade"], ["demo", "seed", "--if-empty"]):
        subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=development, check=True,
                       stdout=subprocess.DEVNULL)
    server = _serve(env, workdir)
    try:
        yield Site(f"http://{env['DTECH_BIND']}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def _environment(database_url: str, workdir: Path) -> dict[str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {**os.environ, "DATABASE_URL": database_url, "DTECH_INSTANCE_DIR": str(workdir),
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"), "DTECH_BIND": f"127.0.0.1:{port}",
            "DTECH_WORKERS": "2", "DTECH_THREADS": "4", "SECRET_KEY": secrets.token_urlsafe(48),
            "DTECH_ALLOW_SQLITE": "1", "DTECH_UPI_VPA": "bench@upi", "DTECH_ALLOW_CONSOLE_SENDER": "1",
            "DTECH_ALLOW_SANDBOX_GATEWAY": "1", "DTECH_PAYMENT_GATEWAY": "sandbox", "FLASK_APP": "wsgi",
            "DTECH_PUBLIC_URL": "https://bills.bench.example", "DTECH_DATA_KEYS": new_data_key()}


def _serve(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    (workdir / "prometheus").mkdir(exist_ok=True)
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                              env={**env, "DTECH_ENV": "production"}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://{env['DTECH_BIND']}/healthz", timeout=5).ok:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"gunicorn did not answer:\n{(workdir / 'server.log').read_text()[-3000:]}")


def _cookie_header(response: requests.Response) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in response.cookies)
