"""S3 ``ManifestFile`` data sources: ``[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]``.

What the SDK's ``record_set`` uploads for a training channel, and what a processing input may name;
each listed object is staged under its relative key.
"""

from __future__ import annotations

import json

from helpers.local.aws import backends as moto_backends
from helpers.local.core.errors import JobFailure
from helpers.local.core.s3_uri import S3Location, parse_s3_uri


def manifest_objects(location: S3Location, source: str) -> list[tuple[str, str, str]]:
    """``(bucket, key, relative key)`` of each object the manifest at ``location`` lists.

    ``source`` names the channel or input in the ClientError a missing or malformed manifest gives.
    """
    body = moto_backends.get_object(location.bucket, location.key)
    if body is None:
        raise JobFailure(f"ClientError: the manifest file {location.uri} of {source} does not exist.")
    try:
        manifest = json.loads(body)
        prefix = parse_s3_uri(manifest[0]["prefix"], f"{source} manifest prefix")
        relatives = [str(entry) for entry in manifest[1:]]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise JobFailure(
            f"ClientError: the manifest file {location.uri} of {source} is not "
            f'[{{"prefix": "s3://bucket/prefix/"}}, "relative/key", ...]: {exc}'
        ) from exc
    return [(prefix.bucket, prefix.key + relative, relative) for relative in relatives]
