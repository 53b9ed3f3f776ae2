"""The PyTorch inference image serving TorchScript models and the learner's script, through the service.

What is followed: aws/sagemaker-pytorch-inference-toolkit ``default_pytorch_inference_handler.py``
(``model_fn``: ``model.pt`` or the only ``.pt``/``.pth`` file, with ``torch.jit.load``; ``input_fn``:
the toolkit's decoders into a FloatTensor for text, ``torch.from_numpy`` for NPY; ``predict_fn``:
``model.eval()`` under ``torch.no_grad()``; ``output_fn``: the first supported type of Accept) and
``handler_service.py`` (the inference toolkit's ``Transformer``: a script's functions replace the
defaults); the SDK's ``sagemaker/pytorch/model.py`` (``PyTorchModel`` repacks the code into
``code/`` of model.tar.gz) and ``PyTorchPredictor`` (NPY both ways).
"""

from __future__ import annotations

import io
import json
import textwrap

import numpy as np
import pytest
import torch

from tests.service_helpers import (
    deploy_script,
    endpoint_log_text,
    endpoint_of,
    image_model,
    tar_gz,
    unique,
    wait_transform,
    wait_until,
)

PYTORCH_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"

SCRIPTS = {
    # Its own request format: "x1 x2" separated by spaces; the default predict_fn and output_fn.
    "custom.py": textwrap.dedent(
        """
        import torch


        def input_fn(input_data, content_type):
            assert content_type == "text/plain", content_type
            return torch.tensor([[float(v) for v in input_data.decode().split()]])
        """
    ),
    "raises.py": "def predict_fn(data, model):\n    raise RuntimeError('the script broke')\n",
}


def _torchscript_model() -> bytes:
    """y = 1 + 2*x1 + 3*x2, so answers are checked exactly."""
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, 3.0]]))
        model.bias.fill_(1.0)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(model), buffer)
    return buffer.getvalue()


def _state_dict() -> bytes:
    """What ``torch.save(model.state_dict(), ...)`` writes: not TorchScript."""
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(2, 1).state_dict(), buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def artifacts(s3, bucket) -> dict[str, str]:
    weights = _torchscript_model()
    repacked = {"model.pt": weights, **{f"code/{name}": text.encode() for name, text in SCRIPTS.items()}}
    prefix = unique("pytorch")
    uris = {}
    for name, files in (
        ("repacked", repacked),
        ("bare", {"model.pt": weights}),
        ("no-model-file", {"weights.bin": weights}),
        ("state-dict", {"model.pth": _state_dict()}),
    ):
        key = f"{prefix}/{name}.tar.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=tar_gz(files))
        uris[name] = f"s3://{bucket}/{key}"
    return uris


@pytest.fixture(scope="module")
def runtime(boto):
    return boto.client("sagemaker-runtime")


def test_the_sdks_pytorch_model_predicts_with_the_default_handlers(service, runtime, artifacts, tmp_path):
    """``PyTorchModel(entry_point=...)``: a script without functions, so every handler is the toolkit's."""
    from sagemaker.pytorch import PyTorchModel

    import helpers

    session, role = helpers.connect("local")
    (tmp_path / "inference.py").write_text("# The toolkit's model_fn loads model.pt (TorchScript).\n")
    model = PyTorchModel(
        model_data=artifacts["bare"],
        role=role,
        entry_point="inference.py",
        source_dir=str(tmp_path),
        framework_version="2.1",
        py_version="py310",
        sagemaker_session=session,
    )
    predictor = model.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    endpoint = predictor.endpoint_name
    try:
        # PyTorchPredictor sends and reads NPY; the float32 array becomes a tensor of that dtype.
        answer = predictor.predict(np.array([[1.0, 1.0], [0.0, 2.0]], dtype=np.float32))
        assert answer.shape == (2, 1) and answer.ravel() == pytest.approx([6.0, 7.0])

        # Text types become a FloatTensor; the first Accept type the toolkit supports answers.
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="application/json",
            Body="[[1, 0]]",
            Accept="text/html, text/csv",
        )
        assert answer["ContentType"] == "text/html, text/csv"
        assert float(answer["Body"].read()) == pytest.approx(3.0)

        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="2,0")
        assert answer["ContentType"] == "application/json"
        # One CSV row decodes to a 1-D array (np.genfromtxt), so the answer is 1-D too, as on AWS.
        assert json.loads(answer["Body"].read()) == [pytest.approx(5.0)]

        with pytest.raises(runtime.exceptions.ModelError) as error:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/plain", Body="1 1")
        assert error.value.response["OriginalStatusCode"] == 415
    finally:
        predictor.delete_endpoint()


def test_the_scripts_own_input_fn_for_text_plain(sm, runtime, artifacts):
    endpoint = deploy_script(sm, PYTORCH_IMAGE, artifacts["repacked"], "custom.py")
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/plain", Body="1 1", Accept="application/json"
    )
    assert json.loads(answer["Body"].read()) == [[pytest.approx(6.0)]]


def test_a_raising_predict_fn_is_a_model_error_with_the_traceback_in_the_log(sm, runtime, boto, artifacts):
    endpoint = deploy_script(sm, PYTORCH_IMAGE, artifacts["repacked"], "raises.py")
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json", Body="[[1, 1]]")
    assert error.value.response["OriginalStatusCode"] == 500
    assert "the script broke" in error.value.response["OriginalMessage"]

    def log_text() -> str:
        return endpoint_log_text(boto, endpoint)

    wait_until(lambda: "RuntimeError: the script broke" in log_text(), "the traceback in the endpoint's log")
    assert "Traceback" in log_text() and "PyTorch " in log_text()


def test_without_a_model_file_the_default_model_fn_fails_the_endpoint(sm, artifacts):
    desc = endpoint_of(sm, image_model(sm, PYTORCH_IMAGE, artifacts["no-model-file"], {}))
    assert desc["EndpointStatus"] == "Failed"
    assert "Exactly one .pth or .pt file is required for PyTorch models: []" in desc["FailureReason"]


def test_a_model_that_is_not_torchscript_needs_its_own_model_fn(sm, artifacts):
    desc = endpoint_of(sm, image_model(sm, PYTORCH_IMAGE, artifacts["state-dict"], {}))
    assert desc["EndpointStatus"] == "Failed"
    assert "model.pth. Please ensure model is saved using torchscript." in desc["FailureReason"]


def test_a_batch_transform_job_with_the_default_handlers(sm, s3, bucket, artifacts):
    model = image_model(sm, PYTORCH_IMAGE, artifacts["bare"], {})
    prefix = unique("pytorch-transform")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/input/rows.csv", Body=b"1,1\n0,0\n2,3\n")
    name = unique("pytorch-job")
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/input/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        BatchStrategy="MultiRecord",
        TransformOutput={"S3OutputPath": f"s3://{bucket}/{prefix}/output", "Accept": "text/csv"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/output/rows.csv.out")["Body"].read().decode()
    assert [float(v) for v in body.split()] == pytest.approx([6.0, 1.0, 14.0])
