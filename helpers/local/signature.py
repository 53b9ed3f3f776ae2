"""AWS Signature Version 4, checked on the server side against the service's own credentials.

The canonical request is rebuilt from the request as it arrived, the way botocore builds it when
signing (``botocore.auth.SigV4Auth`` / ``S3SigV4Auth``): S3 signs the path as sent, other services
the normalised, once more percent-encoded path; the payload hash is ``X-Amz-Content-SHA256`` when
the client sent one, else the SHA-256 of the body. Both the ``Authorization`` header and presigned
URLs (``X-Amz-Signature`` in the query) are accepted. Derived signing keys are cached per day,
region and service, so a check costs two HMACs and one SHA-256 of the canonical request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, quote, unquote

from botocore.auth import HmacV1Auth
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.utils import normalize_url_path

from .credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)  # what AWS allows between X-Amz-Date and its clock
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class SignatureError(Exception):
    """Why a request's signature was refused; ``reason`` picks the AWS error code per service."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason  # missing | malformed | unknown-key | mismatch | expired
        self.detail = detail


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_path: str  # as sent on the wire, still percent-encoded
    query: str  # raw query string, without the '?'
    headers: dict[str, str]  # lower-case names; repeated headers joined with ','


@dataclass(frozen=True)
class Scope:
    access_key_id: str
    date: str
    region: str
    service: str


def credential_scope(request: SignedRequest) -> Scope | None:
    """The credential scope a request claims, read without checking anything."""
    if not _is_signed(request):
        return None
    try:
        credential = _signature_parts(request)[0]
    except SignatureError:
        return None
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return None
    return Scope(*parts[:4])


def _is_signed(request: SignedRequest) -> bool:
    return (
        "authorization" in request.headers or "X-Amz-Signature=" in request.query or _is_v2_presigned(request)
    )


def _is_v2_presigned(request: SignedRequest) -> bool:
    # boto3's S3 generate_presigned_url still makes Signature Version 2 URLs by default.
    return (
        "authorization" not in request.headers
        and "AWSAccessKeyId=" in request.query
        and "Signature=" in request.query
    )


