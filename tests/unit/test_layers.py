"""The layer contracts (pyproject.toml's [tool.importlinter], run by `make lint`) hold, and break on a wrong import."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(ROOT / "pyproject.toml")],
                          cwd=source, env={**os.environ, "PYTHONPATH": str(source)}, capture_output=True, text=True,
                          timeout=120)


def test_the_code_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_of_app(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__", "translations"))
    return tmp_path


def test_a_lower_domain_importing_a_higher_one_is_caught(tmp_path):
    source = copy_of_app(tmp_path)
    (source / "app" / "billing" / "sneaky.py").write_text("from app.payments.upi import upi_link\n")
    result = lint_imports(source)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "app.billing.sneaky -> app.payments.upi" in result.stdout


def test_portal_and_staff_never_import_each_other(tmp_path):
    source = copy_of_app(tmp_path)
    (source / "app" / "staff" / "sneaky.py").write_text("import app.portal.dashboard\n")
    result = lint_imports(source)
    assert result.returncode == 1 and "app.staff.sneaky -> app.portal.dashboard" in result.stdout


def test_the_tariff_engine_stays_pure(tmp_path):
    source = copy_of_app(tmp_path)
    engine = source / "app" / "billing" / "tariff"
    module = engine / "sneaky.py" if engine.is_dir() else engine.with_suffix(".py")
    module.write_text(module.read_text() + "\nimport flask  # noqa\n" if module.exists() else "import flask\n")
    result = lint_imports(source)
    assert result.returncode == 1 and "The tariff engine is pure Python" in result.stdout
