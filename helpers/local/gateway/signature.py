"""AWS Signature Version 4, checked on the server side against the service's own credentials.

The canonical request is rebuilt from the request as it arrived, the way botocore builds it when
signing (``botocore.auth.SigV4Auth`` / ``S3SigV4Auth``): S3 signs the path as sent, other services
the normalised, once more percent-encoded path; the payload hash is ``X-Amz-Content-SHA256`` when
the client sent one, else the SHA-256 of the body. Both the ``Authorization`` header and presigned
S3 URLs (Signature Version 4, and the Version 2 URLs boto3 still makes by default) are accepted.

A valid signature is not enough: what the gateway routes on must be covered by it. ``Host``, any
``X-Amz-Target`` and every other ``x-amz-*`` header must be among the signed headers (as S3
requires), a presigned URL is good for S3 only, and only S3 may leave its payload unsigned.
The gateway then dispatches on the signature's service, never on an unsigned header.

Derived signing keys are cached per day, region and service, so a check costs two HMACs and one
SHA-256 of the canonical request.
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

from helpers.local.core.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)  # what AWS allows between X-Amz-Date and its clock
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # the longest X-Amz-Expires S3 accepts
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
# Headers a client may send without signing them: AWS's SDKs leave these out.
_UNSIGNABLE = {"x-amz-user-agent"}
_UNSIGNED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-")


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


@dataclass(frozen=True)
class _Claim:
    """What a request's signature says about itself, before the signature is checked."""

    scope: Scope
    signed_headers: str
    signature: str
    amz_date: str
    presigned_seconds: int | None  # X-Amz-Expires of a presigned URL; None for the header form
    version: int = 4


def claimed_service(request: SignedRequest) -> str | None:
    """The service a request says it is signed for, read without checking anything."""
    try:
        return _claim(request).scope.service
    except SignatureError:
        return None


