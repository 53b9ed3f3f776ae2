"""The sentiment web app: Lambda handler, local API Gateway stand-in, deployment package, page.

A small XGBoost model is trained on the bundled fallback corpus and deployed to a real
endpoint of the local service; the handler, the server and the page are tested against it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers.datasets import imdb
from helpers.local.core.config import ROLE_ARN
from helpers.webapp import (
    WebAppServer,
    build_lambda_package,
    http_response,
    lambda_function,
    proxy_event,
    render_page,
)
from helpers.webapp.lambda_function import BAD_BASE64_MESSAGE, EMPTY_BODY_MESSAGE, lambda_handler
from helpers.webapp.proxy import MalformedProxyResponse

from .service_helpers import XGBOOST_IMAGE, csv_channel, model_from_job, unique, wait_for

POSITIVE = (
    "What a wonderful film! The acting is superb, the story is moving and beautifully told. "
    "I loved every minute of it. Highly recommended."
)
NEGATIVE = (
    "A dull, boring mess. The acting is wooden, the plot is predictable and the dialogue is awful. "
    "A complete waste of time."
)


def post(text: str | None, **extra) -> dict:
    event = proxy_event("POST", "/predict", {"Content-Type": "text/plain"}, (text or "").encode())
    event.update(extra)
    return event


def body(result: dict) -> dict:
    return json.loads(result["body"])


# --- a real endpoint, trained on the fallback corpus --------------------------------------------


@pytest.fixture(scope="module")
def deployed(service, sm, s3, bucket, tmp_path_factory) -> dict[str, str]:
    """An InService XGBoost endpoint and the vocabulary file it was trained with."""
    folder = tmp_path_factory.mktemp("webapp")
    data = imdb.load_imdb("fallback")
    words = imdb.preprocess_reviews(data.train_texts, use_cache=False, progress=False)
    features, _, vocabulary = imdb.bag_of_words(words)
    split = imdb.split_train_validation(features, data.train_labels)
    prefix = unique("webapp")
    for channel, rows, labels in (
        ("train", split.train_X, split.train_y),
        ("validation", split.val_X, split.val_y),
    ):
        path = imdb.write_csv(folder / f"{channel}.csv", rows, labels)
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{channel}/{channel}.csv", Body=path.read_bytes())
    vocabulary_file = folder / "vocabulary.json"
    vocabulary_file.write_text(json.dumps(vocabulary))

    job = unique("webapp-train")
    sm.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE_ARN,
        HyperParameters={
            "objective": "binary:logistic",
            "num_round": "100",
            "early_stopping_rounds": "10",
            "max_depth": "5",
            "eta": "0.2",
            "gamma": "4",
            "min_child_weight": "6",
            "subsample": "0.8",
        },  # fmt: skip
        InputDataConfig=[csv_channel(c, f"s3://{bucket}/{prefix}/{c}") for c in ("train", "validation")],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/{prefix}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    name = model_from_job(sm, job, unique("webapp"))
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    status = wait_for(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus")
    assert status["EndpointStatus"] == "InService", status.get("FailureReason")
    yield {"endpoint": name, "vocabulary_file": str(vocabulary_file)}
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)


@pytest.fixture
def configured(deployed, monkeypatch) -> dict[str, str]:
    """The handler's Lambda configuration, as environment variables."""
    monkeypatch.setenv("ENDPOINT_NAME", deployed["endpoint"])
    monkeypatch.setenv("VOCABULARY_FILE", deployed["vocabulary_file"])
    monkeypatch.setattr(lambda_function, "_runtime", None)  # a client for this session's service
    return deployed


# --- the handler -------------------------------------------------------------------------------


def test_preprocessing_matches_the_training_pipeline():
    data = imdb.load_imdb("fallback")
    for review in data.train_texts + data.test_texts:
        assert lambda_function.review_to_words(review) == imdb.review_to_words(review)
    tricky = [
        "Caf\u00e9 <b>society</b> &amp; its discontents: 10/10!!",
        "It's <a href='x'>not</a> bad<br />at all... Loved it",
        "",
        "   the and of   ",
    ]
    for review in tricky:
        assert lambda_function.review_to_words(review) == imdb.review_to_words(review)
    assert lambda_function.STOP_WORDS == imdb.ENGLISH_STOP_WORDS


def test_bag_of_words_row_matches_the_pipeline(configured):
    vocabulary = lambda_function.load_vocabulary()
    row = lambda_function.bag_of_words_csv(lambda_function.review_to_words(POSITIVE), vocabulary)
    assert [int(v) for v in row.split(",")] == imdb.encode_review(POSITIVE, vocabulary).tolist()


def test_positive_and_negative_reviews(configured):
    positive = lambda_handler(post(POSITIVE), None)
    negative = lambda_handler(post(NEGATIVE), None)

    assert positive["statusCode"] == 200, positive["body"]
    assert body(positive)["sentiment"] == "POSITIVE"
    assert body(negative)["sentiment"] == "NEGATIVE"
    assert body(positive)["score"] > 0.5 > body(negative)["score"]
    assert positive["headers"]["Access-Control-Allow-Origin"] == "*"
    assert positive["headers"]["Content-Type"] == "application/json"


