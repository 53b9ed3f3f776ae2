"""Containers forked from a warm image process keep the container contract of spawned ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.local import control
from helpers.local.containers.processes import PROCESSES
from helpers.local.containers.runner import WARM_IMAGES, Container, ModelServer
from helpers.local.containers.warm import ForkedProcess
from helpers.local.core.config import load_config
from tests.conftest import free_port
from tests.service_helpers import regression_csv, session_for, training_request, wait_training, wait_until

PROBE = "tests.local.containers.probe_image"
XGBOOST = "helpers.local.images.xgboost"
LINEAR_LEARNER = "helpers.local.images.linear_learner"


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def probe_image_importable(monkeypatch) -> None:
    # Containers run in their job folder: the test image under tests/ must be on their path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    yield
    PROCESSES.stop_all()
    PROCESSES.track_in(None)  # open again for the next test


def _folder(tmp_path: Path, hyperparameters: dict[str, str], channels: dict[str, str] | None = None) -> Path:
    root = tmp_path / "ml"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    content = {name: {"ContentType": "text/csv"} for name in channels or {}}
    (config / "inputdataconfig.json").write_text(json.dumps(content))
    for name, body in (channels or {}).items():
        (root / "input" / "data" / name).mkdir(parents=True)
        (root / "input" / "data" / name / f"{name}.csv").write_text(body)
    (root / "model").mkdir()
    return root


def _run(
    module: str, root: Path, environment: dict[str, str] | None = None
) -> tuple[Container, int, list[str]]:
    lines: list[str] = []
    container = Container(module, "train", root, lines.append, environment)
    return container, container.wait(), [line.rstrip("\n") for line in lines]


def _report(lines: list[str]) -> dict:
    return json.loads(next(line for line in lines if line.startswith('{"cwd"')))


def _warm(module: str, environment: dict[str, str] | None = None) -> subprocess.Popen:
    assert WARM_IMAGES.warm(module, {**os.environ, **(environment or {})})
    process = WARM_IMAGES.process(module, {**os.environ, **(environment or {})})
    assert process is not None
    return process


def test_forked_container_has_the_container_folder_environment_and_its_own_group(tmp_path):
    zygote = _warm(PROBE)
    root = _folder(tmp_path, {})
    container, code, lines = _run(PROBE, root, {"PROBE_SETTING": "from the job"})
    assert isinstance(container.proc, ForkedProcess) and code == 0
    report = _report(lines)
    assert lines[0] == "probe started"  # output arrives line by line, stdout and stderr merged
    # The container's output names its folder as /opt/ml, as on AWS.
    assert report["cwd"] == "/opt/ml"
    expected = {**os.environ, "PROBE_SETTING": "from the job", "SAGEMAKER_OPT_ML": "/opt/ml"}
    expected.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS=report["environ"]["OMP_NUM_THREADS"])
    assert report["environ"] == expected  # the container's environment, not the warm process's
    assert report["pgid"] == report["sid"] == report["pid"] == container.proc.pid
    assert report["ppid"] == zygote.pid
    assert report["argv"][1:] == ["train"]


def test_exit_codes_and_failure_files_are_those_of_a_spawned_container(tmp_path):
    _warm(PROBE)
    root = _folder(tmp_path / "client", {"behaviour": "client_error"})
    container, code, lines = _run(PROBE, root)
    assert isinstance(container.proc, ForkedProcess)
    assert code == 1 and "ERROR: the probe was asked to fail" in lines
    assert (root / "output" / "failure").read_text() == "ClientError: the probe was asked to fail"
    root = _folder(tmp_path / "crash", {"behaviour": "crash"})
    _, code, lines = _run(PROBE, root)
    assert code == 2 and any("RuntimeError: the probe crashed" in line for line in lines)
    assert (root / "output" / "failure").read_text() == "AlgorithmError: RuntimeError: the probe crashed"


def test_stop_reaches_the_forked_container_and_its_children(tmp_path):
    _warm(PROBE)
    lines: list[str] = []
    container = Container(PROBE, "train", _folder(tmp_path, {"behaviour": "sleep"}), lines.append)
    assert isinstance(container.proc, ForkedProcess)
    wait_until(lambda: any(line.startswith('{"helper"') for line in lines), "the probe started its helper")
    helper = json.loads(next(line for line in lines if line.startswith('{"helper"')))["helper"]
    container.stop(timeout=5)
    assert container.proc.returncode == -signal.SIGTERM
    wait_until(lambda: not _alive(helper), "the helper in the container's group is gone")
    assert container.wait() == -signal.SIGTERM


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_killed_warm_process_fails_neither_the_running_nor_the_next_container(tmp_path, caplog):
    zygote = _warm(PROBE)
    running = Container(PROBE, "train", _folder(tmp_path / "a", {"behaviour": "exit_soon"}), lambda _: None)
    assert isinstance(running.proc, ForkedProcess)
    os.killpg(zygote.pid, signal.SIGKILL)
    wait_until(lambda: zygote.poll() is not None, "the warm process is gone")
    assert running.wait() == 0  # it outlived its warm process and still reports how it ended
    container, code, lines = _run(PROBE, _folder(tmp_path / "b", {}))
    assert code == 0 and not isinstance(container.proc, ForkedProcess)  # spawned as before
    assert "The warm process of tests.local.containers.probe_image ended" in caplog.text
    assert _warm(PROBE).pid != zygote.pid  # and it was started again
    container, code, _ = _run(PROBE, _folder(tmp_path / "c", {}))
    assert code == 0 and isinstance(container.proc, ForkedProcess)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_forked_container_uses_the_thread_share_it_was_given(tmp_path, monkeypatch, threads):
    environment = {"OMP_NUM_THREADS": threads}
    zygote = _warm(PROBE, environment)
    assert len(os.listdir(f"/proc/{zygote.pid}/task")) == 1  # no thread pool before a fork
    forked, _, lines = _run(PROBE, _folder(tmp_path / "forked", {}), environment)
    assert isinstance(forked.proc, ForkedProcess)
    monkeypatch.setenv("SAGEMAKER_LOCAL_WARM_IMAGES", "0")
    spawned, _, spawned_lines = _run(PROBE, _folder(tmp_path / "spawned", {}), environment)
    assert not isinstance(spawned.proc, ForkedProcess)
    report, spawned_report = _report(lines), _report(spawned_lines)
    assert report["openmp_threads"] == spawned_report["openmp_threads"] == int(threads)
    assert report["openblas_threads"] == spawned_report["openblas_threads"] == int(threads)
    assert report["threads_now"] == spawned_report["threads_now"]


def test_forked_containers_draw_different_random_numbers(tmp_path):
    _warm(PROBE)
    first = _report(_run(PROBE, _folder(tmp_path / "a", {}))[2])
    second = _report(_run(PROBE, _folder(tmp_path / "b", {}))[2])
    assert first["random"] != second["random"]


BOSTON_LIKE = {"train": regression_csv(227, 13, seed=1), "validation": regression_csv(112, 13, seed=2)}


@pytest.mark.parametrize(
    ("module", "hyperparameters", "model_file"),
    [
        (
            XGBOOST,
            {"num_round": "50", "max_depth": "5", "early_stopping_rounds": "5", "seed": "3"},
            "xgboost-model",
        ),
        (LINEAR_LEARNER, {"predictor_type": "regressor", "feature_dim": "13", "epochs": "3"}, "model_algo-1"),
    ],
)
def test_forked_training_gives_the_same_model_as_spawned(
    tmp_path, monkeypatch, module, hyperparameters, model_file
):
    _warm(module)
    forked, code, lines = _run(module, _folder(tmp_path / "forked", hyperparameters, BOSTON_LIKE))
    assert code == 0 and isinstance(forked.proc, ForkedProcess)
    monkeypatch.setenv("SAGEMAKER_LOCAL_WARM_IMAGES", "0")
    spawned, code, spawned_lines = _run(module, _folder(tmp_path / "spawned", hyperparameters, BOSTON_LIKE))
    assert code == 0 and not isinstance(spawned.proc, ForkedProcess)
    model = (tmp_path / "forked" / "ml" / "model" / model_file).read_bytes()
    assert model == (tmp_path / "spawned" / "ml" / "model" / model_file).read_bytes()
    assert len(lines) == len(spawned_lines)


def test_forked_model_server_answers_like_a_spawned_one(tmp_path, monkeypatch):
    root = _folder(tmp_path / "train", {"num_round": "20", "max_depth": "3"}, BOSTON_LIKE)
    _run(XGBOOST, root)
    rows = "\n".join(line.split(",", 1)[1] for line in BOSTON_LIKE["validation"].splitlines()[:5]).encode()
    _warm(XGBOOST, {})
    answers = []
    for warm in ("1", "0"):
        monkeypatch.setenv("SAGEMAKER_LOCAL_WARM_IMAGES", warm)
        server = ModelServer(XGBOOST, root, lambda _: None)
        assert isinstance(server.container.proc, ForkedProcess) == (warm == "1")
        server.wait_until_healthy()
        answer = server.invoke(rows, "text/csv", None)
        server.stop()
        assert answer.status == 200
        answers.append(answer.body)
    assert answers[0] == answers[1]


def test_service_stop_leaves_no_warm_process_and_no_container(tmp_path):
    config = load_config(free_port(), tmp_path / "state")
    control.start(config)
    try:
        session = session_for(config)
        sm, s3 = (session.client(name, endpoint_url=config.url) for name in ("sagemaker", "s3"))
        s3.create_bucket(Bucket="warm")
        for channel, body in BOSTON_LIKE.items():
            s3.put_object(Bucket="warm", Key=f"data/{channel}/{channel}.csv", Body=body.encode())
        ledger = config.state_dir / "processes"
        commands: dict[int, list[str]] = {}
        # The first job starts the warm process; one of the next (once it is ready) is forked from it.
        deadline = time.monotonic() + 120  # importing xgboost on a busy machine can take a while
        for number in range(1000):
            name = f"warm-{number}"
            sm.create_training_job(**training_request(name, "warm", num_round="1000000"))
            wait_until(
                lambda name=name: (
                    sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training"
                ),
                "the job trains",
            )
            commands.update(_ledger(ledger))
            if any(command[0] == "forked" for command in commands.values()) or time.monotonic() > deadline:
                break
            sm.stop_training_job(TrainingJobName=name)
            assert wait_training(sm, name)["TrainingJobStatus"] == "Stopped"
            time.sleep(0.5)
        assert any(command[0] == "forked" for command in commands.values())
        assert any("forkserver" in " ".join(command) for command in commands.values())
    finally:
        control.stop(config)
    for pid in commands:
        assert not _alive(pid), commands[pid]
    assert not list(ledger.iterdir())


def _ledger(folder: Path) -> dict[int, list[str]]:
    entries = {}
    for path in folder.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        entries[entry["pid"]] = entry["command"]
    return entries
