"""Page speed on a low-end phone: Lighthouse (bench/lighthouse/, pinned; Debian's Chromium) with its mobile
preset and default throttling against the demo site as production runs it (bench/demo_site.py), signed in through
the session cookie. Prints the performance, accessibility and best-practices scores and the bytes transferred
for the sign-in page, the dashboard, a bill, usage, pay, notifications and two staff pages (the aim: performance
≥ 95, accessibility and best practices 100).

    make bench-lighthouse     (or: .venv/bin/python bench/lighthouse.py after `npm ci --prefix bench/lighthouse`)
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import database_arguments  # noqa: E402
from bench.demo_site import CUSTOMER, STAFF, demo_site  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
AIMS = {"performance": 95, "accessibility": 100, "best-practices": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_arguments(parser, "dtech_bench_lighthouse")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit("Lighthouse is missing: npm ci --prefix bench/lighthouse (make bench-lighthouse does it)")
    with demo_site(args.database_url, args.database_name) as site:
        customer, staff = site.sign_in(CUSTOMER), site.sign_in(STAFF)
        bill = site.first(r"/bills/\d+", "/bills", customer)
        staff_pages = site.staff_pages(staff)
        pages = [(None, "/login"), *[(customer, path) for path in ("/", bill, "/usage", "/pay", "/notifications")],
                 (staff, staff_pages[0]), (staff, staff_pages[2])]
        print(f"\n{'page':<28} {'perf':>5} {'a11y':>5} {'best':>5} {'KB':>7}  missed", flush=True)
        for cookie, path in pages:
            site.check(path, cookie)
            scores, transferred = audit(site.base + path, cookie)
            missed = [name for name, aim in AIMS.items() if scores[name] < aim]
            print(f"{path[:28]:<28} {scores['performance']:>5} {scores['accessibility']:>5} "
                  f"{scores['best-practices']:>5} {transferred / 1024:>7.1f}  {', '.join(missed)}", flush=True)


def audit(url: str, cookie: str | None) -> tuple[dict[str, int], float]:
    """Lighthouse's scores (0–100) and the page's total transfer size in bytes."""
    command = [str(LIGHTHOUSE), url, "--output=json", "--output-path=stdout", "--quiet",
               f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox"]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    result = subprocess.run(command, check=True, capture_output=True, text=True,
                            env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")})
    report = json.loads(result.stdout)
    scores = {name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES}
    return scores, report["audits"]["total-byte-weight"]["numericValue"]


if __name__ == "__main__":
    main()
