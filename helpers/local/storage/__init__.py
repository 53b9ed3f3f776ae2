"""What the service keeps in its state folder besides the SageMaker resources: S3 objects."""
