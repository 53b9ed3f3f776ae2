"""Notebook instances through boto3, as a learner drives them: a real JupyterLab behind the API.

One instance is created for the module and taken through its life (InService, Stop, Start,
Delete) by tests that chain; the failures (quota, role, lifecycle script, clone) need no server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from helpers.local import control
from helpers.local.aws.roles import trust_policy
from helpers.local.core.config import ROLE_ARN
from helpers.local.core.pricing import NOTEBOOK, price_table
from tests.service_helpers import processes_in, unique, wait_until

FAST = {"Delay": 0.2, "MaxAttempts": 600}
ON_CREATE = "echo created >> on-create.txt\n"
ON_START = (
    "echo started >> on-start.txt\necho \"$AWS_ENDPOINT_URL\" > endpoint.txt\necho 'starting the instance'\n"
)


def b64(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


def git_repository(folder: Path, name: str = "course-code") -> Path:
    """A local git repository with one committed notebook-ish file."""
    repository = folder / name
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    (repository / "README.md").write_text("# course code\n")
    subprocess.run(["git", "-C", str(repository), "add", "."], check=True)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(repository), *identity, "commit", "-qm", "x"], check=True)
    return repository


def jupyter(url: str, path: str, method: str = "GET", body: dict | None = None, token: bool = True):
    """One request to the Jupyter server behind a presigned URL: (status, JSON answer)."""
    base, key = url.split("/lab?token=")
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {key}"} if token else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def contents(url: str, path: str = "") -> dict[str, str]:
    status, listing = jupyter(url, f"/api/contents/{path}")
    assert status == 200
    return {item["name"]: item["type"] for item in listing["content"]}


def read_text(url: str, path: str) -> str:
    status, item = jupyter(url, f"/api/contents/{path}?content=1&type=file&format=text")
    assert status == 200
    return item["content"]


def wait(sm, waiter: str, name: str) -> None:
    sm.get_waiter(waiter).wait(NotebookInstanceName=name, WaiterConfig=FAST)


@pytest.fixture(scope="module")
def instance(sm, tmp_path_factory):
    """An InService instance with a cloned repository and OnCreate/OnStart scripts."""
    name = unique("nb")
    config = unique("nb-config")
    sm.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=config,
        OnCreate=[{"Content": b64(ON_CREATE)}],
        OnStart=[{"Content": b64(ON_START)}],
    )
    folder = tmp_path_factory.mktemp("repositories")
    repository = git_repository(folder)
    # A second repository by name, as a code repository resource, cloned at a branch of its own.
    extras = git_repository(folder, "course-extras")
    subprocess.run(["git", "-C", str(extras), "checkout", "-qb", "solutions"], check=True)
    (extras / "solution.py").write_text("answer = 42\n")
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(extras), "add", "."], check=True)
    subprocess.run(["git", "-C", str(extras), *identity, "commit", "-qm", "solutions"], check=True)
    subprocess.run(["git", "-C", str(extras), "checkout", "-q", "-"], check=True)
    extras_name = unique("extras")
    sm.create_code_repository(
        CodeRepositoryName=extras_name, GitConfig={"RepositoryUrl": str(extras), "Branch": "solutions"}
    )
    sm.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t3.medium",
        RoleArn=ROLE_ARN,
        LifecycleConfigName=config,
        DefaultCodeRepository=str(repository),
        AdditionalCodeRepositories=[extras_name],
        Tags=[{"Key": "course", "Value": "notebook-instances"}],
    )
    assert sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"] == "Pending"
    wait(sm, "notebook_instance_in_service", name)
    yield name
    # Whatever a failed test left: the instance stopped and deleted.
    with contextlib.suppress(ClientError):
        if sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"] == "InService":
            sm.stop_notebook_instance(NotebookInstanceName=name)
            wait(sm, "notebook_instance_stopped", name)
        sm.delete_notebook_instance(NotebookInstanceName=name)


def test_in_service_instance_serves_jupyterlab_on_its_volume(sm, service, instance):
    desc = sm.describe_notebook_instance(NotebookInstanceName=instance)
    assert desc["NotebookInstanceStatus"] == "InService"
    assert desc["InstanceType"] == "ml.t3.medium" and desc["VolumeSizeInGB"] == 5
    url = sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)["AuthorizedUrl"]
    assert url.startswith("http://127.0.0.1:") and "/lab?token=" in url

    assert jupyter(url, "/api/status")[0] == 200
    assert jupyter(url, "/api/status", token=False)[0] == 403  # the token is the key
    status, page = 0, None
    with urllib.request.urlopen(url, timeout=10) as answer:  # the URL opens JupyterLab itself
        status, page = answer.status, answer.read().decode()
    assert status == 200 and "JupyterLab" in page
    listing = contents(url)
    assert listing["course-code"] == "directory"
    assert "README.md" in contents(url, "course-code")
    assert read_text(url, "course-extras/solution.py") == "answer = 42\n"  # the code repository's branch
    # OnCreate ran once and OnStart once, both in the volume, before the server answered.
    assert read_text(url, "on-create.txt") == "created\n"
    assert read_text(url, "on-start.txt") == "started\n"
    # What the execution role gives on AWS: the scripts and kernels reach this service.
    assert read_text(url, "endpoint.txt") == f"{service.url}\n"

    listed = sm.list_notebook_instances(NameContains=instance, StatusEquals="InService")["NotebookInstances"]
    assert [item["NotebookInstanceName"] for item in listed] == [instance]
    tags = sm.list_tags(ResourceArn=desc["NotebookInstanceArn"])["Tags"]
    assert tags == [{"Key": "course", "Value": "notebook-instances"}]


def test_lifecycle_script_output_is_in_cloudwatch_logs(boto, instance):
    logs = boto.client("logs")
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/NotebookInstances", logStreamName=f"{instance}/LifecycleConfigOnStart"
    )["events"]
    assert [event["message"] for event in events] == ["starting the instance"]


def test_an_instance_in_service_cannot_be_deleted(sm, instance):
    with pytest.raises(ClientError) as refused:
        sm.delete_notebook_instance(NotebookInstanceName=instance)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Status (InService) not in ([Stopped, Failed]). Unable to transition")
    with pytest.raises(ClientError, match=r"Status \(InService\) not in \(\[Stopped, Failed\]\)"):
        sm.start_notebook_instance(NotebookInstanceName=instance)


def test_files_survive_stop_and_start_and_onstart_runs_again(sm, service, instance):
    url = sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)["AuthorizedUrl"]
    saved = {"type": "file", "format": "text", "content": "print('kept')\n"}
    assert jupyter(url, "/api/contents/analysis.py", "PUT", saved)[0] in (200, 201)
    status, kernel = jupyter(url, "/api/kernels", "POST", {"name": "python3"})
    assert status == 201 and kernel["name"] == "python3"  # a notebook's kernel runs on the instance

    sm.stop_notebook_instance(NotebookInstanceName=instance)
    assert sm.describe_notebook_instance(NotebookInstanceName=instance)["NotebookInstanceStatus"] in (
        "Stopping",
        "Stopped",
    )
    wait(sm, "notebook_instance_stopped", instance)
    # Neither the server nor the kernel it started is left.
    assert processes_in(service.work_dir / "notebook-instances" / instance) == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url.replace("/lab?", "/api/status?"), timeout=5)
    with pytest.raises(ClientError, match="InService"):
        sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)
    with pytest.raises(ClientError, match=r"Status \(Stopped\) not in \(\[InService\]\)"):
        sm.stop_notebook_instance(NotebookInstanceName=instance)

    sm.start_notebook_instance(NotebookInstanceName=instance)
    wait(sm, "notebook_instance_in_service", instance)
    again = sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)["AuthorizedUrl"]
    assert again != url  # a new server, with a new token
    assert read_text(again, "analysis.py") == "print('kept')\n"
    assert "README.md" in contents(again, "course-code")
    assert read_text(again, "on-create.txt") == "created\n"
    assert read_text(again, "on-start.txt") == "started\nstarted\n"


def test_an_instance_is_billed_while_in_service_and_not_while_stopped(sm, service, instance):
    def intervals() -> list[dict]:
        return [row for row in control.usage(service)["usage"] if row["name"] == instance]

    hourly = price_table().hourly("ml.t3.medium", service.region, NOTEBOOK)
    # Created, then stopped and started by the test before: two stretches in service, one open.
    before = intervals()
    assert [row["running"] for row in before] == [False, True]
    assert all(row["kind"] == "NotebookInstance" and row["hourly"] == hourly for row in before)
    assert before[0]["cost"] == pytest.approx(hourly * before[0]["seconds"] / 3600)

    sm.stop_notebook_instance(NotebookInstanceName=instance)
    wait(sm, "notebook_instance_stopped", instance)
    stopped = intervals()
    assert [row["running"] for row in stopped] == [False, False]
    time.sleep(0.5)
    assert [row["cost"] for row in intervals()] == [row["cost"] for row in stopped]  # Stopped costs nothing

    sm.start_notebook_instance(NotebookInstanceName=instance)
    wait(sm, "notebook_instance_in_service", instance)
    assert [row["running"] for row in intervals()] == [False, False, True]


def test_a_server_shut_down_from_jupyterlab_is_started_again(sm, instance):
    url = sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)["AuthorizedUrl"]
    assert jupyter(url, "/api/shutdown", "POST")[0] == 200  # JupyterLab's File > Shut Down

    def answers_again() -> bool:
        again = sm.create_presigned_notebook_instance_url(NotebookInstanceName=instance)["AuthorizedUrl"]
        return again != url and jupyter(again, "/api/status")[0] == 200

    wait_until(answers_again, "the instance's Jupyter server answers again", timeout=120)
    assert (
        sm.describe_notebook_instance(NotebookInstanceName=instance)["NotebookInstanceStatus"] == "InService"
    )


def test_a_stopped_instance_can_be_updated(sm, instance):
    with pytest.raises(ClientError, match="stop it first"):
        sm.update_notebook_instance(NotebookInstanceName=instance, InstanceType="ml.t3.large")
    sm.stop_notebook_instance(NotebookInstanceName=instance)
    wait(sm, "notebook_instance_stopped", instance)
    sm.update_notebook_instance(
        NotebookInstanceName=instance, InstanceType="ml.t3.large", DisassociateLifecycleConfig=True
    )
    desc = sm.describe_notebook_instance(NotebookInstanceName=instance)
    assert desc["InstanceType"] == "ml.t3.large" and desc["NotebookInstanceStatus"] == "Stopped"
    assert "NotebookInstanceLifecycleConfigName" not in desc


def test_a_stopped_instance_is_deleted_with_its_volume(sm, service, instance):
    if sm.describe_notebook_instance(NotebookInstanceName=instance)["NotebookInstanceStatus"] == "InService":
        sm.stop_notebook_instance(NotebookInstanceName=instance)  # (when run without the tests before it)
    wait(sm, "notebook_instance_stopped", instance)
    sm.delete_notebook_instance(NotebookInstanceName=instance)
    wait(sm, "notebook_instance_deleted", instance)
    with pytest.raises(ClientError, match="does not exist"):
        sm.describe_notebook_instance(NotebookInstanceName=instance)
    assert not (service.work_dir / "notebook-instances" / instance).exists()


def test_gpu_instance_types_need_a_quota_increase(sm):
    with pytest.raises(ClientError) as refused:
        sm.create_notebook_instance(
            NotebookInstanceName=unique("gpu"), InstanceType="ml.p2.xlarge", RoleArn=ROLE_ARN
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "ResourceLimitExceeded"
    assert "'ml.p2.xlarge for notebook instance usage' is 0 Instances" in error["Message"]
    assert "Service Quotas" in error["Message"]


def test_instance_type_must_be_a_notebook_instance_type(sm):
    with pytest.raises(ClientError, match="enum value set"):
        sm.create_notebook_instance(
            NotebookInstanceName=unique("nb"), InstanceType="ml.t3.tiny", RoleArn=ROLE_ARN
        )


def test_the_role_must_exist_and_trust_sagemaker(sm, boto):
    missing = ROLE_ARN.replace("SageMakerCourseExecutionRole", "NoSuchRole")
    with pytest.raises(ClientError, match="does not exist in IAM") as refused:
        sm.create_notebook_instance(
            NotebookInstanceName=unique("nb"), InstanceType="ml.t3.medium", RoleArn=missing
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"

    iam = boto.client("iam")
    trust = trust_policy("ec2.amazonaws.com")
    role = iam.create_role(RoleName=unique("ec2-role"), AssumeRolePolicyDocument=trust)["Role"]
    with pytest.raises(ClientError, match="cannot be assumed by sagemaker.amazonaws.com"):
        sm.create_notebook_instance(
            NotebookInstanceName=unique("nb"), InstanceType="ml.t3.medium", RoleArn=role["Arn"]
        )


def test_an_execution_role_gets_the_aws_managed_sagemaker_policy(boto):
    iam = boto.client("iam")
    name = unique("execution-role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy("sagemaker.amazonaws.com"))
    policy = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonSageMakerFullAccess", "PolicyArn": policy}]
    iam.detach_role_policy(RoleName=name, PolicyArn=policy)
    iam.delete_role(RoleName=name)


def test_a_failing_lifecycle_script_fails_the_instance(sm):
    config = unique("failing")
    sm.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=config,
        OnCreate=[{"Content": b64("echo 'installing'\nexit 3\n")}],
    )
    name = unique("nb")
    sm.create_notebook_instance(
        NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE_ARN, LifecycleConfigName=config
    )
    with pytest.raises(Exception, match="Failed"):
        wait(sm, "notebook_instance_in_service", name)
    desc = sm.describe_notebook_instance(NotebookInstanceName=name)
    assert desc["NotebookInstanceStatus"] == "Failed"
    reason = desc["FailureReason"]
    assert reason.startswith(f"Notebook Instance Lifecycle Config 'arn:aws:sagemaker:{sm.meta.region_name}:")
    assert f"notebook-instance-lifecycle-config/{config}'" in reason and "failed" in reason
    assert "exited with code 3" in reason and f"{name}/LifecycleConfigOnCreate" in reason
    sm.delete_notebook_instance(NotebookInstanceName=name)  # a Failed instance can be deleted
    wait(sm, "notebook_instance_deleted", name)


def test_a_repository_that_cannot_be_cloned_fails_the_instance(sm, tmp_path):
    name = unique("nb")
    missing = tmp_path / "not-a-repository"
    sm.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t3.medium",
        RoleArn=ROLE_ARN,
        DefaultCodeRepository=str(missing),
    )
    with pytest.raises(Exception, match="Failed"):
        wait(sm, "notebook_instance_in_service", name)
    reason = sm.describe_notebook_instance(NotebookInstanceName=name)["FailureReason"]
    assert f"'{missing}'" in reason and "fatal:" in reason
    sm.delete_notebook_instance(NotebookInstanceName=name)


def test_names_are_unique(sm):
    config = unique("config")
    sm.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=config)
    with pytest.raises(ClientError, match="already exists"):
        sm.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=config)
    name = unique("nb")
    sm.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t3.medium",
        RoleArn=ROLE_ARN,
        DefaultCodeRepository="/nowhere",
    )
    with pytest.raises(ClientError, match="Cannot create a duplicate Notebook Instance"):
        sm.create_notebook_instance(NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE_ARN)
    wait_failed = pytest.raises(Exception, match="Failed")
    with wait_failed:
        wait(sm, "notebook_instance_in_service", name)
    sm.delete_notebook_instance(NotebookInstanceName=name)


def test_lifecycle_configurations_describe_list_update_delete(sm):
    name = unique("config")
    arn = sm.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=name, OnStart=[{"Content": b64("echo one\n")}]
    )["NotebookInstanceLifecycleConfigArn"]
    assert arn.endswith(f":notebook-instance-lifecycle-config/{name}")
    sm.update_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=name, OnStart=[{"Content": b64("echo two\n")}]
    )
    desc = sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=name)
    assert base64.b64decode(desc["OnStart"][0]["Content"]) == b"echo two\n"
    assert desc["OnCreate"] == []
    listed = sm.list_notebook_instance_lifecycle_configs(NameContains=name, SortBy="LastModifiedTime")
    assert [c["NotebookInstanceLifecycleConfigName"] for c in listed["NotebookInstanceLifecycleConfigs"]] == [
        name
    ]
    with pytest.raises(ClientError, match="base64"):
        sm.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=unique("bad"), OnStart=[{"Content": "echo not encoded"}]
        )
    sm.delete_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=name)
    with pytest.raises(ClientError, match="does not exist"):
        sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=name)
    with pytest.raises(ClientError, match="Unable to find Notebook Instance Lifecycle Config"):
        sm.create_notebook_instance(
            NotebookInstanceName=unique("nb"),
            InstanceType="ml.t3.medium",
            RoleArn=ROLE_ARN,
            LifecycleConfigName=name,
        )


def test_code_repositories_by_name(sm):
    name = unique("repo")
    url = "https://github.com/example/course.git"
    arn = sm.create_code_repository(CodeRepositoryName=name, GitConfig={"RepositoryUrl": url})[
        "CodeRepositoryArn"
    ]
    assert arn.endswith(f":code-repository/{name}")
    assert sm.describe_code_repository(CodeRepositoryName=name)["GitConfig"] == {"RepositoryUrl": url}
    listed = sm.list_code_repositories(NameContains=name)["CodeRepositorySummaryList"]
    assert [r["CodeRepositoryName"] for r in listed] == [name]
    with pytest.raises(ClientError, match="Secrets Manager"):
        sm.create_code_repository(
            CodeRepositoryName=unique("secret"),
            GitConfig={
                "RepositoryUrl": url,
                "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:git-abc",
            },
        )
    sm.delete_code_repository(CodeRepositoryName=name)
    with pytest.raises(ClientError, match="create it"):
        sm.create_notebook_instance(
            NotebookInstanceName=unique("nb"),
            InstanceType="ml.t3.medium",
            RoleArn=ROLE_ARN,
            DefaultCodeRepository=name,
        )


def test_starting_an_instance_checks_the_quota_again(sm, service):
    name = unique("nb")
    sm.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t3.xlarge",
        RoleArn=ROLE_ARN,
        DefaultCodeRepository="/nowhere",
    )
    with pytest.raises(Exception, match="Failed"):
        wait(sm, "notebook_instance_in_service", name)
    quotas = service.state_dir / "quotas.json"
    quotas.write_text(json.dumps({"ml.t3.xlarge for notebook instance usage": 0}))
    try:
        with pytest.raises(ClientError) as refused:
            sm.start_notebook_instance(NotebookInstanceName=name)
        assert refused.value.response["Error"]["Code"] == "ResourceLimitExceeded"
        assert sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"] == "Failed"
    finally:
        quotas.unlink()
    sm.delete_notebook_instance(NotebookInstanceName=name)
