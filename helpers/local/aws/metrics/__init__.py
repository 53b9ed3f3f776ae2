"""CloudWatch metrics: the data points training jobs publish (and PutMetricData), kept in SQLite."""