def _same(given: str, expected: str) -> bool:
    # Header values are latin-1 text and may hold anything: compare bytes, in constant time.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class SignatureVerifier:
    def __init__(self, credentials: Credentials):
        self.credentials = credentials

    def precheck(self, request: SignedRequest, now: dt.datetime | None = None) -> Scope:
        """Every check that needs no body: form, key, time, and what must be signed.

        Run before a body is read, so nobody without the key can make the service hold one.
        """
        return self._precheck(request, now).scope

    def _precheck(self, request: SignedRequest, now: dt.datetime | None) -> _Claim:
        claim = _claim(request)
        if not _same(claim.scope.access_key_id, self.credentials.access_key_id):
            raise SignatureError("unknown-key")
        if claim.version == 2:
            return claim
        now = now or dt.datetime.now(dt.UTC)
        timestamp = _parse_amz_date(claim.amz_date)
        if not claim.amz_date.startswith(claim.scope.date):
            raise SignatureError("malformed", "the credential scope's date differs from X-Amz-Date")
        if claim.presigned_seconds is None:
            if abs(now - timestamp) > MAX_CLOCK_SKEW:
                raise SignatureError(
                    "expired",
                    f"the request time {claim.amz_date} is more than 15 minutes from the local time",
                )
        else:
            if timestamp - now > MAX_CLOCK_SKEW:
                raise SignatureError("malformed", "the presigned URL's X-Amz-Date is in the future")
            if now > timestamp + dt.timedelta(seconds=claim.presigned_seconds):
                raise SignatureError("expired", "the presigned URL has expired")
        signed = set(claim.signed_headers.split(";"))
        if "host" not in signed:
            raise SignatureError("malformed", "the Host header must be signed")
        unsigned = sorted(
            n for n in request.headers if n.startswith("x-amz-") and n not in signed | _UNSIGNABLE
        )
        if unsigned:
            raise SignatureError(
                "mismatch", f"these headers are present but not signed: {', '.join(unsigned)}"
            )
        declared = request.headers.get("x-amz-content-sha256", "")
        if declared.startswith(_UNSIGNED_PAYLOADS) and claim.scope.service != "s3":
            raise SignatureError("malformed", f"{claim.scope.service} requests must sign their payload")
        return claim

    def verify(
        self, request: SignedRequest, body_sha256: str | None, now: dt.datetime | None = None
    ) -> Scope:
        """Return the credential scope of a correctly signed request, else raise SignatureError.

        ``body_sha256`` is the hex SHA-256 of the body when the caller has read it; when the client
        declared ``X-Amz-Content-SHA256`` (S3), that declared value is what the signature covers.
        """
        try:
            claim = self._precheck(request, now)
            if claim.version == 2:
                self._verify_v2_presigned(request, now or dt.datetime.now(dt.UTC))
            else:
                self._verify_v4(request, claim, body_sha256)
            return claim.scope
        except SignatureError:
            raise
        except (ValueError, KeyError, OverflowError, TypeError, UnicodeError) as exc:
            raise SignatureError(
                "malformed", f"the signature could not be read ({type(exc).__name__})"
            ) from None

    def _verify_v4(self, request: SignedRequest, claim: _Claim, body_sha256: str | None) -> None:
        scope = claim.scope
        declared = request.headers.get("x-amz-content-sha256")
        if declared is not None:
            if body_sha256 is not None and _is_hex_digest(declared) and declared != body_sha256:
                raise SignatureError("mismatch", "the body does not match X-Amz-Content-SHA256")
            payload_hash = declared
        elif claim.presigned_seconds is not None:
            payload_hash = "UNSIGNED-PAYLOAD"
        elif body_sha256 is not None:
            payload_hash = body_sha256
        else:
            raise SignatureError("malformed", "the payload hash is unknown")
        canonical = "\n".join(
            [
                request.method.upper(),
                _canonical_path(request.raw_path, scope.service),
                _canonical_query(request.query, claim.presigned_seconds is not None),
                _canonical_headers(request.headers, claim.signed_headers) + "\n",
                claim.signed_headers,
                payload_hash,
            ]
        )
        string_to_sign = "\n".join(
            [
                ALGORITHM,
                claim.amz_date,
                f"{scope.date}/{scope.region}/{scope.service}/aws4_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _signing_key(self.credentials.secret_access_key, scope.date, scope.region, scope.service)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not _same(claim.signature, expected):
            raise SignatureError("mismatch")

    def _verify_v2_presigned(self, request: SignedRequest, now: dt.datetime) -> None:
        query = dict(_query_pairs(request.query))
        expires = int(query["Expires"])
        if now.timestamp() > expires:
            raise SignatureError("expired", "the presigned URL has expired")
        if expires - now.timestamp() > MAX_PRESIGNED_SECONDS:
            raise SignatureError("malformed", "a presigned URL may be valid for 7 days at most")
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
        if not _same(query["Signature"], signer.sign_string(string_to_sign)):
            raise SignatureError("mismatch")


def _claim(request: SignedRequest) -> _Claim:
    authorization = request.headers.get("authorization")
    query = dict(_query_pairs(request.query))
    if authorization is not None:
        match = _AUTHORIZATION.match(authorization)
        if not match:
            raise SignatureError("malformed", "the Authorization header is not AWS4-HMAC-SHA256")
        scope = _scope(match["credential"])
        return _Claim(scope, match["signed"], match["signature"], request.headers.get("x-amz-date", ""), None)
    if "X-Amz-Signature" in query:
        try:
            if query["X-Amz-Algorithm"] != ALGORITHM:
                raise SignatureError("malformed", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
            seconds = int(query["X-Amz-Expires"])
            claim = _Claim(
                _scope(query["X-Amz-Credential"]),
                query["X-Amz-SignedHeaders"],
                query["X-Amz-Signature"],
                query["X-Amz-Date"],
                seconds,
            )
        except (KeyError, ValueError):
            raise SignatureError(
                "malformed",
                "the presigned URL lacks X-Amz-Credential, -Date, -Expires, -SignedHeaders or -Signature",
            ) from None
        if not 1 <= seconds <= MAX_PRESIGNED_SECONDS:
            raise SignatureError("malformed", "X-Amz-Expires must be between 1 and 604800 seconds")
        _presigned_for_s3_only(request, claim.scope)
        return claim
    if "AWSAccessKeyId" in query and "Signature" in query and "Expires" in query:
        claim = _Claim(Scope(query["AWSAccessKeyId"], "", "", "s3"), "", query["Signature"], "", 0, version=2)
        _presigned_for_s3_only(request, claim.scope)
        return claim
    raise SignatureError("missing")


def _presigned_for_s3_only(request: SignedRequest, scope: Scope) -> None:
    if scope.service != "s3" or "x-amz-target" in request.headers:
        raise SignatureError("malformed", "presigned URLs are for S3 objects only")


def _scope(credential: str) -> Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise SignatureError(
            "malformed", "the credential scope is not <key>/<date>/<region>/<service>/aws4_request"
        )
    return Scope(*parts[:4])


def _parse_amz_date(value: str) -> dt.datetime:
    # By hand: strptime costs more than the rest of a signature check.
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z":
            raise ValueError(value)
        return dt.datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=dt.UTC,
        )  # fmt: skip
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
    # Percent-decoding only: '+' stays '+', as botocore signs it.
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
