"""The scikit-learn framework image serving the learner's own inference script, through the service.

What is followed: aws/sagemaker-inference-toolkit (``transformer.py``: ``model_fn`` once, then
``input_fn`` -> ``predict_fn`` -> ``output_fn`` or ``transform_fn``; ``decoder.py``/``encoder.py``:
JSON, CSV and NPY; ``errors.py``: the 415 message; ``environment.py``: Accept defaults to
application/json), aws/sagemaker-scikit-learn-container ``serving.py`` (no default ``model_fn``:
"Please provide a model_fn implementation.") and the SDK's ``repack_model`` (source under
``code/`` in model.tar.gz) or ``SAGEMAKER_SUBMIT_DIRECTORY`` = an S3 ``sourcedir.tar.gz``.
"""

from __future__ import annotations

import io
import json
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

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

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

LOAD = """\
import os
import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""
SCRIPTS = {
    # The usual script: model_fn only, the framework's input_fn/predict_fn/output_fn.
    "inference.py": LOAD,
    # Its own request format: "x1 x2" separated by spaces, answered as text.
    "custom.py": LOAD
    + textwrap.dedent(
        """
        import numpy as np


        def input_fn(input_data, content_type):
            assert content_type == "text/plain", content_type
            return np.array([[float(v) for v in input_data.decode().split()]])


        def predict_fn(data, model):
            return model.predict(data) * 10


        def output_fn(prediction, accept):
            return f"tens={prediction[0]:.1f}", "text/plain"
        """
    ),
    "raises.py": LOAD + "\n\ndef predict_fn(data, model):\n    raise RuntimeError('the script broke')\n",
    # transform_fn replaces input_fn, predict_fn and output_fn; it may take the request context too.
    "transform.py": LOAD
    + textwrap.dedent(
        """
        import json


        def transform_fn(model, input_data, content_type, accept, context):
            rows = json.loads(input_data)["rows"]
            return json.dumps({"got": content_type, "sums": model.predict(rows).tolist()}), accept
        """
    ),
    "transform_and_input.py": LOAD
    + "\n\ndef transform_fn(model, data, content_type, accept):\n    return b''\n"
    + "\n\ndef input_fn(data, content_type):\n    return data\n",
    "no_model_fn.py": "def predict_fn(data, model):\n    return model.predict(data)\n",
}


@pytest.fixture(scope="module")
def artifacts(s3, bucket) -> dict[str, str]:
    """model.tar.gz with the scripts in code/ (as the SDK repacks), and one without + sourcedir."""
    # y = 1 + 2*x1 + 3*x2, so answers are checked exactly.
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [2, 3]], dtype=float)
    model = LinearRegression().fit(x, 1 + 2 * x[:, 0] + 3 * x[:, 1])
    weights = io.BytesIO()
    joblib.dump(model, weights)
    repacked = {"model.joblib": weights.getvalue()}
    repacked.update({f"code/{name}": text.encode() for name, text in SCRIPTS.items()})
    prefix = unique("sklearn")
    uris = {}
    for name, files in (
        ("repacked", repacked),
        ("bare", {"model.joblib": weights.getvalue()}),
        ("sourcedir", {"inference.py": LOAD.encode()}),
    ):
        key = f"{prefix}/{name}.tar.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=tar_gz(files))
        uris[name] = f"s3://{bucket}/{key}"
    return uris


@pytest.fixture(scope="module")
def runtime(boto):
    return boto.client("sagemaker-runtime")


@pytest.fixture(scope="module")
def endpoint(sm, artifacts) -> str:
    return deploy_script(sm, SKLEARN_IMAGE, artifacts["repacked"], "inference.py")


def test_the_default_handlers_answer_csv_and_json_with_json_by_default(runtime, endpoint):
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1,1\n2,0")
    assert answer["ContentType"] == "application/json"
    assert json.loads(answer["Body"].read()) == pytest.approx([6.0, 5.0])

    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="application/json", Body="[[0, 2]]", Accept="text/csv"
    )
    assert answer["ContentType"] == "text/csv"
    assert float(answer["Body"].read()) == pytest.approx(7.0)


def test_npy_in_and_out(runtime, endpoint):
    request = io.BytesIO()
    np.save(request, np.array([[1.0, 2.0]]))
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/x-npy",
        Accept="application/x-npy",
        Body=request.getvalue(),
    )
    assert np.load(io.BytesIO(answer["Body"].read())) == pytest.approx([9.0])


def test_an_unsupported_content_type_is_the_toolkits_415(runtime, endpoint):
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/plain", Body="1 1")
    response = error.value.response
    assert response["OriginalStatusCode"] == 415
    assert "Content type text/plain is not supported by this framework" in response["OriginalMessage"]
    assert "Please implement input_fn" in response["OriginalMessage"]


def test_the_scripts_own_input_predict_and_output_fn(sm, runtime, artifacts):
    endpoint = deploy_script(sm, SKLEARN_IMAGE, artifacts["repacked"], "custom.py")
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/plain", Body="1 1")
    assert answer["ContentType"] == "text/plain"
    assert answer["Body"].read() == b"tens=60.0"


def test_transform_fn_replaces_the_three_handlers(sm, runtime, artifacts):
    endpoint = deploy_script(sm, SKLEARN_IMAGE, artifacts["repacked"], "transform.py")
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="application/json", Body='{"rows": [[1, 1]]}', Accept="*/*"
    )
    assert answer["ContentType"] == "application/json"
    assert json.loads(answer["Body"].read()) == {"got": "application/json", "sums": pytest.approx([6.0])}


def test_transform_fn_with_input_fn_fails_the_endpoint(sm, artifacts):
    desc = endpoint_of(
        sm,
        image_model(
            sm, SKLEARN_IMAGE, artifacts["repacked"], {"SAGEMAKER_PROGRAM": "transform_and_input.py"}
        ),
    )
    assert desc["EndpointStatus"] == "Failed"
    assert "Cannot use transform_fn implementation in conjunction with input_fn" in desc["FailureReason"]


def test_a_handler_that_raises_is_a_model_error_with_the_traceback_in_the_log(sm, runtime, boto, artifacts):
    endpoint = deploy_script(sm, SKLEARN_IMAGE, artifacts["repacked"], "raises.py")
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1,1")
    assert error.value.response["OriginalStatusCode"] == 500
    assert "the script broke" in error.value.response["OriginalMessage"]

    def log_text() -> str:
        return endpoint_log_text(boto, endpoint)

    # Log lines reach CloudWatch in batches (within 0.2 s), so the traceback may come just after.
    wait_until(lambda: "RuntimeError: the script broke" in log_text(), "the traceback in the endpoint's log")
    assert "Traceback" in log_text()


def test_a_script_without_model_fn_fails_the_endpoint_saying_so(sm, artifacts):
    desc = endpoint_of(
        sm, image_model(sm, SKLEARN_IMAGE, artifacts["repacked"], {"SAGEMAKER_PROGRAM": "no_model_fn.py"})
    )
    assert desc["EndpointStatus"] == "Failed"
    assert "Please provide a model_fn implementation" in desc["FailureReason"]


def test_the_code_may_come_from_an_s3_sourcedir(sm, runtime, artifacts):
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": artifacts["sourcedir"]}
    desc = endpoint_of(sm, image_model(sm, SKLEARN_IMAGE, artifacts["bare"], environment))
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    # Two rows: like the real container, one CSV row decodes to a 1-D array scikit-learn refuses.
    answer = runtime.invoke_endpoint(
        EndpointName=desc["EndpointName"], ContentType="text/csv", Body="1,0\n0,0"
    )
    assert json.loads(answer["Body"].read()) == pytest.approx([3.0, 1.0])


def test_a_batch_transform_job_on_the_same_model(sm, s3, bucket, artifacts):
    model = image_model(sm, SKLEARN_IMAGE, artifacts["repacked"], {"SAGEMAKER_PROGRAM": "inference.py"})
    prefix = unique("sklearn-transform")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/input/rows.csv", Body=b"1,1\n0,0\n2,3\n")
    name = unique("sklearn-job")
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
        TransformOutput={"S3OutputPath": f"s3://{bucket}/{prefix}/output", "Accept": "text/csv"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    desc = wait_transform(sm, name)
    assert desc["TransformJobStatus"] == "Completed", desc.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/output/rows.csv.out")["Body"].read().decode()
    assert [float(v) for v in body.split()] == pytest.approx([6.0, 1.0, 14.0])


@pytest.mark.parametrize("isolated", [False, True], ids=["sourcedir", "repacked"])
def test_the_sdks_sklearn_model_deploys_and_predicts(service, artifacts, tmp_path, isolated):
    """``SKLearnModel(entry_point=..., source_dir=...)`` as the SDK deploys it.

    Without network isolation the SDK uploads ``sourcedir.tar.gz`` and sets
    ``SAGEMAKER_SUBMIT_DIRECTORY`` to its S3 URI (``sagemaker/sklearn/model.py``); with it,
    the code is repacked into ``code/`` of a new model.tar.gz. Both are deployed here.
    """
    from sagemaker.sklearn import SKLearnModel

    import helpers

    session, role = helpers.connect("local")
    (tmp_path / "inference.py").write_text(LOAD)
    model = SKLearnModel(
        model_data=artifacts["bare"],
        role=role,
        entry_point="inference.py",
        source_dir=str(tmp_path),
        framework_version="1.2-1",
        sagemaker_session=session,
        enable_network_isolation=isolated,
    )
    predictor = model.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        # The SDK's scikit-learn predictor sends and reads NPY.
        assert predictor.predict(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx([6.0, 1.0])
    finally:
        predictor.delete_endpoint()
