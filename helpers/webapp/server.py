"""A local stand-in for API Gateway plus a web page: the web app without an AWS account.

``WebAppServer`` listens on 127.0.0.1 (a free port by default) in a background thread:

* ``GET /`` serves the page (a textarea, a button, the verdict);
* ``POST /predict`` becomes a proxy event for the Lambda handler, and the handler's proxy
  response becomes the HTTP answer, as API Gateway does on AWS.

Usage::

    app = WebAppServer()          # the course's handler; pass handler= for your own
    url = app.start()             # http://127.0.0.1:<port>/
    ...
    app.stop()
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from helpers.webapp.page import render_page
from helpers.webapp.proxy import MalformedProxyResponse, http_response, proxy_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
API_PATH = "/predict"
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit

log = logging.getLogger(__name__)


class LambdaContext:
    """The few attributes of Lambda's context object a handler may look at."""

    def __init__(self, function_name: str, timeout_s: float = 30.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class WebAppServer:
    """The web page and its API on a local port, served from a background thread."""

    def __init__(self, handler: Handler | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if handler is None:
            from helpers.webapp.lambda_function import lambda_handler as handler
        self.handler = handler
        self.host = host
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address (the API is ``url + "predict"``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running: call start() first")
        return f"http://{self.host}:{self._httpd.server_address[1]}/"

    @property
    def api_url(self) -> str:
        return self.url.rstrip("/") + API_PATH

    def start(self) -> str:
        """Start serving (idempotent) and return the page's URL."""
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer((self.host, self.port), _request_handler(self.handler))
            self._httpd.daemon_threads = True
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="webapp", daemon=True)
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self) -> WebAppServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _request_handler(handler: Handler) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "CourseWebApp/1.0"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                # A relative URL: the page calls the API on whatever host served it.
                self._send(
                    HTTPStatus.OK,
                    {"Content-Type": "text/html; charset=utf-8"},
                    render_page("predict").encode(),
                )
            elif path == API_PATH:
                self._invoke()  # the handler decides what a GET means (like API Gateway's ANY)
            else:
                self._send_json(HTTPStatus.NOT_FOUND, {"message": f"Not found: {path}. The page is at /."})

        def do_POST(self) -> None:
            self._invoke_api()

        def do_OPTIONS(self) -> None:
            self._invoke_api()

        def _invoke_api(self) -> None:
            if urlsplit(self.path).path != API_PATH:
                self._send_json(HTTPStatus.NOT_FOUND, {"message": f"The API is POST {API_PATH}."})
            else:
                self._invoke()

        def _invoke(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                # The body's end is unknown: reading on would wait for bytes that never come.
                self.close_connection = True
                self._send_json(HTTPStatus.BAD_REQUEST, {"message": "Invalid Content-Length header"})
                return
            if length > MAX_BODY:
                self._send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "Request too long"})
                return
            parts = urlsplit(self.path)
            event = proxy_event(
                self.command,
                parts.path,
                dict(self.headers.items()),
                self.rfile.read(length),
                parts.query,
                self.client_address[0],
            )
            try:
                result = handler(event, LambdaContext("sentiment-webapp"))
            except Exception:  # what API Gateway answers when the function fails
                log.exception("the handler failed")
                self._send_json(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"})
                return
            try:
                status, headers, body = http_response(result)
            except MalformedProxyResponse as exc:  # API Gateway answers the same, and logs why
                log.error("malformed Lambda proxy response: %s", exc)
                self._send_json(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"})
                return
            self._send(status, headers, body)

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Keep notebook output clean: requests go to the logger, not to stderr.
            log.debug("%s %s", self.address_string(), format % args)

    return RequestHandler
