"""The PyTorch framework images (``pytorch-training``, ``pytorch-inference``): the learner's script on torch.

This module stays free of heavy imports: the service reads the metric definitions from the package.
"""
