"""Every page under load: the app under gunicorn with production settings (2 gthread workers × 4 threads) on the
demo data, driven by Debian's wrk (8 connections, 12 s a page, signed in through the session cookie).

Prints requests/s and p50/p95/p99 for the sign-in page, a static file, every customer page and the main staff
pages, each with its throughput as a ratio of the sign-in page's measured in the same run (the aim: customer pages
≥ 0.5 with p95 under 50 ms, staff pages ≥ 0.3).

    .venv/bin/python bench/http_load.py [--seconds 12] [--connections 8] [--database-url postgresql://…]
"""

import argparse
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
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.demo.seed import DEMO_PASSWORD  # noqa: E402
from bench.common import bench_database, database_arguments  # noqa: E402

BIN = Path(sys.executable).parent
CUSTOMER = "9876500001"  # the demo's Asha Patil: three connections, two years of bills
STAFF = "admin@demo.dtech.in"


@dataclass
class Result:
    path: str
    rate: float  # requests a second
    p50: float  # milliseconds
    p95: float
    p99: float
    failures: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=12, help="how long wrk drives each page")
    parser.add_argument("--connections", type=int, default=8)
    database_arguments(parser, "dtech_bench_http")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `make bench` installs it (Debian's package wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="dtech-bench-http-"))
    env = server_environment(bench_database(args.database_url, args.database_name), workdir)
    print("seeding the demo data …", flush=True)
    seed(env)
    server = serve(env, workdir)
    try:
        base = f"http://{env['DTECH_BIND']}"
        customer, staff = sign_in(base, CUSTOMER), sign_in(base, STAFF)
        pages = [(None, "/login"), (None, static_path(base)), *customer_pages(base, customer),
                 *staff_pages(base, staff)]
        results = []
        for cookie, path in pages:
            check(base, path, cookie)
            results.append(drive(base, path, cookie, args))
            print(f"  {path}: {results[-1].rate:,.0f}/s", flush=True)
        report(results, customer_count=len(customer_pages(base, customer)))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def server_environment(database_url: str, workdir: Path) -> dict[str, str]:
    port = free_port()
    return {**os.environ, "DATABASE_URL": database_url, "DTECH_INSTANCE_DIR": str(workdir),
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"), "DTECH_BIND": f"127.0.0.1:{port}",
            "DTECH_WORKERS": "2", "DTECH_THREADS": "4", "SECRET_KEY": secrets.token_urlsafe(48),
            "DTECH_ALLOW_SQLITE": "1", "DTECH_UPI_VPA": "bench@upi", "DTECH_ALLOW_CONSOLE_SENDER": "1",
            "DTECH_ALLOW_SANDBOX_GATEWAY": "1", "DTECH_PAYMENT_GATEWAY": "sandbox", "FLASK_APP": "wsgi"}


def seed(env: dict[str, str]) -> None:
    development = {**env, "DTECH_ENV": "development"}
    for command in (["db", "upgrade"], ["demo", "seed", "--if-empty"]):
        subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=development, check=True,
                       stdout=subprocess.DEVNULL)


def serve(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    """gunicorn as production runs it (gunicorn.conf.py, DTECH_ENV=production), logging to a file."""
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


def sign_in(base: str, login: str) -> str:
    """The session cookie of a signed-in user. Production marks it Secure, which a client over plain HTTP (as
    here, behind no proxy) would not send back, so it is carried by hand."""
    page = requests.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    answer = requests.post(f"{base}/login", data={"csrf_token": token, "login": login, "password": DEMO_PASSWORD},
                           headers={"Cookie": cookie_header(page)}, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        sys.exit(f"signing in as {login} failed: {answer.status_code}")
    return cookie_header(answer)


def cookie_header(response: requests.Response) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in response.cookies)


def get(base: str, path: str, cookie: str | None) -> requests.Response:
    return requests.get(base + path, headers={"Cookie": cookie} if cookie else {}, allow_redirects=False, timeout=30)


def first(pattern: str, base: str, path: str, cookie: str) -> str:
    match = re.search(pattern, get(base, path, cookie).text)
    if not match:
        sys.exit(f"{path} shows nothing matching {pattern}")
    return match.group(0)


def static_path(base: str) -> str:
    return first(r'/static/[^"]*app[^"]*\.css', base, "/login", "")


def customer_pages(base: str, cookie: str) -> list[tuple[str, str]]:
    bill = first(r"/bills/\d+", base, "/bills", cookie)
    paths = ["/", "/bills", bill, "/usage", "/pay", "/payments", "/notifications", "/complaints", "/readings/new"]
    return [(cookie, path) for path in paths]


def staff_pages(base: str, cookie: str) -> list[tuple[str, str]]:
    consumer = first(r"/staff/consumers/\d+", base, "/staff/consumers?q=Patil", cookie)
    report = first(r"/staff/reports/[a-z-]+(?=\")", base, "/staff/reports", cookie)
    paths = ["/staff/consumers?q=Patil", "/staff/consumers?q=1700", consumer, "/staff/readings", report]
    return [(cookie, path) for path in paths]


def check(base: str, path: str, cookie: str | None) -> None:
    """Each page answers 200 before it is measured (a redirect to the sign-in page would measure that)."""
    answer = get(base, path, cookie)
    if answer.status_code != 200:
        sys.exit(f"{path} answered {answer.status_code}, not 200")


def drive(base: str, path: str, cookie: str | None, args: argparse.Namespace) -> Result:
    command = ["wrk", f"-t{min(2, args.connections)}", f"-c{args.connections}", f"-d{args.seconds}s",
               "-s", str(ROOT / "bench" / "wrk_report.lua"), base + path]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    count, micros, failures, p50, p95, p99 = map(int, re.search(r"^WRK (.*)$", output, re.M).group(1).split())
    return Result(path, count / (micros / 1e6), p50 / 1000, p95 / 1000, p99 / 1000, failures)


def report(results: list[Result], customer_count: int) -> None:
    baseline = results[0].rate
    print(f"\n{'page':<34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'ratio':>6}  aim")
    for index, result in enumerate(results):
        ratio = result.rate / baseline
        kind = "customer" if 2 <= index < 2 + customer_count else "staff" if index >= 2 + customer_count else ""
        aim = {"customer": ratio >= 0.5 and result.p95 < 50, "staff": ratio >= 0.3}.get(kind)
        verdict = "" if aim is None else "met" if aim else "MISSED"
        failed = f"  ({result.failures} failed)" if result.failures else ""
        print(f"{result.path[:34]:<34} {result.rate:>8,.0f} {result.p50:>8.1f} {result.p95:>8.1f} {result.p99:>8.1f} "
              f"{ratio:>6.2f}  {verdict}{failed}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
