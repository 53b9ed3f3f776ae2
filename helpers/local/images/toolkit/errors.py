"""The errors an image raises, named as the SageMaker algorithm toolkit names them."""


class UserError(Exception):
    """A failure the learner can fix (hyperparameters, channels, data); the message says how.

    Training ends with exit code 1 and ``output/failure`` = ``ClientError: <message>``, the
    FailureReason SageMaker shows for it. Anything else an image raises is an ``AlgorithmError``.
    """
