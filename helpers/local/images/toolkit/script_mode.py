"""Script mode: a framework image runs the learner's own training script, as the training toolkit does.

Followed from aws/sagemaker-training-toolkit (``src/sagemaker_training``):

* ``environment.read_hyperparameters``: every value of hyperparameters.json is JSON-decoded (a value
  that is not JSON stays the string it is); the ``sagemaker_*`` ones configure the toolkit and the
  rest are the script's.
* ``mapping.to_cmd_args``: the script's hyperparameters, sorted, as ``--name value`` (``-n`` for a
  one-letter name); a dict becomes ``k=v,k2=v2`` and anything else ``str(value)``.
* ``Environment.to_env_vars`` / ``mapping.to_env_vars``: the ``SM_*`` variables, strings as they are
  and anything else as compact JSON with sorted keys.
* ``_entry_point_type``: a ``.sh`` entry point is a command (run with /bin/sh), a ``.py`` a program.
* ``modules.install_requirements``: a ``requirements.txt`` next to the script is installed first
  (:mod:`helpers.local.images.toolkit.requirements`: only what is missing, into the job's folder).
* ``errors.ExecuteUserScriptError``: a failing script is reported as
  ``ExecuteUserScriptError:\\nExitCode <n>\\nErrorMessage "<stderr from the error on>"\\nCommand "..."``
  in ``output/failure``, which SageMaker shows as ``AlgorithmError: ...``.

The service unpacks ``sagemaker_submit_directory`` (the SDK's sourcedir.tar.gz) into ``<opt/ml>/code``
before the container starts: the toolkit's ``/opt/ml/code``. A Python script runs inside this
process with :mod:`runpy` rather than in a new ``python``, so what the image's warm process has
imported (numpy, scikit-learn, ...) is not imported again; it sees the same ``sys.argv``, working
folder and ``sys.path[0]`` as ``python train.py <args>`` would give it.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from helpers.local.images.toolkit.container import TrainingEnvironment, exit_code_of, write_failure
from helpers.local.images.toolkit.entrypoint import run_command
from helpers.local.images.toolkit.errors import UserError
from helpers.local.images.toolkit.requirements import PACKAGES_DIR, install_requirements, use_packages

PROGRAM_PARAM = "sagemaker_program"
SUBMIT_DIR_PARAM = "sagemaker_submit_directory"
LOG_LEVEL_PARAM = "sagemaker_container_log_level"
JOB_NAME_PARAM = "sagemaker_job_name"
SAGEMAKER_PREFIX = "sagemaker_"
CODE_DIR = "code"  # /opt/ml/code, where the submitted source directory is unpacked
DEFAULT_LOG_LEVEL = 20  # logging.INFO
# What the toolkit reads itself; any other sagemaker_* is an "additional framework parameter".
_TOOLKIT_PARAMS = (PROGRAM_PARAM, SUBMIT_DIR_PARAM, LOG_LEVEL_PARAM, JOB_NAME_PARAM, "sagemaker_region")
# The toolkit's process.watch keeps stderr from the first line that names one of these on.
_PYTHON_ERRORS = ("Error", "Exception", "Traceback")
_STDERR_LINES_KEPT = 40


def decode_hyperparameters(hyperparameters: dict[str, str]) -> dict[str, Any]:
    """The values as the toolkit reads them: JSON-decoded, or the string itself when it is not JSON."""
    decoded: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        try:
            decoded[name] = json.loads(value)
        except (ValueError, TypeError):
            decoded[name] = value
    return decoded


def split_hyperparameters(hyperparameters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(sagemaker_*, the script's own)``."""
    toolkit = {k: v for k, v in hyperparameters.items() if k.startswith(SAGEMAKER_PREFIX)}
    user = {k: v for k, v in hyperparameters.items() if not k.startswith(SAGEMAKER_PREFIX)}
    return toolkit, user


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """The script's arguments, formatted as the toolkit's ``mapping.to_cmd_args``."""
    args: list[str] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        args.append(f"--{name}" if len(name) > 1 else f"-{name}")
        if isinstance(value, dict):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def training_env_vars(env: TrainingEnvironment, framework_module: str) -> dict[str, str]:
    """The ``SM_*`` environment the toolkit gives a script, pointing into this job's folder."""
    toolkit, user = split_hyperparameters(decode_hyperparameters(env.hyperparameters))
    program = toolkit.get(PROGRAM_PARAM)
    module_name = program[:-3] if isinstance(program, str) and program.endswith(".py") else program
    channels = {name: str(env.channel_dir(name)) for name in env.input_data_config}
    resource_config = env.resource_config or {"current_host": env.current_host, "hosts": [env.current_host]}
    hosts = resource_config.get("hosts", [env.current_host])
    root = env.root
    training_env: dict[str, Any] = {
        "additional_framework_parameters": {k: v for k, v in toolkit.items() if k not in _TOOLKIT_PARAMS},
        "channel_input_dirs": channels,
        "current_host": env.current_host,
        "current_instance_group": resource_config.get("current_group_name", "homogeneousCluster"),
        "current_instance_type": resource_config.get("current_instance_type", "local"),
        "framework_module": framework_module,
        "hosts": hosts,
        "hyperparameters": user,
        "input_config_dir": str(root / "input" / "config"),
        "input_data_config": env.input_data_config,
        "input_dir": str(root / "input"),
        "is_master": env.current_host == sorted(hosts)[0],
        "job_name": os.environ.get("TRAINING_JOB_NAME") or toolkit.get(JOB_NAME_PARAM),
        "log_level": toolkit.get(LOG_LEVEL_PARAM, DEFAULT_LOG_LEVEL),
        "master_hostname": sorted(hosts)[0],
        "model_dir": str(env.model_dir),
        # As the toolkit: the sagemaker_submit_directory value itself (the S3 URI), not /opt/ml/code.
        "module_dir": str(toolkit.get(SUBMIT_DIR_PARAM, root / CODE_DIR)),
        "module_name": module_name,
        "network_interface_name": resource_config.get("network_interface_name", "eth0"),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(env.output_dir / "data"),
        "output_dir": str(env.output_dir),
        "output_intermediate_dir": str(env.output_dir / "intermediate"),
        "resource_config": resource_config,
        "user_entry_point": program,
    }
    variables = {
        key: training_env[key]
        for key in (
            "hosts",
            "network_interface_name",
            "user_entry_point",
            "resource_config",
            "input_data_config",
            "output_data_dir",
            "current_host",
            "current_instance_type",
            "current_instance_group",
            "module_name",
            "log_level",
            "framework_module",
            "input_dir",
            "input_config_dir",
            "output_dir",
            "num_cpus",
            "num_gpus",
            "num_neurons",
            "model_dir",
            "module_dir",
            "output_intermediate_dir",
        )
    }
    variables.update(
        hps=user,
        framework_params=training_env["additional_framework_parameters"],
        channels=sorted(channels),
        training_env=training_env,
        user_args=to_cmd_args(user),
    )
    variables.update({f"channel_{name}": path for name, path in channels.items()})
    variables.update({f"hp_{name}": value for name, value in user.items()})
    return {f"SM_{key.upper()}": _env_value(value) for key, value in variables.items()}


