"""The service's own AWS credentials: a random key pair per state folder, readable by its owner only.

Every request to the service must be signed (SigV4) with this pair. ``helpers.connect()`` and
``python -m helpers.local env`` hand it to clients; anyone else on the machine, or a web page,
cannot produce a valid signature.
"""

from __future__ import annotations

import hashlib
import hmac
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


class UnsafeStateFolder(RuntimeError):
    """The state folder or its credentials could be read or planted by someone else."""


def ensure_private_folder(folder: Path) -> None:
    """Create ``folder`` (and parents) if needed, and make sure only its owner, us, can use it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    status = folder.stat()
    if status.st_uid != os.getuid():
        raise UnsafeStateFolder(
            f"The state folder {folder} belongs to another user: choose a folder of your own with "
            "--state-dir or SAGEMAKER_LOCAL_STATE_DIR."
        )
    if status.st_mode & 0o077:
        folder.chmod(0o700)  # a folder made by an older version, or by hand, may be readable by all


def load_existing(state_dir: Path) -> Credentials | None:
    """The state folder's credentials if it has them; None if it has none yet."""
    try:
        return _read(state_dir / FILE_NAME)
    except FileNotFoundError:
        return None


def load_or_create(state_dir: Path) -> Credentials:
    """The state folder's credentials, made on first use; safe when two processes race to make them."""
    path = state_dir / FILE_NAME
    ensure_private_folder(state_dir)
    for _ in range(50):
        try:
            return _read(path)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError):  # another process is writing it this very moment
            time.sleep(0.02)
            continue
        _create(path)
    return _read(path)


def _read(path: Path) -> Credentials:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor) as handle:
        status = os.fstat(handle.fileno())
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            raise UnsafeStateFolder(
                f"{path} is not private to you (owner uid {status.st_uid}, "
                f"mode {status.st_mode & 0o777:o}), so "
                "someone else may know or have chosen these credentials: delete it and start the service "
                "again, which makes a new one."
            )
        data = json.loads(handle.read())
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


def health_proof(credentials: Credentials, challenge: str) -> str:
    """The answer only a holder of the secret can give to ``challenge``.

    ``helpers.local.control`` sends a fresh challenge with its health check, so it never mistakes
    another program on the port (or another user's service) for this state folder's service.
    """
    message = f"sagemaker-local-health:{challenge}".encode()
    return hmac.new(credentials.secret_access_key.encode(), message, hashlib.sha256).hexdigest()
