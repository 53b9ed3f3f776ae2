"""S3 URIs as the API takes them: ``s3://bucket/key-prefix``, checked once where a request names one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpers.local.core.errors import ValidationException

_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str, field: str) -> S3Location:
    match = _S3_URI.match(uri or "")
    if not match:
        raise ValidationException(
            f"{field} '{uri}' is not a valid S3 URI: use the form s3://bucket-name/key-prefix."
        )
    return S3Location(match.group(1), match.group(2) or "")
