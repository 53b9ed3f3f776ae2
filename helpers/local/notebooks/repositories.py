"""Git repositories cloned into a notebook instance's volume, as SageMaker clones them.

SageMaker clones each repository of the instance into ``/home/ec2-user/SageMaker/<repo-name>``,
``<repo-name>`` being the URL's last path segment without ``.git``. Here the clone is real
``git clone`` of an https, ssh or file URL or of a local path to a repository.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers.local.core.paths import UnsafePath, child
from helpers.local.notebooks.commands import run_command

CLONE_TIMEOUT_SECONDS = 300
CODE_REPOSITORY = "CodeRepository"
# A repository given by name (a code repository resource) rather than by URL or path.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")


def is_repository_name(repository: str) -> bool:
    return _NAME.fullmatch(repository) is not None


def resolve(store, repository: str) -> tuple[str, str | None]:
    """The URL (and branch) to clone for ``repository``: a URL or path as it is, a name as its resource says.

    Raises CloneFailed for a name no code repository has.
    """
    if not is_repository_name(repository):
        return repository, None
    resource = store.get(CODE_REPOSITORY, repository)
    if resource is None:
        raise CloneFailed(
            f"Cannot clone the code repository '{repository}': no code repository of that name exists "
            "(CreateCodeRepository)."
        )
    return resource["GitConfig"]["RepositoryUrl"], resource["GitConfig"].get("Branch")


class CloneFailed(Exception):
    """The message names the repository and git's error line."""


def folder_name(repository: str) -> str:
    """The folder SageMaker clones ``repository`` into: its last path segment without ``.git``."""
    last = repository.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    return last.removesuffix(".git")


def clone(repository: str, volume: Path, branch: str | None = None) -> Path:
    """``git clone repository`` (at ``branch``) into the volume; raises CloneFailed with git's own words."""
    try:
        target = child(volume, folder_name(repository))
    except UnsafePath as exc:
        raise CloneFailed(f"Cannot clone the Git repository '{repository}': {exc}") from None
    if target.exists():
        raise CloneFailed(
            f"Cannot clone the Git repository '{repository}': the folder {target.name} already exists "
            "on the notebook instance; give each repository its own name."
        )
    # No prompt for a password: a repository that needs credentials fails instead of hanging.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
    outcome = run_command(
        [
            "git",
            "clone",
            "--quiet",
            *(["--branch", branch] if branch else []),
            "--",
            os.path.expanduser(repository),
            str(target),
        ],  # fmt: skip
        volume,
        env,
        CLONE_TIMEOUT_SECONDS,
    )
    if outcome.code is None:
        raise CloneFailed(
            f"Failed to clone the Git repository '{repository}': git did not finish within "
            f"{CLONE_TIMEOUT_SECONDS} s."
        )
    if outcome.code != 0:
        lines = [line.strip() for line in outcome.lines if line.strip()]
        error = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
        raise CloneFailed(
            f"Failed to clone the Git repository '{repository}': {error or (lines or ['git failed'])[-1]}"
        )
    return target
