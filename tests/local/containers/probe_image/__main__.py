from helpers.local.images.toolkit.container import main

from . import import_runtime

import_runtime()
main("tests.local.containers.probe_image")
