"""The PyTorch sentiment project's own code, taken from its Solutions notebook and run here directly.

The notebook writes its scripts from its cells: ``train/model.py`` and the web app's function with
``%%writefile``, ``train/train.py``, ``serve/utils.py`` and ``serve/predict.py`` with
``write_script`` (a header string, then the source of functions defined in the notebook). The
fixtures build the same files from the same cells, so these tests check the code a learner reads;
the notebook's own run (tests/test_notebooks.py) trains and serves it through the local service.
"""

from __future__ import annotations

import ast
import collections
import importlib
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from helpers.datasets import imdb

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "Solutions" / "IMDB Sentiment Analysis - PyTorch (Project).ipynb"
POSITIVE = "What a wonderful film! The acting is superb and the story is moving. I loved every minute."
NEGATIVE = "A dull, boring mess. The acting is wooden and the plot is predictable. A complete waste of time."


def _cells() -> list[str]:
    return [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]


def _written_file(cells: list[str], path: str) -> str:
    """The text a ``%%writefile path`` cell writes."""
    (cell,) = [c for c in cells if c.startswith(f"%%writefile {path}\n")]
    return cell.split("\n", 1)[1] + "\n"


def _header(cells: list[str], name: str) -> str:
    """The string a ``NAME = \"\"\"...\"\"\"`` cell assigns."""
    (cell,) = [c for c in cells if c.startswith(f'{name} = """')]
    return ast.literal_eval(ast.parse(cell).body[0].value)


def _function(cells: list[str], name: str) -> str:
    (cell,) = [c for c in cells if c.startswith(f"def {name}(")]
    return cell


