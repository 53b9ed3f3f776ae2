"""The service's own AWS credentials: a random key pair per state folder, readable by its owner only.

Every request to the service must be signed (SigV4) with this pair. ``helpers.connect()`` and
``python -m helpers.local env`` hand it to clients; anyone else on the machine, or a web page,
cannot produce a valid signature.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "credentials.json"
_KEY_ALPHABET = string.ascii_uppercase + "234567"  # the alphabet of real access key ids


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


def ensure_private_folder(folder: Path) -> None:
    """Create ``folder`` (and parents) with owner-only permissions."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def load_or_create(state_dir: Path) -> Credentials:
    """The state folder's credentials, made on first use; safe when two processes race to make them."""
    path = state_dir / FILE_NAME
    for _ in range(50):
        try:
            return _read(path)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError):  # another process is writing it this very moment
            time.sleep(0.02)
            continue
        ensure_private_folder(state_dir)
        _create(path)
    return _read(path)


def _read(path: Path) -> Credentials:
    data = json.loads(path.read_text())
    return Credentials(data["AccessKeyId"], data["SecretAccessKey"])


def _create(path: Path) -> None:
    generated = {
        "AccessKeyId": "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        "SecretAccessKey": secrets.token_urlsafe(30)[:40],
    }
    # Write a private temporary file, then link it into place: readers never see a partial file,
    # and the first of two racing processes wins.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(generated, handle)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
