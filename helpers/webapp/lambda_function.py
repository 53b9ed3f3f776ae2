"""The web app's AWS Lambda function: review text in, POSITIVE or NEGATIVE out.

API Gateway (REST API, Lambda proxy integration) calls ``lambda_handler`` with the HTTP
request as a *proxy event*; the review is the request body. The function turns the review
into the same bag of words the model was trained on, asks the SageMaker endpoint for a
score, and answers with a *proxy response*::

    200  {"sentiment": "POSITIVE", "score": 0.93}
    400  {"error": "..."}   (no review in the body, or a body flagged base64 that is not)
    502  {"error": "..."}   (the endpoint could not be reached or answered nonsense)

This file is deliberately self-contained so it can be zipped and deployed as it is: it
needs only the standard library, ``boto3`` (part of the Lambda Python runtime), NLTK's
Porter stemmer and, for reviews with HTML markup, BeautifulSoup. The deployment package
carries those two (see ``helpers.webapp.packaging``). Nothing here imports the course's
``helpers`` package, which does not exist on Lambda.

Configuration, as Lambda environment variables:

``ENDPOINT_NAME``    the SageMaker endpoint to call (required)
``VOCABULARY_FILE``  JSON ``{"word": column, ...}`` saved at training time; a relative path is
                     resolved next to this file (default ``vocabulary.json``)
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

import boto3
from nltk.stem.porter import PorterStemmer

CORS_HEADERS = {
    # The page may be opened from anywhere (a file, another host), so any origin may call us.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
}
EMPTY_BODY_MESSAGE = "Send the text of a movie review as the request body."
BAD_BASE64_MESSAGE = "The request body is marked as base64-encoded but is not valid base64."
THRESHOLD = 0.5  # binary:logistic scores are probabilities of "positive"

# The training pipeline's preprocessing, step for step (helpers.datasets.imdb.preprocess):
# strip HTML, lowercase, keep only a-z and 0-9, split, drop stop words, Porter-stem.
# A test checks that both give the same words on the whole fallback corpus.
_KEEP = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))
_STOP_WORDS_TEXT = """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them their
    theirs themselves what which who whom this that that'll these those am is are was were be
    been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below
    to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too
    very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
    couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
    mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren
    weren't won won't wouldn wouldn't
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())  # NLTK's English list, as training used
_stemmer = PorterStemmer()
_stems: dict[str, str] = {}


def strip_html(review: str) -> str:
    """The review's text as ``BeautifulSoup(review, "html.parser").get_text()`` gives it."""
    text = review.replace("<br />", "")
    if "<" in text or "&" in text:  # other markup: let the real parser decide
        from bs4 import BeautifulSoup  # only needed for these few reviews

        return BeautifulSoup(review, "html.parser").get_text()
    return text


def review_to_words(review: str) -> list[str]:
    """Preprocess one review into stemmed, stop-word-free words, as training did."""
    text = strip_html(review).lower().encode("ascii", "replace")
    words = []
    for word in text.translate(_KEEP).decode("ascii").split():
        if word in STOP_WORDS:
            continue
        stem = _stems.get(word)
        if stem is None:
            stem = _stems[word] = _stemmer.stem(word)
        words.append(stem)
    return words


# Loaded once per container: Lambda reuses a warm container for many requests.
_vocabularies: dict[tuple[str, float], dict[str, int]] = {}


def load_vocabulary(path: str | os.PathLike | None = None) -> dict[str, int]:
    """The word -> column mapping the model was trained with (cached per file version)."""
    path = Path(path or os.environ.get("VOCABULARY_FILE") or "vocabulary.json")
    if not path.is_absolute():
        path = Path(__file__).resolve().parent / path
    key = (str(path), path.stat().st_mtime)
    if key not in _vocabularies:
        _vocabularies[key] = {word: int(column) for word, column in json.loads(path.read_text()).items()}
    return _vocabularies[key]


def bag_of_words_csv(words: list[str], vocabulary: dict[str, int]) -> str:
    """One CSV row of word counts, one column per vocabulary word (words outside it are dropped)."""
    counts = [0] * len(vocabulary)
    for word in words:
        column = vocabulary.get(word)
        if column is not None:
            counts[column] += 1
    return ",".join(map(str, counts))


_runtime = None


def runtime_client():
    """The SageMaker runtime client, created on first use and kept for the next requests."""
    global _runtime
    if _runtime is None:
        _runtime = boto3.client("sagemaker-runtime")
    return _runtime


def predict(row: str, endpoint_name: str) -> float:
    """The endpoint's score for one bag-of-words CSV row: near 1 is positive, near 0 negative."""
    response = runtime_client().invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv", Body=row)
    answer = response["Body"].read().decode("utf-8")
    # XGBoost answers one score per line (older images: comma-separated); we sent one row.
    return float(answer.replace(",", "\n").split()[0])


def response(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A Lambda proxy response: API Gateway turns it into the HTTP answer."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **CORS_HEADERS},
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def review_from_event(event: dict[str, Any]) -> str:
    """The request body as text (API Gateway base64-encodes bodies it treats as binary).

    Raises binascii.Error when the body is flagged base64 but is not.
    """
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body, validate=True).decode("utf-8", "replace")
    return body.strip()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Classify the review in the request body; the entry point Lambda calls."""
    if event.get("httpMethod") == "OPTIONS":  # a browser's CORS preflight
        return {"statusCode": 204, "headers": dict(CORS_HEADERS), "body": ""}

    try:
        review = review_from_event(event)
    except binascii.Error:
        return response(400, {"error": BAD_BASE64_MESSAGE})
    if not review:
        return response(400, {"error": EMPTY_BODY_MESSAGE})

    endpoint_name = os.environ.get("ENDPOINT_NAME")
    if not endpoint_name:
        return response(500, {"error": "The function has no ENDPOINT_NAME environment variable."})
    try:
        vocabulary = load_vocabulary()
    except (OSError, ValueError) as exc:
        return response(500, {"error": f"Cannot read the vocabulary: {exc}"})
    # Outside the try below: a failure here is a bug in this function, for Lambda to report
    # (with its traceback in the logs), not something the endpoint did.
    row = bag_of_words_csv(review_to_words(review), vocabulary)
    try:
        score = predict(row, endpoint_name)
    except Exception as exc:  # the endpoint is down, deleted or answered something unexpected
        return response(502, {"error": f"The model endpoint {endpoint_name!r} did not answer: {exc}"})

    sentiment = "POSITIVE" if score > THRESHOLD else "NEGATIVE"
    return response(200, {"sentiment": sentiment, "score": round(score, 3)})
