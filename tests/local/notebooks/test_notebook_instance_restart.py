"""A notebook instance outlives its service: a stop or a crash of the service loses nothing acknowledged."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import urllib.request

from helpers.local import control
from helpers.local.core.config import ROLE_ARN, load_config
from tests.conftest import free_port
from tests.local.notebooks.test_notebook_instances import FAST, jupyter, read_text
from tests.service_helpers import processes_in, session_for


def _sagemaker(config):
    return session_for(config).client("sagemaker", endpoint_url=config.url)


def _jupyter_pids(config) -> list[int]:
    """Pids of Jupyter servers in the service's process ledger."""
    pids = []
    for entry in (config.state_dir / "processes").glob("*.json"):
        record = json.loads(entry.read_text())
        if "jupyterlab" in record["command"]:
            pids.append(record["pid"])
    return pids


def _in_service_url(sm, name: str) -> str:
    sm.get_waiter("notebook_instance_in_service").wait(NotebookInstanceName=name, WaiterConfig=FAST)
    return sm.create_presigned_notebook_instance_url(NotebookInstanceName=name)["AuthorizedUrl"]


def test_service_stop_and_crash_bring_the_instance_back_with_its_files(tmp_path, monkeypatch):
    # The user's own AWS settings stay out of the instance: it has the service's credentials only.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        sm = _sagemaker(config)
        script = 'sleep 2\necho created >> on-create.txt\necho "${AWS_SESSION_TOKEN:-none}" > aws.txt\n'
        slow = base64.b64encode(script.encode()).decode()
        sm.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName="slow", OnCreate=[{"Content": slow}]
        )
        sm.create_notebook_instance(
            NotebookInstanceName="durable",
            InstanceType="ml.t3.medium",
            RoleArn=ROLE_ARN,
            LifecycleConfigName="slow",
        )
        # The service stops while the instance is being created: the next start carries the Create out.
        assert control.stop(config)
        control.start(config)
        sm = _sagemaker(config)
        url = _in_service_url(sm, "durable")
        assert read_text(url, "on-create.txt") == "created\n"
        assert read_text(url, "aws.txt") == "none\n"
        saved = {"type": "file", "format": "text", "content": "kept\n"}
        assert jupyter(url, "/api/contents/notes.txt", "PUT", saved)[0] in (200, 201)
        [server] = _jupyter_pids(config)
        assert server in processes_in(config.state_dir)

        assert control.stop(config)
        assert processes_in(config.state_dir) == []  # no Jupyter server (nor kernel) outlives the service
        assert _jupyter_pids(config) == []

        control.start(config)
        sm = _sagemaker(config)
        url = _in_service_url(sm, "durable")
        assert read_text(url, "notes.txt") == "kept\n"

        # A killed service leaves its Jupyter server running; the next start replaces it.
        [orphan] = _jupyter_pids(config)
        service_pid = control.health(config)["pid"]
        os.kill(service_pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # started by this process: reap it
            os.waitpid(service_pid, 0)
        assert orphan in processes_in(config.state_dir)
        control.start(config)
        sm = _sagemaker(config)
        url = _in_service_url(sm, "durable")
        assert orphan not in processes_in(config.state_dir)
        assert read_text(url, "notes.txt") == "kept\n"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200

        sm.stop_notebook_instance(NotebookInstanceName="durable")
        sm.get_waiter("notebook_instance_stopped").wait(NotebookInstanceName="durable", WaiterConfig=FAST)
        assert processes_in(config.state_dir) == []
    finally:
        control.stop(config)
