"""What the service keeps on disk: resource documents and S3 objects in SQLite."""
