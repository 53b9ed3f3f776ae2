from helpers.local.images.toolkit.errors import UserError


def load_handler(model_dir):
    raise UserError("the probe image does not serve")
