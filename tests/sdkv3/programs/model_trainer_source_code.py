"""SDK v3 ``ModelTrainer`` with ``SourceCode(source_dir, entry_script, requirements)`` on the
scikit-learn framework image: the SDK's own drivers run the script (ContainerEntrypoint)."""

import tempfile
from pathlib import Path

from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, SourceCode
from v3_common import ROLE, SKLEARN_IMAGE, regression_csv, session, unique, upload

TRAIN = """
import argparse, os

import joblib
import numpy as np
from sklearn.linear_model import Ridge

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
args = parser.parse_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
model = Ridge(alpha=args.alpha).fit(data[:, 1:], data[:, 0])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print(f"coefficients: {model.coef_[0]:.2f} {model.coef_[1]:.2f} alpha={args.alpha}")
"""

sm_session = session()
train_uri = upload(sm_session, "source-code/train/data.csv", regression_csv())
source_dir = Path(tempfile.mkdtemp()) / "src"
source_dir.mkdir()
(source_dir / "train.py").write_text(TRAIN)
# Already in the image: the driver's `pip install -r` is satisfied without a download.
(source_dir / "requirements.txt").write_text("scikit-learn\njoblib\n")

name = unique("v3-source")
trainer = ModelTrainer(
    training_image=SKLEARN_IMAGE,
    source_code=SourceCode(
        source_dir=str(source_dir), entry_script="train.py", requirements="requirements.txt"
    ),
    role=ROLE,
    sagemaker_session=sm_session,
    base_job_name=name,
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    hyperparameters={"alpha": 0.01},
)
trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_uri)], logs=False)
job = trainer._latest_training_job
job.refresh()
print("status:", job.training_job_status, job.failure_reason or "")
print("entrypoint:", job.algorithm_specification.container_entrypoint)

logs = sm_session.boto_session.client("logs")
group = "/aws/sagemaker/TrainingJobs"
streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job.training_job_name)
for stream in streams["logStreams"]:
    for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]:
        print("log:", event["message"])
