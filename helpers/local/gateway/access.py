"""Who may use the service: the learner's own programs, signed with the service's credentials.

Two checks run on every request before it reaches an API:

* browsers are refused: a request that carries ``Origin`` (or ``Sec-Fetch-Site``, which only
  browsers send) or a ``Host`` that is not a loopback name (DNS rebinding) gets 403, and no CORS
  grant is ever made, so a web page the learner visits cannot drive the service;
* every other request must carry a valid SigV4 signature made with the state folder's own
  credentials (see ``credentials.py``); a wrong or missing one gets the error that service gives.

Errors are shaped per protocol: JSON for SageMaker and CloudWatch Logs, the query protocol's XML
for STS and IAM, S3's XML for S3.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

import cbor2

from helpers.local.core.credentials import health_proof
from helpers.local.gateway.signature import Scope, SignatureError, SignatureVerifier, SignedRequest

FIX = (
    "sign requests with the credentials that `python -m helpers.local env` prints "
    "(helpers.connect() uses them)"
)

# (protocol, reason) -> (error code, AWS's message)
_CODES: dict[tuple[str, str], tuple[str, str]] = {
    ("json", "missing"): ("MissingAuthenticationTokenException", "Missing Authentication Token"),
    ("json", "unknown-key"): (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    ("query", "missing"): ("MissingAuthenticationToken", "Request is missing Authentication Token"),
    ("query", "unknown-key"): (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    ),
    ("s3", "missing"): ("AccessDenied", "Access Denied"),
    ("s3", "unknown-key"): (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    ("s3", "expired"): ("AccessDenied", "Request has expired"),
}
_MISMATCH = {
    "json": (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
    ),
    "query": (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    ),
    "s3": (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    ),
}


@dataclass(frozen=True)
class Refusal:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


def protocol_of(headers: dict[str, str], method: str, path: str, signing_service: str | None) -> str:
    """Which error shape the client understands: ``json``, ``cbor``, ``query`` or ``s3``."""
    if signing_service == "s3":
        return "s3"
    if signing_service in ("sts", "iam"):
        return "query"
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "cbor"
    if signing_service in ("sagemaker", "logs") or "x-amz-target" in headers:
        return "json"
    if method == "POST" and path.startswith("/endpoints/"):
        return "json"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return "s3"


def browser_refusal(headers: dict[str, str]) -> str | None:
    """Why a request looks like it comes from a web page (or a rebound DNS name), else None."""
    # Sec-Fetch-Site: none is a link the user opened themselves (a presigned URL), not a page.
    if "origin" in headers or headers.get("sec-fetch-site", "none") != "none":
        origin = headers.get("origin", "a web page")
        return (
            f"The local SageMaker service refuses requests from web pages (this one comes from {origin}): "
            "call it from boto3, the SageMaker SDK or the aws CLI."
        )
    host = headers.get("host", "")
    if not _is_loopback_host(host):
        return (
            f"The local SageMaker service answers only on loopback names, not Host '{host}': "
            "use http://127.0.0.1:<port> (as `python -m helpers.local env` prints)."
        )
    return None


_HOST = re.compile(r"^(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{1,5})?$")


def _is_loopback_host(host: str) -> bool:
    match = _HOST.match(host.strip().lower())
    if not match:
        return False
    name = match["v6"] or match["name"]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AccessGuard:
    def __init__(self, verifier: SignatureVerifier):
        self.verifier = verifier

    def refuse_browser(self, headers: dict[str, str], protocol: str) -> Refusal | None:
        reason = browser_refusal(headers)
        if reason is None:
            return None
        code = "AccessDeniedException" if protocol == "json" else "AccessDenied"
        return error_response(protocol, 403, code, reason)

    def precheck(self, request: SignedRequest, protocol: str) -> Scope:
        """The scope a request is signed for, checked as far as it can be without its body."""
        try:
            return self.verifier.precheck(request)
        except SignatureError as error:
            raise Refused(self._refusal(error, protocol)) from None

    def verify(self, request: SignedRequest, protocol: str, body_sha256: str | None) -> Scope:
        """The scope of a request signed with the service's credentials; Refused otherwise."""
        try:
            return self.verifier.verify(request, body_sha256)
        except SignatureError as error:
            raise Refused(self._refusal(error, protocol)) from None

    def health_proof(self, challenge: str) -> str:
        """Proves to ``control`` that this service holds the state folder's secret."""
        return health_proof(self.verifier.credentials, challenge)

    @staticmethod
    def _refusal(error: SignatureError, protocol: str) -> Refusal:
        code, message = _CODES.get((protocol, error.reason), _MISMATCH[protocol])
        detail = f" ({error.detail})" if error.detail else ""
        return error_response(protocol, 403, code, f"{message}{detail} Locally: {FIX}.")


class Refused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.status)
        self.refusal = refusal


def error_response(protocol: str, status: int, code: str, message: str) -> Refusal:
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return Refusal(status, body, "application/x-amz-json-1.1", {"x-amzn-errortype": code})
    if protocol == "cbor":
        body = cbor2.dumps({"__type": code, "message": message})
        return Refusal(status, body, "application/cbor", {"smithy-protocol": "rpc-v2-cbor"})
    if protocol == "query":
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Refusal(status, xml.encode(), "text/xml", {})
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
    )
    return Refusal(status, xml.encode(), "application/xml", {"x-amz-request-id": request_id})
