"""Training in the PyTorch image: the learner's script, run on the training toolkit's contract.

As aws/sagemaker-pytorch-training-toolkit ``sagemaker_pytorch_container/training.py``: the
distributed-training variables (MASTER_ADDR = the first host, MASTER_PORT = 7777, the NCCL
settings) are set, then the toolkit's ``entry_point.run`` runs the script. A local job has one host,
so nothing is distributed; a script calling ``torch.distributed.init_process_group`` still finds them.
"""

from __future__ import annotations

import os

from helpers.local.images.pytorch.runtime import start_container
from helpers.local.images.toolkit.container import TrainingEnvironment
from helpers.local.images.toolkit.script_mode import run_script

# The real image's SAGEMAKER_TRAINING_MODULE is sagemaker_pytorch_container.training:main.
FRAMEWORK_MODULE = "helpers.local.images.pytorch.train:train"
MASTER_PORT = "7777"


def train(env: TrainingEnvironment) -> None:
    start_container()
    hosts = sorted((env.resource_config or {}).get("hosts") or [env.current_host])
    network_interface = (env.resource_config or {}).get("network_interface_name", "eth0")
    os.environ.update(
        MASTER_ADDR=hosts[0],
        MASTER_PORT=MASTER_PORT,
        NCCL_SOCKET_IFNAME=network_interface,
        NCCL_IB_DISABLE="1",
        NCCL_DEBUG="WARN",
    )
    run_script(env, FRAMEWORK_MODULE)
