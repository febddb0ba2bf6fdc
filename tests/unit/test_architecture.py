"""The hexagonal rules, enforced: domain/application import no vendor SDK; layers only import downwards."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency; install with .[dev]"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


def test_the_contract_covers_the_vendor_sdks_the_design_names():
    config = (ROOT / "pyproject.toml").read_text()
    for sdk in ("boto3", "mlflow", "great_expectations", "lightgbm", "fastapi", "celery", "prefect"):
        assert f'"{sdk}"' in config
