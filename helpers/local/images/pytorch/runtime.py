"""torch as each PyTorch container gets it: imported once, with the container's own CPU share.

``import torch`` takes one to several seconds, so the image's warm process imports it (through
``train`` and ``serve``) before forking containers. Importing starts no thread and no torch op may
run there: the intra-op pool would be created in the warm process and a forked child would inherit
a pool whose threads do not exist. A fresh interpreter's torch sizes that pool from OMP_NUM_THREADS
when it first runs an op; a forked child has torch loaded already, so the count is set here.
"""

from __future__ import annotations

import os

import torch

# Loaded by torch.optim when a script creates its first optimizer (with sympy, ~800 modules, 2 s or
# more); imported here, the warm process has it ready for every training container. It starts no thread.
import torch._dynamo  # noqa: F401

from helpers.local.images.toolkit.framework_version import log_framework_version

THREADS_ENV = "OMP_NUM_THREADS"


def cpu_share(env: os._Environ | dict[str, str] = os.environ) -> int:
    """The container's threads: the first number of OMP_NUM_THREADS ("4" or "4,2"), else every core."""
    try:
        count = int(env.get(THREADS_ENV, "").split(",", 1)[0])
    except ValueError:
        count = 0
    return count if count > 0 else os.cpu_count() or 1


def start_container() -> None:
    """Size torch's intra-op pool to the container's share and say which torch runs the script."""
    torch.set_num_threads(cpu_share())
    print(f"PyTorch {torch.__version__} on CPU with {torch.get_num_threads()} threads", flush=True)
    # Whatever framework_version the SDK named, the script runs on the installed torch (CPU only).
    log_framework_version("PyTorch", torch.__version__)
