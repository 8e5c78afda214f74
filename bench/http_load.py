"""Every page under load: the demo site as production runs it (bench/demo_site.py: gunicorn, 2 gthread workers × 4
threads), driven by Debian's wrk (8 connections, 12 s a page, signed in through the session cookie).

Prints requests/s and p50/p95/p99 for the sign-in page, a static file, every customer page and the main staff
pages, each with its throughput as a ratio of the sign-in page's measured in the same run (the aim: customer pages
≥ 0.5 with p95 under 50 ms, staff pages ≥ 0.3).

    .venv/bin/python bench/http_load.py [--seconds 12] [--connections 8] [--database-url postgresql://…]
"""

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import database_arguments  # noqa: E402
from bench.demo_site import CUSTOMER, STAFF, demo_site  # noqa: E402


@dataclass
class Result:
    path: str
    kind: str  # "" for the baselines, else customer or staff
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
    with demo_site(args.database_url, args.database_name) as site:
        customer, staff = site.sign_in(CUSTOMER), site.sign_in(STAFF)
        pages = [("", None, "/login"), ("", None, site.static_path()),
                 *[("customer", customer, path) for path in site.customer_pages(customer)],
                 *[("staff", staff, path) for path in site.staff_pages(staff)]]
        results = []
        for kind, cookie, path in pages:
            site.check(path, cookie)
            results.append(drive(site.base, kind, path, cookie, args))
            print(f"  {path}: {results[-1].rate:,.0f}/s", flush=True)
    report(results)


def drive(base: str, kind: str, path: str, cookie: str | None, args: argparse.Namespace) -> Result:
    command = ["wrk", f"-t{min(2, args.connections)}", f"-c{args.connections}", f"-d{args.seconds}s",
               "-s", str(ROOT / "bench" / "wrk_report.lua"), base + path]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    count, micros, failures, p50, p95, p99 = map(int, re.search(r"^WRK (.*)$", output, re.M).group(1).split())
    return Result(path, kind, count / (micros / 1e6), p50 / 1000, p95 / 1000, p99 / 1000, failures)


def report(results: list[Result]) -> None:
    baseline = results[0].rate
    print(f"\n{'page':<34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'ratio':>6}  aim")
    for result in results:
        ratio = result.rate / baseline
        aim = {"customer": ratio >= 0.5 and result.p95 < 50, "staff": ratio >= 0.3}.get(result.kind)
        verdict = "" if aim is None else "met" if aim else "missed"
        failed = f"  ({result.failures} failed)" if result.failures else ""
        print(f"{result.path[:34]:<34} {result.rate:>8,.0f} {result.p50:>8.1f} {result.p95:>8.1f} {result.p99:>8.1f} "
              f"{ratio:>6.2f}  {verdict}{failed}")


if __name__ == "__main__":
    main()
