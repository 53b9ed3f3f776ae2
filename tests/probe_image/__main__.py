from helpers.local.images.container import main

from . import import_runtime

import_runtime()
main("tests.probe_image")