class SignatureVerifier:
    def __init__(self, credentials: Credentials):
        self.credentials = credentials

    def verify(
        self, request: SignedRequest, body_sha256: str | None, now: dt.datetime | None = None
    ) -> Scope:
        """Return the credential scope of a correctly signed request, else raise SignatureError.

        ``body_sha256`` is the hex SHA-256 of the body when the caller has read it; when the client
        declared ``X-Amz-Content-SHA256`` (S3), that declared value is what the signature covers.
        """
        if not _is_signed(request):
            raise SignatureError("missing")
        if _is_v2_presigned(request):
            return self._verify_v2_presigned(request, now or dt.datetime.now(dt.UTC))
        credential, signed_headers, signature, amz_date, presigned = _signature_parts(request)
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not amz_date:
            raise SignatureError("malformed", "the credential scope or X-Amz-Date is malformed")
        access_key, date, region, service = parts[:4]
        if not hmac.compare_digest(access_key, self.credentials.access_key_id):
            raise SignatureError("unknown-key")
        timestamp = _parse_amz_date(amz_date)
        if not amz_date.startswith(date):
            raise SignatureError("malformed", "the credential scope's date differs from X-Amz-Date")
        now = now or dt.datetime.now(dt.UTC)
        if presigned is not None:
            if now > timestamp + dt.timedelta(seconds=presigned):
                raise SignatureError("expired", "the presigned URL has expired")
        elif abs(now - timestamp) > MAX_CLOCK_SKEW:
            raise SignatureError(
                "expired", f"the request time {amz_date} is more than 15 minutes from the local time"
            )

        declared = request.headers.get("x-amz-content-sha256")
        if declared is not None:
            if body_sha256 is not None and _is_hex_digest(declared) and declared != body_sha256:
                raise SignatureError("mismatch", "the body does not match X-Amz-Content-SHA256")
            payload_hash = declared
        elif presigned is not None and service == "s3":
            payload_hash = "UNSIGNED-PAYLOAD"
        elif body_sha256 is not None:
            payload_hash = body_sha256
        else:
            raise SignatureError("malformed", "the payload hash is unknown")

        canonical = "\n".join(
            [
                request.method.upper(),
                _canonical_path(request.raw_path, service),
                _canonical_query(request.query, presigned is not None),
                _canonical_headers(request.headers, signed_headers) + "\n",
                signed_headers,
                payload_hash,
            ]
        )
        string_to_sign = "\n".join(
            [
                ALGORITHM,
                amz_date,
                f"{date}/{region}/{service}/aws4_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _signing_key(self.credentials.secret_access_key, date, region, service)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("mismatch")
        return Scope(access_key, date, region, service)

    def _verify_v2_presigned(self, request: SignedRequest, now: dt.datetime) -> Scope:
        query = dict(_query_pairs(request.query))
        if not hmac.compare_digest(query["AWSAccessKeyId"], self.credentials.access_key_id):
            raise SignatureError("unknown-key")
        try:
            expires = int(query.get("Expires", ""))
        except ValueError:
            raise SignatureError("malformed", "Expires must be a number of seconds since the epoch") from None
        if now.timestamp() > expires:
            raise SignatureError("expired", "the presigned URL has expired")
        signer = HmacV1Auth(
            BotocoreCredentials(self.credentials.access_key_id, self.credentials.secret_access_key)
        )
        amz_headers = "".join(
            f"{name}:{value.strip()}\n"
            for name, value in sorted(request.headers.items())
            if name.startswith("x-amz-")
        )
        resource = signer.canonical_resource(SplitResult("http", "", request.raw_path, request.query, ""))
        string_to_sign = (
            f"{request.method.upper()}\n{request.headers.get('content-md5', '')}\n"
            f"{request.headers.get('content-type', '')}\n{expires}\n{amz_headers}{resource}"
        )
        if not hmac.compare_digest(signer.sign_string(string_to_sign), query["Signature"]):
            raise SignatureError("mismatch")
        return Scope(self.credentials.access_key_id, "", "", "s3")


def _signature_parts(request: SignedRequest) -> tuple[str, str, str, str, int | None]:
    """``(credential, signed headers, signature, X-Amz-Date, presigned expiry or None)``."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        match = _AUTHORIZATION.match(authorization)
        if not match:
            raise SignatureError("malformed", "the Authorization header is not AWS4-HMAC-SHA256")
        return (
            match["credential"],
            match["signed"],
            match["signature"],
            request.headers.get("x-amz-date", ""),
            None,
        )
    query = dict(_query_pairs(request.query))
    try:
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise SignatureError("malformed", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        expires = int(query.get("X-Amz-Expires", "604800"))
        return (
            query["X-Amz-Credential"],
            query["X-Amz-SignedHeaders"],
            query["X-Amz-Signature"],
            query["X-Amz-Date"],
            expires,
        )
    except (KeyError, ValueError):
        raise SignatureError(
            "malformed", "the presigned URL lacks X-Amz-Credential, -Date, -SignedHeaders or -Signature"
        ) from None


def _parse_amz_date(value: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SignatureError(
            "malformed", f"X-Amz-Date '{value}' is not of the form YYYYMMDDTHHMMSSZ"
        ) from None


def _is_hex_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _canonical_path(raw_path: str, service: str) -> str:
    if service == "s3":
        return raw_path or "/"
    return quote(normalize_url_path(raw_path), safe="/~")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for pair in query.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _canonical_query(query: str, presigned: bool) -> str:
    encoded = sorted(
        (quote(key, safe="-_.~"), quote(value, safe="-_.~"))
        for key, value in _query_pairs(query)
        if not (presigned and key == "X-Amz-Signature")
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def _canonical_headers(headers: dict[str, str], signed_headers: str) -> str:
    lines = []
    for name in signed_headers.split(";"):
        if name not in headers:
            raise SignatureError("mismatch", f"the signed header '{name}' is missing")
        lines.append(f"{name}:{' '.join(headers[name].split())}")
    return "\n".join(lines)


@lru_cache(maxsize=64)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
