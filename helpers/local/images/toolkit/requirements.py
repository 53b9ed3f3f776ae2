"""``requirements.txt`` in the learner's source folder, installed as the SageMaker toolkits do.

The training toolkit (aws/sagemaker-training-toolkit ``modules.install_requirements``) runs
``python -m pip install -r requirements.txt`` in ``/opt/ml/code`` before the script; the inference
toolkit (aws/sagemaker-inference-toolkit ``model_server._install_requirements``) does the same for
``/opt/ml/model/code/requirements.txt`` when the model server starts, and a failure stops it.

Locally a container shares the project's environment, so nothing is installed into it:

* when every line names a distribution that is installed in a version it allows, nothing runs;
* otherwise pip installs the file with ``--prefix`` into the container's own ``.packages`` folder,
  whose site-packages go first on ``sys.path`` (after the script's folder) and on ``PYTHONPATH``;
  pip skips what the environment already has, so only the missing packages land there;
* a line that cannot be checked here (a URL, ``-r other.txt``, an option such as ``--find-links``)
  counts as missing, so the file goes to pip as it is.

The service passes pip no index of its own: pip uses its configuration (PyPI unless ``PIP_INDEX_URL``
or pip.conf say otherwise), as the real containers do; a requirements file may carry
``--no-index`` / ``--find-links`` lines itself to install offline.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from helpers.local.images.toolkit.errors import UserError

REQUIREMENTS_FILE = "requirements.txt"
PACKAGES_DIR = ".packages"  # inside the container's folder, next to code/ and model/


def unmet_requirements(path: Path, extra_paths: tuple[Path, ...] = ()) -> list[str]:
    """The lines of ``path`` that the installed packages (here or in ``extra_paths``) do not satisfy,
    or that cannot be checked."""
    search = [str(p) for p in extra_paths] + sys.path
    unmet = []
    environment = default_environment()
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            unmet.append(line)  # an option, -r/-e, a bare path or URL: pip's business
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue  # not for this platform, as pip would skip it
        if requirement.url:
            unmet.append(line)
            continue
        found = next(iter(metadata.distributions(name=requirement.name, path=search)), None)
        if found is None or not requirement.specifier.contains(found.version, prereleases=True):
            unmet.append(line)
    return unmet


def site_folders(target: Path) -> list[Path]:
    """Where ``pip install --prefix target`` puts pure and compiled packages."""
    paths = {"base": str(target), "platbase": str(target)}
    return list(
        dict.fromkeys(
            Path(sysconfig.get_path(kind, "posix_prefix", paths)) for kind in ("purelib", "platlib")
        )
    )


def install_requirements(code_dir: Path, target: Path) -> list[Path]:
    """Install ``code_dir/requirements.txt`` under ``target`` if anything in it is unmet.

    Returns the folders to put on ``sys.path`` (none when nothing was ever installed there). A pip
    that fails raises UserError naming the requirements and pip's last error line.
    """
    path = code_dir / REQUIREMENTS_FILE
    if not path.is_file():
        return []
    target.mkdir(parents=True, exist_ok=True)
    # The instances of one endpoint variant share a folder and start together: one installs.
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install(path, code_dir, target)


def _install(path: Path, code_dir: Path, target: Path) -> list[Path]:
    folders = site_folders(target)
    unmet = unmet_requirements(path, tuple(folders))
    if not unmet:
        print(f"{REQUIREMENTS_FILE}: all requirements are already installed; nothing to install.", flush=True)
        return [folder for folder in folders if folder.is_dir()]
    print(f"{REQUIREMENTS_FILE}: installing {len(unmet)} requirement(s): {', '.join(unmet)}", flush=True)
    # --prefix, not --target: pip then counts what the environment has (numpy, scikit-learn, ...) as
    # installed and adds only what is missing; --target would install every dependency again.
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-warn-script-location",
        "--prefix",
        str(target),
        "-r",
        REQUIREMENTS_FILE,
    ]
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [*map(str, folders), *filter(None, [environment.get("PYTHONPATH")])]
    )
    sys.stdout.flush()
    result = subprocess.run(
        command,
        cwd=code_dir,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
    )
    sys.stdout.write(result.stdout)
    sys.stdout.write(result.stderr)
    sys.stdout.flush()
    if result.returncode != 0:
        errors = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        last = next(
            (line for line in reversed(errors) if line.startswith("ERROR")), errors[-1] if errors else ""
        )
        print(f"{REQUIREMENTS_FILE}: pip failed (exit code {result.returncode}).", flush=True)
        raise UserError(
            f"the packages in {REQUIREMENTS_FILE} could not be installed ({', '.join(unmet)}): {last}"
        )
    return [folder for folder in folders if folder.is_dir()]


def use_packages(folders: list[Path], after: str | None = None) -> None:
    """Put ``folders`` first on ``sys.path`` (just after ``after`` when that leads it) and PYTHONPATH."""
    if not folders:
        return
    position = 1 if after is not None and sys.path and sys.path[0] == after else 0
    sys.path[position:position] = [str(folder) for folder in folders]
    existing = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([*map(str, folders), *([existing] if existing else [])])
