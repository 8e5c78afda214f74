"""The container image (Dockerfile, compose.yaml) cannot be built on these machines (no container engine), so
this keeps it honest: the Python it starts from, the commands it runs and the dependencies it installs are the
ones the Makefile, gunicorn.conf.py and pyproject.toml use and the suite runs against."""

import json
import re
import sys
import tomllib
from pathlib import Path

from app import create_app
from config import TestingConfig

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def compose_commands() -> dict[str, list[str]]:
    """Each service's `command: [...]` (written as JSON arrays in compose.yaml, so no YAML library is needed)."""
    commands, service = {}, None
    for line in COMPOSE.splitlines():
        if match := re.fullmatch(r"  ([a-z]+):", line):
            service = match.group(1)
        elif match := re.fullmatch(r"    command: (\[.*\])", line):
            commands[service] = json.loads(match.group(1))
    return commands


def test_the_image_is_the_python_the_project_and_the_suite_run_on():
    (base,) = re.findall(r"^FROM python:(\d+\.\d+)-slim-bookworm$", DOCKERFILE, re.MULTILINE)
    required = PYPROJECT["project"]["requires-python"]  # ">=3.11"
    assert required == f">={base}"
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == base  # the suite runs on that Python too


def test_the_image_installs_the_pinned_dependencies_from_pyproject_and_nothing_else():
    installs = re.findall(r"^RUN pip install (.+)$", DOCKERFILE, re.MULTILINE)
    assert installs == ["."]  # pyproject.toml's [project] dependencies, each pinned (==)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", dep)
               for dep in PYPROJECT["project"]["dependencies"])
    assert "COPY pyproject.toml ./" in DOCKERFILE


def test_the_image_builds_what_make_install_builds():
    assert "python -m app.web.static_files --quiet" in DOCKERFILE and "-m app.web.static_files --quiet" in MAKEFILE
    assert "pybabel -q compile -d app/translations" in DOCKERFILE


def test_the_web_and_worker_commands_are_the_makefiles_and_exist():
    serve = MAKEFILE[MAKEFILE.index("\nserve:"):]
    web = ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
    assert " ".join(web) in serve and (ROOT / "gunicorn.conf.py").exists()
    assert f"CMD {json.dumps(web)}" in DOCKERFILE
    commands = compose_commands()
    assert commands["web"] == web
    assert commands["worker"][:3] == ["flask", "jobs", "worker"] and "jobs worker" in serve
    assert commands["migrate"] == ["flask", "db", "upgrade"]
    cli = create_app(TestingConfig()).cli
    ctx = cli.make_context("flask", ["jobs"], resilient_parsing=True)
    assert cli.get_command(ctx, "jobs").get_command(ctx, "worker") is not None
    assert cli.get_command(ctx, "db") is not None


def test_the_image_runs_as_a_user_not_root_and_keeps_its_state_in_the_instance_directory():
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "DTECH_INSTANCE_DIR=/var/lib/dtech" in DOCKERFILE and "DTECH_ENV=production" in DOCKERFILE


def test_compose_keeps_secrets_out_of_the_file():
    assert "${POSTGRES_PASSWORD:?" in COMPOSE and "env_file: .env" in COMPOSE
    assert not re.search(r"(SECRET_KEY|PRIVATE_KEY|AUTH_KEY|TOKEN)\s*:", COMPOSE)
