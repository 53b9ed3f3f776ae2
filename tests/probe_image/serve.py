from helpers.local.images.container import AlgorithmError


def load_handler(model_dir):
    raise AlgorithmError("the probe image does not serve")
