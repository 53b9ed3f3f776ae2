"""What every SDK v3 program here shares: a v3 session built only from the environment that
``eval "$(python -m helpers.local env)"`` sets, as any program would build one for AWS.

On AWS a bare ``Session()`` finds its default bucket through an STS call with a hard-coded regional
endpoint (not ``AWS_ENDPOINT_URL``), so the bucket and role are named here, as the SDK allows.
"""

import time

import boto3
from sagemaker.core.helper.session_helper import Session

ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerCourseExecutionRole"
BUCKET = "sdkv3-programs"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def session() -> Session:
    boto_session = boto3.Session()
    boto_session.client("s3").create_bucket(Bucket=BUCKET)
    return Session(boto_session=boto_session, default_bucket=BUCKET)


def unique(prefix: str) -> str:
    return f"{prefix}-{int(time.time() * 1000) % 10**9}"


def regression_csv(rows: int = 120, label: bool = True) -> str:
    """y = 2*x1 + x2 (label first, no header, as the built-in algorithms read CSV)."""
    lines = []
    for i in range(rows):
        x1, x2 = (i % 11) / 2, (i % 7) / 2
        lines.append(",".join(f"{v:.3f}" for v in ([2 * x1 + x2] if label else []) + [x1, x2]))
    return "\n".join(lines) + "\n"


def upload(session: Session, key: str, body: str) -> str:
    session.boto_session.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return f"s3://{BUCKET}/{key}"
