"""The AWS services beside SageMaker (S3, IAM, STS, CloudWatch Logs), served by moto."""
