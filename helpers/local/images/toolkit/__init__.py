"""What every image shares: the container contract, serving, payloads, hyperparameters."""
