"""The /opt/ml view of a processing container: what it maps, what it leaves alone, who inherits it.

Each check runs in a fresh interpreter, because installing the view changes that process for good.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.local.images.conftest import REPO

CHECK = """
import glob, json, os, pathlib, shutil, subprocess, sys
from helpers.local.images.toolkit import path_view

path_view.install(pathlib.Path(sys.argv[1]))


def missing():
    try:
        open("/opt/ml/processing/none.csv")
    except FileNotFoundError as exc:
        return str(exc)


os.makedirs("/opt/ml/processing/out", exist_ok=True)
with open("/opt/ml/processing/out/a.txt", "w") as f:
    f.write("a")
pathlib.Path("/opt/ml/processing/out/b.txt").write_text("b")
shutil.copy("/opt/ml/processing/out/a.txt", "/opt/ml/processing/out/c.txt")
os.rename("/opt/ml/processing/out/c.txt", "/opt/ml/processing/out/d.txt")
child = subprocess.run(
    [sys.executable, "-c", "print(open('/opt/ml/processing/out/b.txt').read())"],
    capture_output=True, text=True,
)
print(json.dumps({
    "listing": sorted(os.listdir("/opt/ml/processing/out")),
    "glob": sorted(os.path.basename(p) for p in glob.glob("/opt/ml/processing/out/*.txt")),
    "exists": os.path.exists("/opt/ml/processing/out/a.txt"),
    "mlflow": os.path.exists("/opt/mlflow"),
    "child": child.stdout.strip() or child.stderr,
    "missing": missing(),
}))
"""


def test_python_file_functions_see_opt_ml_as_the_job_folder_and_children_inherit_it(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHECK), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["listing"] == ["a.txt", "b.txt", "d.txt"]
    assert seen["glob"] == ["a.txt", "b.txt", "d.txt"]
    assert seen["exists"] is True
    assert seen["mlflow"] is False  # /opt/mlflow is not /opt/ml: left alone
    assert seen["missing"] == "[Errno 2] No such file or directory: '/opt/ml/processing/none.csv'"
    assert seen["child"] == "b"  # a python the container starts gets the view through sitecustomize
    assert sorted(p.name for p in (tmp_path / "processing" / "out").iterdir()) == ["a.txt", "b.txt", "d.txt"]
    assert not Path("/opt/ml/processing/out").exists()  # the host's /opt was never written
