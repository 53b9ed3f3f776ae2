"""IAM roles as a service that assumes them sees them: does the role exist, and does it trust us?"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from moto.iam.models import iam_backends

from helpers.local.core.config import ACCOUNT_ID


def trust_policy(service_principal: str) -> str:
    """The trust policy (JSON) that lets ``service_principal`` assume a role, as IAM takes it."""
    statement = {"Effect": "Allow", "Principal": {"Service": service_principal}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _trusted_services(policy: Any) -> set[str]:
    """The service principals a trust policy lets assume the role (``sts:AssumeRole``, Allow)."""
    services: set[str] = set()
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(action in ("sts:AssumeRole", "sts:*", "*") for action in actions):
            continue
        principal = statement.get("Principal", {})
        named = principal.get("Service", []) if isinstance(principal, dict) else []
        services.update([named] if isinstance(named, str) else named)
    return services


def role_problem(role_arn: str, service_principal: str) -> str | None:
    """Why ``service_principal`` could not assume the role ``role_arn``, or None if it can."""
    backend = iam_backends[ACCOUNT_ID]["global"]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return (
            f"The role '{role_arn}' does not exist in IAM: create it (iam.create_role) with a trust "
            f"policy for {service_principal}, or pass the ARN of a role that exists."
        )
    document = role.assume_role_policy_document
    try:
        policy = json.loads(urllib.parse.unquote(document) if isinstance(document, str) else document)
    except (TypeError, ValueError):
        policy = {}
    if service_principal not in _trusted_services(policy):
        return (
            f"The role '{role_arn}' cannot be assumed by {service_principal}: its trust policy must allow "
            f"sts:AssumeRole for the service principal {service_principal} (iam.update_assume_role_policy)."
        )
    return None
