"""A container's own command: ``/opt/ml`` mapped to the container's folder, ``python`` to the project's."""

import sys
from pathlib import Path

from helpers.local.images.toolkit.entrypoint import local_command, run_command, to_local

ROOT = Path("/var/state/work/job-1")


def test_container_paths_are_mapped_as_whole_components_only():
    assert to_local("/opt/ml", ROOT) == str(ROOT)
    assert to_local("chmod +x /opt/ml/a.sh && /opt/ml/a.sh", ROOT) == f"chmod +x {ROOT}/a.sh && {ROOT}/a.sh"
    assert to_local('"/opt/ml/input/data/code"', ROOT) == f'"{ROOT}/input/data/code"'
    # Other folders that merely start alike are left alone.
    for other in ("/opt/mlflow", "/opt/ml.bak", "/srv/opt/ml", "/opt/ml-data"):
        assert to_local(other, ROOT) == other


def test_python_means_the_projects_interpreter():
    command = local_command(["python3", "/opt/ml/processing/input/code/p.py", "--x", "1"], ROOT)
    assert command == [sys.executable, f"{ROOT}/processing/input/code/p.py", "--x", "1"]
    assert local_command(["/bin/bash", "-c", "ls /opt/ml"], ROOT) == ["/bin/bash", "-c", f"ls {ROOT}"]


def test_a_command_runs_in_the_folder_with_python3_on_path(tmp_path, capfd):
    code, stderr = run_command(
        ["/bin/sh", "-c", "python3 -c 'import sys; print(sys.executable)'; echo oops >&2; exit 3"], tmp_path
    )
    assert code == 3
    assert stderr == ["oops"]
    assert Path(capfd.readouterr().out.strip()).parent == Path(sys.executable).parent