class _StderrTail:
    """``sys.stderr`` that also keeps its last lines, for the ErrorMessage of a failing script."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._partial = ""
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self._stream.write(text)
        *complete, self._partial = (self._partial + text).split("\n")
        self.lines = (self.lines + complete)[-_STDERR_LINES_KEPT:]
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def all_lines(self) -> list[str]:
        return self.lines + ([self._partial] if self._partial else [])


def run_python(
    script: Path, args: list[str], packages: list[Path] | None = None, cwd: Path | None = None
) -> tuple[int, list[str]]:
    """``python script args`` in this process: its argv, cwd and ``sys.path[0]``; (exit code, stderr).

    ``packages`` (what requirements.txt installed) comes right after the script's folder. The
    working folder is the script's own (the training toolkit's), or ``cwd``.
    """
    code_dir = script.parent
    saved_argv, saved_path, saved_stderr = sys.argv, list(sys.path), sys.stderr
    tail = _StderrTail(sys.stderr)
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(code_dir))
    use_packages(packages or [], after=str(code_dir))
    sys.stderr = tail  # type: ignore[assignment]
    os.chdir(cwd or code_dir)
    try:
        runpy.run_path(str(script), run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exit_code_of(exc)
    except BaseException:  # as the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr = saved_stderr
        sys.argv, sys.path[:] = saved_argv, saved_path
    return code, tail.all_lines()


def error_message(stderr_lines: list[str]) -> str:
    """What the toolkit's ``process.watch`` keeps: stderr from the first line naming an error on."""
    for start, line in enumerate(stderr_lines):
        if any(marker in line for marker in _PYTHON_ERRORS):
            kept = stderr_lines[start:]
            break
    else:
        kept = stderr_lines
    unique = dict.fromkeys(line.strip(" :\n") for line in kept if line.strip())
    return "\n".join(unique)


def entry_point(env: TrainingEnvironment) -> tuple[Path, dict[str, Any]]:
    """The script to run and the script's own hyperparameters, or UserError naming what is missing."""
    toolkit, user = split_hyperparameters(decode_hyperparameters(env.hyperparameters))
    program = toolkit.get(PROGRAM_PARAM)
    if not program:
        raise UserError(
            f"The hyperparameter {PROGRAM_PARAM} is missing: a framework image runs the training script "
            "it names (the SDK sets it from the estimator's entry_point)."
        )
    code_dir = env.root / CODE_DIR
    script = code_dir / str(program)
    if not script.is_file():
        source = toolkit.get(SUBMIT_DIR_PARAM, "the source directory")
        found = sorted(p.name for p in code_dir.iterdir()) if code_dir.is_dir() else []
        raise UserError(
            f"The entry point '{program}' was not found in {source} (files there: "
            f"{', '.join(found) or 'none'}): pass an entry_point that is inside source_dir."
        )
    return script, user


def run_script(env: TrainingEnvironment, framework_module: str) -> None:
    """Run the learner's entry point with the toolkit's arguments and ``SM_*`` environment.

    A script that fails ends the container with its exit code and ``output/failure`` set to the
    toolkit's ExecuteUserScriptError, unless the script wrote ``output/failure`` itself.
    """
    script, user = entry_point(env)
    args = to_cmd_args(user)
    packages = install_requirements(script.parent, env.root / PACKAGES_DIR)
    os.environ.update(training_env_vars(env, framework_module))
    # The toolkit's runner.py exports these for every entry point type as well.
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    python = script.suffix == ".py"
    command = [sys.executable, script.name, *args] if python else ["/bin/sh", script.name, *args]
    # The toolkit's log line before the script's own output.
    print(f"Invoking script with the following command:\n\n{' '.join(command)}\n", flush=True)
    if python:
        code, stderr = run_python(script, args, packages)
    else:
        use_packages(packages)  # on PYTHONPATH for the Python the script starts
        code, stderr = run_command(["/bin/sh", str(script), *args], env.root, cwd=script.parent)
    if code == 0:
        return
    failure = env.output_dir / "failure"
    if not (failure.exists() and failure.read_text().strip()):
        write_failure(
            env.root,
            f'ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "{error_message(stderr)}"\n'
            f'Command "{" ".join(command)}"',
        )
    print("Reporting training FAILURE", file=sys.stderr, flush=True)
    raise SystemExit(code)
