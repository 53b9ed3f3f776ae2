"""The health check both sides of the service agree on: where it answers and how it names itself.

``server.py`` answers it (through the gateway); ``control.py`` asks it before starting, stopping or
reporting on a service, and a ``helpers.connect()`` asks it before every notebook session.
"""

HEALTH_PATH = "/_local/health"
# The ``service`` field of the health document: anything else answering on the port is not a service.
HEALTH_SERVICE_NAME = "sagemaker-local"