def test_base64_encoded_body(configured):
    event = post(None, body=base64.b64encode(POSITIVE.encode()).decode(), isBase64Encoded=True)
    assert body(lambda_handler(event, None))["sentiment"] == "POSITIVE"


@pytest.mark.parametrize("text", [None, "", "  \n "])
def test_empty_or_missing_body_is_400(text, monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME", raising=False)  # rejected before any endpoint is needed
    event = {"httpMethod": "POST", "path": "/predict", "body": text}
    result = lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert body(result) == {"error": EMPTY_BODY_MESSAGE}
    assert result["headers"]["Access-Control-Allow-Origin"] == "*"


def test_invalid_base64_body_is_400(monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME", raising=False)
    result = lambda_handler(post(None, body="not base64!", isBase64Encoded=True), None)
    assert result["statusCode"] == 400
    assert body(result) == {"error": BAD_BASE64_MESSAGE}


def test_a_preprocessing_failure_is_not_blamed_on_the_endpoint(tmp_path, monkeypatch):
    (tmp_path / "vocabulary.json").write_text(json.dumps({"film": 0}))
    monkeypatch.setenv("VOCABULARY_FILE", str(tmp_path / "vocabulary.json"))
    monkeypatch.setenv("ENDPOINT_NAME", "never-called")

    def broken(review):
        raise RuntimeError("bug in preprocessing")

    def no_endpoint(*args):
        raise AssertionError("the endpoint must not be called")

    monkeypatch.setattr(lambda_function, "review_to_words", broken)
    monkeypatch.setattr(lambda_function, "predict", no_endpoint)
    # Raised, for Lambda to report as a function error, rather than a 502 "did not answer".
    with pytest.raises(RuntimeError, match="bug in preprocessing"):
        lambda_handler(post(POSITIVE), None)


def test_unknown_endpoint_is_502_naming_it(configured, monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", "no-such-endpoint")
    result = lambda_handler(post(POSITIVE), None)
    assert result["statusCode"] == 502
    assert "no-such-endpoint" in body(result)["error"]


def test_missing_configuration_is_500(configured, monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME")
    assert "ENDPOINT_NAME" in body(lambda_handler(post(POSITIVE), None))["error"]
    monkeypatch.setenv("ENDPOINT_NAME", configured["endpoint"])
    monkeypatch.setenv("VOCABULARY_FILE", "/nonexistent/vocabulary.json")
    result = lambda_handler(post(POSITIVE), None)
    assert result["statusCode"] == 500 and "vocabulary" in body(result)["error"]


def test_cors_preflight():
    result = lambda_handler({"httpMethod": "OPTIONS", "path": "/predict"}, None)
    assert result["statusCode"] == 204
    assert "POST" in result["headers"]["Access-Control-Allow-Methods"]


# --- the local API Gateway stand-in ------------------------------------------------------------


def request(url: str, data: bytes | None = None, method: str = "GET", headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_server_turns_requests_into_proxy_events():
    seen = []

    def handler(event, context):
        seen.append((event, context))
        return {"statusCode": 201, "headers": {"X-Seen": "yes"}, "body": "done"}

    with WebAppServer(handler) as app:
        assert app.url.startswith("http://127.0.0.1:")
        status, headers, answer = request(
            app.api_url + "?lang=en", "Gr\u00fcn review".encode(), "POST", {"Content-Type": "text/plain"}
        )
    assert (status, headers["X-Seen"], answer) == (201, "yes", b"done")
    event, context = seen[0]
    assert event["httpMethod"] == "POST" and event["path"] == "/predict"
    assert event["body"] == "Gr\u00fcn review" and event["isBase64Encoded"] is False
    assert event["headers"]["Content-Type"] == "text/plain"
    assert event["queryStringParameters"] == {"lang": "en"}
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert context.get_remaining_time_in_millis() > 0


def test_server_errors_and_binary_bodies():
    def handler(event, context):
        if event["isBase64Encoded"]:
            return {
                "statusCode": 200,
                "body": base64.b64encode(b"\xff\x00").decode(),
                "isBase64Encoded": True,
            }
        raise RuntimeError("boom")

    with WebAppServer(handler) as app:
        assert request(app.api_url, b"\xff\xfe", "POST")[::2] == (200, b"\xff\x00")
        status, _, answer = request(app.api_url, b"text", "POST")
        assert status == 502 and json.loads(answer) == {"message": "Internal server error"}
        assert request(app.url + "nowhere")[0] == 404
        assert request(app.url + "other", b"x", "POST")[0] == 404
    with pytest.raises(RuntimeError):
        app.url  # noqa: B018 -- stopped: no address any more


def test_proxy_response_mapping():
    status, headers, data = http_response(
        {"statusCode": 400, "headers": {"A": 1}, "multiValueHeaders": {"B": ["x", "y"]}, "body": "oops"}
    )
    assert (status, headers, data) == (400, {"A": "1", "B": "x, y"}, b"oops")
    assert http_response({"statusCode": 204}) == (204, {}, b"")


MALFORMED = [
    ({"body": "no status"}, "statusCode"),
    ({"statusCode": "200", "body": "ok"}, "statusCode"),
    ({"statusCode": 200, "body": {"sentiment": "POSITIVE"}}, "body must be a string"),
    ({"statusCode": 200, "headers": ["A"]}, "headers"),
    ({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, "base64"),
    ("a string", "not a dict"),
]


@pytest.mark.parametrize(("result", "reason"), MALFORMED)
def test_malformed_proxy_responses_are_refused(result, reason):
    with pytest.raises(MalformedProxyResponse, match=reason):
        http_response(result)


def test_server_answers_a_malformed_proxy_response_as_api_gateway_does(caplog):
    results = iter(result for result, _ in MALFORMED)
    with WebAppServer(lambda event, context: next(results)) as app, caplog.at_level(logging.ERROR):
        for _, reason in MALFORMED:
            caplog.clear()
            status, _, answer = request(app.api_url, b"text", "POST")
            assert status == 502 and json.loads(answer) == {"message": "Internal server error"}
            assert len(caplog.records) == 1 and reason in caplog.records[0].getMessage()


@pytest.mark.parametrize("length", ["-5", "abc"])
def test_server_refuses_a_bad_content_length(length):
    request_head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    with (
        WebAppServer(lambda event, context: {"statusCode": 200}) as app,
        socket.create_connection((app.host, urlsplit(app.url).port), timeout=5) as sock,
    ):
        sock.sendall(request_head.encode() + b"body")
        answer = sock.makefile("rb").read()  # the server closes the connection after answering
    assert answer.split(b" ", 2)[1] == b"400" and b"Invalid Content-Length" in answer


def test_server_serves_the_page_and_the_real_handler(configured):
    with WebAppServer() as app:
        status, headers, page = request(app.url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"<textarea" in page and b'"predict"' in page
        status, headers, answer = request(
            app.api_url, NEGATIVE.encode(), "POST", {"Content-Type": "text/plain"}
        )
        assert status == 200 and json.loads(answer)["sentiment"] == "NEGATIVE"
        assert headers["Access-Control-Allow-Origin"] == "*"
        status, _, answer = request(app.api_url, b"", "POST")
        assert status == 400 and json.loads(answer)["error"] == EMPTY_BODY_MESSAGE


def test_page_points_at_the_api_safely():
    page = render_page('https://x.example/prod/predict?a="</script>')
    assert 'const API_URL = "https://x.example/prod/predict?a=\\"<\\/script>";' in page
    assert "<link" not in page and " src=" not in page  # no external assets: it must work offline


# --- the deployment package --------------------------------------------------------------------


def test_lambda_package_runs_on_its_own(configured, tmp_path):
    vocabulary = json.loads(Path(configured["vocabulary_file"]).read_text())
    archive = build_lambda_package(tmp_path, vocabulary, dependencies=False)
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["lambda_function.py", "vocabulary.json"]
        zf.extractall(tmp_path / "task")

    # As Lambda runs it: the task folder first on the path, configuration from the environment,
    # the vocabulary file next to the handler, and no course package imported.
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path / 'task')!r})\n"
        "import lambda_function\n"
        f"event = {{'httpMethod': 'POST', 'path': '/predict', 'body': {POSITIVE!r}}}\n"
        "result = lambda_function.lambda_handler(event, None)\n"
        "print(json.dumps({'result': result, 'file': lambda_function.__file__,\n"
        "                  'helpers': any(m.split('.')[0] == 'helpers' for m in sys.modules)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VOCABULARY_FILE"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(tmp_path / "task"))
    assert report["helpers"] is False
    assert json.loads(report["result"]["body"])["sentiment"] == "POSITIVE"


# --- the page in a real browser ----------------------------------------------------------------


def chrome_driver(profile: str):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1000,900",
    ):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))


@pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
def test_page_in_headless_chromium(configured, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    with WebAppServer() as app, tempfile.TemporaryDirectory() as profile:
        driver = chrome_driver(profile)
        try:
            driver.get(app.url)
            wait = WebDriverWait(driver, 15)
            verdict = driver.find_element(By.ID, "verdict")

            def submit(text: str) -> str:
                driver.execute_script("document.getElementById('verdict').textContent = ''")
                box = driver.find_element(By.ID, "review")
                box.clear()
                box.send_keys(text)
                driver.find_element(By.ID, "submit").click()
                wait.until(lambda d: verdict.text.strip())
                return verdict.text.strip()

            assert submit(POSITIVE) == "POSITIVE"
            assert "positive" in driver.find_element(By.ID, "result").get_attribute("class")
            assert submit(NEGATIVE) == "NEGATIVE"
            assert "score" in driver.find_element(By.ID, "detail").text
            wait.until(expected_conditions.element_to_be_clickable((By.ID, "submit")))
            driver.save_screenshot(str(tmp_path / "webapp.png"))
        finally:
            driver.quit()
