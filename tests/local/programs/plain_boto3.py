"""A plain boto3 program that knows nothing about the course: it only reads the environment
that ``eval "$(python -m helpers.local env)"`` sets, like any AWS program would.

Trains XGBoost on libsvm data, checks the artifact, batch-transforms, prints the predictions,
then shows that an invalid hyperparameter fails the job with a reason naming it.
"""

import io
import random
import tarfile
import time

import boto3

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerCourseExecutionRole"
BUCKET = "someone-elses-bucket"

s3 = boto3.client("s3")
sm = boto3.client("sagemaker")
s3.create_bucket(Bucket=BUCKET)

rng = random.Random(7)
rows = []
for _ in range(200):
    x1, x2 = rng.uniform(0, 5), rng.uniform(0, 5)
    rows.append(f"{2 * x1 + x2:.3f} 1:{x1:.3f} 2:{x2:.3f}")
s3.put_object(Bucket=BUCKET, Key="libsvm/train/data.libsvm", Body="\n".join(rows).encode())
s3.put_object(Bucket=BUCKET, Key="libsvm/test/rows.libsvm", Body=b"0 1:1.0 2:1.0\n0 1:4.0 2:2.0\n")


def train(name, **hyperparameters):
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"num_round": "50", "objective": "reg:squarederror", **hyperparameters},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "libsvm",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/libsvm/train/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    while (desc := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        time.sleep(0.2)
    return desc


job = train("plain-program-job")
print("status:", job["TrainingJobStatus"])
artifact = s3.get_object(Bucket=BUCKET, Key="models/plain-program-job/output/model.tar.gz")["Body"].read()
with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
    print("artifact files:", tar.getnames())

sm.create_model(
    ModelName="plain-program-model",
    ExecutionRoleArn=ROLE,
    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
)
sm.create_transform_job(
    TransformJobName="plain-program-transform",
    ModelName="plain-program-model",
    TransformInput={
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/libsvm/test/"}},
        "ContentType": "text/libsvm",
        "SplitType": "Line",
    },
    TransformOutput={"S3OutputPath": f"s3://{BUCKET}/predictions"},
    TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
)
while (desc := sm.describe_transform_job(TransformJobName="plain-program-transform"))[
    "TransformJobStatus"
] == "InProgress":
    time.sleep(0.2)
print("transform:", desc["TransformJobStatus"], desc.get("FailureReason", ""))
print(
    "predictions:",
    s3.get_object(Bucket=BUCKET, Key="predictions/rows.libsvm.out")["Body"].read().decode().split(),
)

bad = train("plain-program-bad-job", max_depth="-1")
print("bad job:", bad["TrainingJobStatus"], "|", bad["FailureReason"])