def _script(cells: list[str], path: str) -> str:
    """What the notebook's ``write_script(path, HEADER, function, ..., footer=...)`` cell writes."""
    for cell in cells:
        for node in ast.walk(ast.parse(TransformerManager().transform_cell(cell))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "write_script"
                and ast.literal_eval(node.args[0]) == path
            ):
                header = _header(cells, node.args[1].id)
                functions = [_function(cells, arg.id) for arg in node.args[2:]]
                footer = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "footer"), "")
                parts = [header.strip(), *(f.strip() for f in functions), footer.strip()]
                return "\n\n\n".join(p for p in parts if p) + "\n"
    raise AssertionError(f"no write_script call for {path}")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The notebook's train/, serve/ and webapp/ folders."""
    root = tmp_path_factory.mktemp("project")
    cells = _cells()
    files = {
        "train/model.py": _written_file(cells, "train/model.py"),
        "train/batching.py": _written_file(cells, "train/batching.py"),
        "train/train.py": _script(cells, "train/train.py"),
        "serve/model.py": _written_file(cells, "train/model.py"),
        "serve/utils.py": _script(cells, "serve/utils.py"),
        "serve/predict.py": _script(cells, "serve/predict.py"),
        "webapp/lambda_function.py": _written_file(cells, "webapp/lambda_function.py"),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(text)
    return root


def _import(folder: Path, name: str) -> ModuleType:
    """``name`` from ``folder`` as the container imports it: the folder first on the path."""
    for module in ("model", "utils", name):
        sys.modules.pop(module, None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def utils(project) -> ModuleType:
    return _import(project / "serve", "utils")


@pytest.fixture(scope="module")
def fallback():
    return imdb.load_imdb("fallback")


def _word_dict(words: list[list[str]], size: int = 5000) -> dict[str, int]:
    counts = collections.Counter(w for review in words for w in review)
    return {word: i + 2 for i, (word, _) in enumerate(counts.most_common(size - 2))}


@pytest.fixture(scope="module")
def trained_model_dir(project, fallback, tmp_path_factory) -> Path:
    """train.py run as SageMaker runs it (SM_* variables, hyperparameters as arguments), on 200 reviews."""
    folder = tmp_path_factory.mktemp("job")
    channel, model_dir = folder / "training", folder / "model"
    channel.mkdir()
    model_dir.mkdir()
    utils = _import(project / "serve", "utils")
    words = [imdb.review_to_words(r) for r in fallback.train_texts[:200]]
    word_dict = _word_dict(words)
    with open(channel / "train.csv", "w") as f:
        for label, review in zip(fallback.train_labels[:200], words, strict=True):
            ids, length = utils.convert_and_pad(word_dict, review, 500)
            f.write(",".join(map(str, [label, length, *ids])) + "\n")
    (channel / "word_dict.pkl").write_bytes(pickle.dumps(word_dict))
    env = {
        **os.environ,
        "SM_MODEL_DIR": str(model_dir),
        "SM_CHANNEL_TRAINING": str(channel),
        "SM_NUM_GPUS": "0",
        "OMP_NUM_THREADS": "1",
    }
    arguments = ["--epochs", "2", "--batch-size", "50", "--hidden_dim", "16", "--embedding_dim", "8"]
    done = subprocess.run(
        [sys.executable, "train.py", *arguments],
        cwd=project / "train",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Epoch: 2, BCELoss:" in done.stdout
    return model_dir


@pytest.fixture(scope="module")
def predict(project) -> ModuleType:
    return _import(project / "serve", "predict")


# --- the text processing -----------------------------------------------------------------------


def test_the_serving_copy_of_review_to_words_matches_training(utils, fallback):
    for review in fallback.train_texts + fallback.test_texts:
        assert utils.review_to_words(review) == imdb.review_to_words(review)
    tricky = [
        "Caf\u00e9 <b>society</b> &amp; its discontents: 10/10!!",
        "It's <a href='x'>not</a> bad<br />at all... Loved it",
        "\u0130stanbul, na\u00efve \u00c0 la carte",
        "",
        "   the and of   ",
    ]
    for review in tricky:
        assert utils.review_to_words(review) == imdb.review_to_words(review)
    assert utils.STOP_WORDS == imdb.ENGLISH_STOP_WORDS


def test_convert_and_pad_pads_cuts_and_marks_unknown_words(utils):
    word_dict = {"good": 2, "film": 3}
    assert utils.convert_and_pad(word_dict, ["good", "film", "zzz"], pad=5) == ([2, 3, 1, 0, 0], 3)
    assert utils.convert_and_pad(word_dict, ["film"] * 7, pad=5) == ([3] * 5, 5)
    assert utils.convert_and_pad(word_dict, [], pad=3) == ([0, 0, 0], 0)


def test_build_dict_keeps_the_most_frequent_words_above_the_two_reserved_ids():
    (cell,) = [c for c in _cells() if c.startswith("def build_dict(")]
    namespace: dict = {"collections": collections}
    exec(cell, namespace)
    word_dict = namespace["build_dict"]([["a", "b", "a"], ["c", "a", "b"], ["d"]], vocab_size=4)
    assert word_dict == {"a": 2, "b": 3}


# --- train.py and predict.py -------------------------------------------------------------------


def test_batches_hold_reviews_of_similar_length_in_a_new_order_each_epoch(project):
    batching = _import(project / "train", "batching")
    lengths = list(range(1000))
    sampler = batching.SimilarLengthBatches(lengths, 100)
    epochs = [list(sampler), list(sampler)]
    for batches in epochs:
        assert len(batches) == len(sampler) == 10
        assert sorted(i for batch in batches for i in batch) == lengths  # every review, once
        assert max(max(b) - min(b) for b in batches) < 400  # a batch spans a narrow range of lengths
    assert epochs[0] != epochs[1]


def test_the_model_ignores_the_padding_after_each_review(project):
    import torch

    model_module = _import(project / "train", "model")
    torch.manual_seed(0)
    model = model_module.LSTMClassifier(8, 16, 50).eval()
    review = [5, 7, 9]
    alone = torch.tensor([[3, *review, 0, 0]])
    padded_more = torch.tensor([[3, *review, *[0] * 20], [23, *range(2, 25)]])
    with torch.no_grad():
        assert torch.allclose(model(alone)[0], model(padded_more)[0])


def test_train_py_saves_what_predict_py_needs(trained_model_dir):
    assert sorted(p.name for p in trained_model_dir.iterdir()) == [
        "model.pth",
        "model_info.pth",
        "word_dict.pkl",
    ]


def test_handlers_answer_one_verdict_per_review(predict, trained_model_dir):
    model = predict.model_fn(str(trained_model_dir))
    assert model.word_dict and not model.training
    body = f"{POSITIVE}\n{NEGATIVE}\n<b>the and of</b>\n".encode()
    reviews = predict.input_fn(body, "text/plain")
    assert reviews == [POSITIVE, NEGATIVE, "<b>the and of</b>"]
    verdicts = predict.predict_fn(reviews, model)
    assert verdicts.shape == (3,) and set(verdicts.tolist()) <= {0, 1}
    answer, content_type = predict.output_fn(verdicts, "text/plain")
    assert content_type == "text/plain"
    assert answer.split("\n") == [str(v) for v in verdicts.tolist()]


@pytest.mark.parametrize("content_type", ["application/json", "text/csv", "application/x-npy", None])
def test_input_other_than_text_is_a_415_that_says_what_to_send(predict, content_type):
    with pytest.raises(predict.RequestError) as raised:
        predict.input_fn(b'["a review"]', content_type)
    assert raised.value.status_code == 415
    assert "text/plain" in raised.value.message


@pytest.mark.parametrize("body", [b"", b"  \n ", b"a good review\n\nanother one"])
def test_an_empty_review_is_a_400(predict, body):
    with pytest.raises(predict.RequestError) as raised:
        predict.input_fn(body, "text/plain")
    assert raised.value.status_code == 400
    assert "review" in raised.value.message


def test_the_scripts_import_nothing_of_the_course(project):
    for path in [*project.glob("*/*.py")]:
        tree = ast.parse(path.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in imported if m.split(".")[0] == "helpers"}, path


# --- the web app's function ----------------------------------------------------------------------


@pytest.fixture
def lambda_function(project, monkeypatch) -> ModuleType:
    monkeypatch.setenv("ENDPOINT_NAME", "no-such-endpoint")
    return _import(project / "webapp", "lambda_function")


@pytest.mark.parametrize("body", [None, "", "  \n "])
def test_web_app_refuses_an_empty_review(lambda_function, body):
    result = lambda_function.lambda_handler({"httpMethod": "POST", "body": body}, None)
    assert result["statusCode"] == 400 and "review" in result["body"]
    assert result["headers"]["Access-Control-Allow-Origin"] == "*"


def test_web_app_answers_a_cors_preflight(lambda_function):
    assert lambda_function.lambda_handler({"httpMethod": "OPTIONS"}, None)["statusCode"] == 204


def test_web_app_reports_an_endpoint_it_cannot_reach(lambda_function, service):
    result = lambda_function.lambda_handler({"httpMethod": "POST", "body": POSITIVE}, None)
    assert result["statusCode"] == 502 and "no-such-endpoint" in result["body"]


# --- through the local service: train.py in the PyTorch image, predict.py behind an endpoint -------

needs_pytorch_image = pytest.mark.skipif(
    importlib.util.find_spec("helpers.local.images.pytorch") is None,
    reason="the local service has no PyTorch image in this tree",
)


@pytest.fixture(scope="module")
def endpoint(project, fallback, service, s3, bucket):
    """The project's model, trained by the PyTorch estimator on the bundled corpus, behind predict.py."""
    from sagemaker.deserializers import StringDeserializer
    from sagemaker.pytorch import PyTorch, PyTorchModel
    from sagemaker.serializers import IdentitySerializer

    import helpers

    utils = _import(project / "serve", "utils")
    words = [imdb.review_to_words(r) for r in fallback.train_texts]
    word_dict = _word_dict(words)
    rows = []
    for label, review in zip(fallback.train_labels, words, strict=True):
        ids, length = utils.convert_and_pad(word_dict, review, 500)
        rows.append(",".join(map(str, [label, length, *ids])))
    s3.put_object(Bucket=bucket, Key="sentiment-pytorch/train/train.csv", Body="\n".join(rows).encode())
    s3.put_object(Bucket=bucket, Key="sentiment-pytorch/train/word_dict.pkl", Body=pickle.dumps(word_dict))

    session, role = helpers.connect("local")
    common = {"framework_version": "2.1", "py_version": "py310", "role": role, "sagemaker_session": session}
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(project / "train"),
        instance_type="ml.m5.large",
        instance_count=1,
        output_path=f"s3://{bucket}/sentiment-pytorch/output",
        hyperparameters={"epochs": 3, "batch-size": 64},
        **common,
    )
    estimator.fit({"training": f"s3://{bucket}/sentiment-pytorch/train/"}, logs=False)
    model = PyTorchModel(
        model_data=estimator.model_data, entry_point="predict.py", source_dir=str(project / "serve"), **common
    )
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=IdentitySerializer(content_type="text/plain"),
        deserializer=StringDeserializer(),
    )
    yield predictor
    predictor.delete_model()
    predictor.delete_endpoint()


@needs_pytorch_image
def test_the_endpoint_judges_raw_review_text_one_per_line(endpoint, fallback):
    reviews = fallback.test_texts[:100]
    verdicts = [int(v) for v in endpoint.predict("\n".join(" ".join(r.split()) for r in reviews)).split()]
    assert len(verdicts) == 100
    assert np.mean(np.array(verdicts) == np.array(fallback.test_labels[:100])) > 0.7


@needs_pytorch_image
def test_the_endpoint_refuses_other_content_types_with_a_415(endpoint, boto):
    runtime = boto.client("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.endpoint_name, ContentType="application/json", Body=b"[1]"
        )
    assert raised.value.response["OriginalStatusCode"] == 415
    assert "text/plain" in raised.value.response["OriginalMessage"]


@needs_pytorch_image
@pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
def test_the_page_gets_a_verdict_from_this_endpoint(endpoint, project, monkeypatch, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from helpers.webapp import WebAppServer
    from tests.test_webapp import chrome_driver

    monkeypatch.setenv("ENDPOINT_NAME", endpoint.endpoint_name)
    function = _import(project / "webapp", "lambda_function")
    with WebAppServer(function.lambda_handler) as app, tempfile.TemporaryDirectory() as profile:
        driver = chrome_driver(profile)
        try:
            driver.get(app.url)
            verdict = driver.find_element(By.ID, "verdict")
            for review, expected in ((POSITIVE, "POSITIVE"), (NEGATIVE, "NEGATIVE")):
                driver.execute_script("document.getElementById('verdict').textContent = ''")
                box = driver.find_element(By.ID, "review")
                box.clear()
                box.send_keys(review)
                driver.find_element(By.ID, "submit").click()
                WebDriverWait(driver, 30).until(lambda d: verdict.text.strip())
                assert verdict.text.strip() == expected
                assert "judged the review" in driver.find_element(By.ID, "detail").text
            driver.save_screenshot(str(tmp_path / "webapp.png"))
        finally:
            driver.quit()
