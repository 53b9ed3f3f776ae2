"""The sentiment web app: a Lambda handler, its local stand-in for API Gateway, and its page.

* ``lambda_function`` -- the self-contained AWS Lambda function (``lambda_handler``);
* ``WebAppServer``    -- serves the page and the handler on 127.0.0.1, like API Gateway;
* ``render_page`` / ``write_page`` -- the HTML page, pointed at an API URL;
* ``build_lambda_package`` -- the zip file to upload to AWS Lambda.
"""

from helpers.webapp.packaging import HANDLER, RUNTIME, build_lambda_package
from helpers.webapp.page import render_page, write_page
from helpers.webapp.proxy import http_response, proxy_event
from helpers.webapp.server import WebAppServer

__all__ = [
    "HANDLER",
    "RUNTIME",
    "WebAppServer",
    "build_lambda_package",
    "http_response",
    "proxy_event",
    "render_page",
    "write_page",
]
