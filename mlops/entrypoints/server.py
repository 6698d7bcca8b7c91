"""The inference HTTP server (the SageMaker container contract), stdlib only.

- `GET /ping`: 200 `{"status": "ok", "model_version": ..., "stage": ...}` once the model is
  loaded (it is loaded before the server listens).
- `POST /invocations`: the handler's request/response (see `mlops.entrypoints.handler`); a
  JSON-lines body (Batch Transform) is answered line for line (`mlops.entrypoints.jsonlines`).
- `POST /endpoints/<name>/invocations`: the same behind the SageMaker runtime API's path, so a
  boto3 `sagemaker-runtime` client pointed here with `endpoint_url` works; container errors are
  wrapped as SageMaker does (424 `ModelError` with `OriginalStatusCode`/`OriginalMessage`).

Bodies are limited to `max_body_bytes` (default 6 MiB, SageMaker's real-time payload limit):
a larger `Content-Length` is refused with 413 without reading the body; a chunked body is
refused with 413 as soon as the bytes read pass the limit. A request's texts may add up to
`sea_core.validation.MAX_REQUEST_CHARS` characters (the work limit; more: 413). Errors are JSON
`{"error": message, "field": field}`, the stdlib's own (bad request line, oversized headers,
unknown method) included; PUT, DELETE and PATCH are 405.

Requests are served concurrently (a thread per connection, HTTP/1.1 keep-alive); the model is
shared through an `InferenceScheduler` (`mlops.services.inference_scheduler`):
- at most `queue_limit` requests are admitted at once (setting `inference_queue_limit`); one
  more is answered 503 with `Retry-After` (on the SageMaker runtime path: 503
  `ServiceUnavailable`, `{"message": ...}`);
- each text is one unit of work, units run one at a time (the tokenizer is not thread-safe,
  and torch already uses every core for one text) and requests take turns between units, so a
  one-text request never waits for a whole large batch;
- before each unit (and while waiting for one) the connection is checked: when the client has
  closed it, the remaining units are cancelled, nothing is answered and nothing is logged in
  the prediction log (nobody received the prediction); the server's own log says so.

Every prediction served is logged through the `PredictionLog` (stage, latency) before the
response is sent, by the one prediction path (`mlops.services.prediction.predict`); see
`mlops.services.prediction_log` for who logs what.
"""

from __future__ import annotations

import json
import logging
import re
import select
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from mlops.config import DEFAULT_INFERENCE_QUEUE_LIMIT
from mlops.entrypoints.handler import (
    InferenceRequest,
    PredictionResult,
    RequestError,
    check_accept,
    input_fn,
    output_fn,
    predict_logged,
)
from mlops.entrypoints.jsonlines import is_jsonlines, jsonlines_input, jsonlines_output
from mlops.services.inference_scheduler import InferenceScheduler, QueueFull, WorkCancelled
from sea_core.pipeline import Pipeline

if TYPE_CHECKING:
    from mlops.bootstrap import Bootstrap
    from mlops.services.prediction_log import PredictionLog

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
SAGEMAKER_PATH = re.compile(r"^/endpoints/([A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))/invocations$")
_DRAIN_LIMIT_BYTES = 1024 * 1024
_DRAIN_LIMIT_S = 2.0
#: Methods answered 405 (with `Allow`) rather than the stdlib's 501.
_ALLOWED = "GET, POST"


#: The field named by the stdlib's errors (`send_error`), by status.
_ERROR_FIELDS = {414: "request line", 431: "headers", 501: "method", 505: "HTTP version"}


class InferenceServer(ThreadingHTTPServer):
    """A loaded pipeline behind HTTP. `url` is `http://host:port`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        pipeline: Pipeline,
        *,
        stage: str = "prod",
        prediction_log: PredictionLog | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        request_timeout_s: float = 60.0,
        queue_limit: int = DEFAULT_INFERENCE_QUEUE_LIMIT,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.pipeline = pipeline
        self.stage = stage
        self.prediction_log = prediction_log
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s
        self.scheduler = InferenceScheduler(queue_limit)
        super().__init__(address, InferenceRequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if not isinstance(host, str):  # the stubs allow bytes; a bound socket's name is a str
            host = bytes(host).decode()
        return f"http://{host}:{port}"

    @property
    def model_version(self) -> str:
        return self.pipeline.model_version


class InferenceRequestHandler(BaseHTTPRequestHandler):
    """One connection: `/ping` and the invocation routes."""

    protocol_version = "HTTP/1.1"
    server_version = "sea-inference/1"
    server: InferenceServer

    def setup(self) -> None:
        super().setup()
        # what a `timeout` class attribute would do in `StreamRequestHandler.setup`, per server
        self.connection.settimeout(self.server.request_timeout_s)
        self._unread_body = False

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib signature (its `format` name)
        log.debug("%s %s", self.address_string(), format % args)

    # -- responses -------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Model-Version", self.server.model_version)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        # ASCII with escapes: an error may quote what the client sent (e.g. a lone surrogate)
        self._send(status, json.dumps(document).encode("ascii"), headers=headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's error answers (bad request line, oversized headers, unknown method) as
        JSON `{"error": ..., "field": ...}` instead of an HTML page; the connection closes."""
        short = self.responses.get(code, ("error", ""))[0]
        self.log_error("code %d, message %s", code, message or short)
        if self.request_version == "HTTP/0.9":  # a garbage line: answer with a status line anyway
            self.request_version = self.protocol_version
        self.close_connection = True
        self._unread_body = True
        text = f"{message or short}: {explain}" if explain else message or short
        self._send_json(code, {"error": text, "field": _ERROR_FIELDS.get(code, "request")})

    def _send_busy(self, full: QueueFull, sagemaker: bool) -> None:
        headers = {"Retry-After": str(full.retry_after_s)}
        if sagemaker:  # the runtime API's own error, as InvokeEndpoint reports it
            headers["x-amzn-ErrorType"] = "ServiceUnavailable:"
            self._send_json(503, {"message": str(full)}, headers)
        else:
            self._send_json(503, {"error": str(full), "field": None}, headers)

    def _send_error(self, error: RequestError, sagemaker: bool) -> None:
        if not sagemaker:
            self._send_json(error.status, error.to_dict())
            return
        original = json.dumps(error.to_dict(), ensure_ascii=False)
        kind = "CLIENT_ERROR_FROM_MODEL" if error.status < 500 else "SERVER_ERROR_FROM_MODEL"
        self._send_json(
            424,
            {
                "ErrorCode": kind,
                "OriginalStatusCode": error.status,
                "OriginalMessage": original,
                "LogStreamArn": "",
                "message": f"Received {'client' if error.status < 500 else 'server'}"
                f' error ({error.status}) from primary with message "{original}".',
            },
            headers={"x-amzn-ErrorType": "ModelError:"},
        )

    # -- routes ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # BaseHTTPRequestHandler names its methods do_<VERB>
        if self.path.split("?", 1)[0] == "/ping":
            self._send_json(
                200, {"status": "ok", "model_version": self.server.model_version, "stage": self.server.stage}
            )
        else:
            self._send_json(404, {"error": f"no such resource {self.path}", "field": "path"})

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._unread_body = True
        self._send_json(
            405,
            {"error": f"method {self.command} is not allowed; use {_ALLOWED}", "field": "method"},
            headers={"Allow": _ALLOWED},
        )

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        sagemaker = SAGEMAKER_PATH.match(path) is not None
        if path != "/invocations" and not sagemaker:
            self.close_connection = True
            self._unread_body = True
            self._send_json(404, {"error": f"no such resource {self.path}", "field": "path"})
            return
        try:
            body = self._read_body()
            if is_jsonlines(self.headers.get("Content-Type")):  # Batch Transform, SplitType Line
                lines = jsonlines_input(body, self.server.pipeline.config.max_text_chars)
                payload, content_type = jsonlines_output(lines, self._predict(lines.request))
            else:
                check_accept(self.headers.get("Accept"))  # before predicting (and logging)
                request = input_fn(
                    body,
                    self.headers.get("Content-Type"),
                    max_chars=self.server.pipeline.config.max_text_chars,
                )
                result = self._predict(request)
                payload, content_type = output_fn(result, self.headers.get("Accept"))
        except RequestError as error:
            self._send_error(error, sagemaker)
            return
        except QueueFull as full:
            self._send_busy(full, sagemaker)
            return
        except WorkCancelled:  # the client is gone: nobody to answer
            self.close_connection = True
            return
        except Exception:  # never drop a connection without an answer
            log.exception("unexpected failure serving %s", path)
            self.close_connection = True
            self._send_error(RequestError(500, "internal server error"), sagemaker)
            return
        headers = (
            {"X-Amzn-SageMaker-Custom-Attributes": f"model_version={self.server.model_version}"}
            if sagemaker
            else None
        )
        self._send(200, payload, content_type, headers)

    # -- work ------------------------------------------------------------------------------
    def _predict(self, request: InferenceRequest) -> PredictionResult:
        """The one prediction path (`mlops.services.prediction`), one text at a time with the
        requests taking turns (QueueFull when the queue is full, WorkCancelled when the client
        went away); a model failure (logged there as an error) is answered 500."""
        try:
            with self.server.scheduler.admit(self._client_gone) as admission:
                try:
                    return predict_logged(
                        request,
                        self.server.pipeline,
                        stage=self.server.stage,
                        prediction_log=self.server.prediction_log,
                        lock=admission.turn,
                    )
                except WorkCancelled:
                    log.info(
                        "request abandoned by its client after %d of %d texts; the rest were not run",
                        admission.units_run,
                        len(request.items),
                    )
                    raise
        except (RequestError, QueueFull, WorkCancelled):
            raise
        except Exception as exc:  # reported and logged; the client gets a 500
            log.exception("inference failed")
            raise RequestError(500, f"inference failed: {type(exc).__name__}", None) from None

    def _client_gone(self) -> bool:
        """Whether the client has closed its side of the connection (or it broke): the request
        is fully read, so a readable socket with nothing to read is the end of the stream
        (pipelined bytes of a next request mean the client is still there)."""
        try:
            poller = select.poll()  # not select.select: no limit on the descriptor's number
            poller.register(self.connection, select.POLLIN)
            events = poller.poll(0)
            if not events:
                return False
            if events[0][1] & (select.POLLERR | select.POLLNVAL):
                return True
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _read_body(self) -> bytes:
        limit = self.server.max_body_bytes
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding:
            if encoding != "chunked":
                self._unread_body = self.close_connection = True
                raise RequestError(
                    501, f"transfer encoding {encoding!r} is not supported", "Transfer-Encoding"
                )
            return self._read_chunked(limit)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            raise RequestError(
                411, "a Content-Length (or chunked transfer encoding) is required", "Content-Length"
            )
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._unread_body = self.close_connection = True
            raise RequestError(
                400, f"Content-Length {length_text!r} is not a byte count", "Content-Length"
            ) from None
        if length > limit:
            self._unread_body = self.close_connection = True
            raise RequestError(413, f"body is {length:,} bytes; the limit is {limit:,}", "body")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise RequestError(400, f"body ended after {len(body)} of {length} bytes", "body")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0:
                    raise ValueError
            except ValueError:
                self._unread_body = self.close_connection = True
                raise RequestError(400, f"malformed chunk size line {line[:40]!r}", "body") from None
            if size == 0:
                break
            if total + size > limit:
                self._unread_body = self.close_connection = True
                raise RequestError(413, f"chunked body passes the limit of {limit:,} bytes", "body")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.read(2) != b"\r\n":
                self._unread_body = self.close_connection = True
                raise RequestError(400, "chunked body ended early or is malformed", "body")
            parts.append(chunk)
            total += size
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    def finish(self) -> None:
        """After an answer that left body bytes unread: half-close and drain briefly, so the
        client reads our answer instead of a connection reset."""
        super().finish()
        if not getattr(self, "_unread_body", False):
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.25)
            deadline = time.monotonic() + _DRAIN_LIMIT_S
            drained = 0
            while drained < _DRAIN_LIMIT_BYTES and time.monotonic() < deadline:
                data = self.connection.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass


def make_server(
    pipeline: Pipeline,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    stage: str = "prod",
    prediction_log: PredictionLog | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    queue_limit: int = DEFAULT_INFERENCE_QUEUE_LIMIT,
) -> InferenceServer:
    """A bound server (port 0: a free port) for a loaded pipeline; call `serve_forever()`."""
    return InferenceServer(
        (host, port),
        pipeline,
        stage=stage,
        prediction_log=prediction_log,
        max_body_bytes=max_body_bytes,
        queue_limit=queue_limit,
    )


def start_in_thread(server: InferenceServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benchmarks); stop with `server.shutdown()`."""
    thread = threading.Thread(target=server.serve_forever, name="inference-server", daemon=True)
    thread.start()
    return thread


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(
    services: Bootstrap,
    stage: str | None = None,
    version: str | None = None,
    host: str = "0.0.0.0",
    port: int = DEFAULT_PORT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_predictions: bool = True,
) -> None:
    """Load the model of a stage (default prod) or a version, then serve until interrupted;
    predictions are logged (queue `server-<port>`) unless `log_predictions` is False."""
    pipeline = services.pipeline(stage=stage, version=version)
    label = stage or ("prod" if version is None else "adhoc")
    prediction_log = services.open_prediction_log(f"server-{port}") if log_predictions else None
    server = make_server(
        pipeline,
        host,
        port,
        stage=label,
        prediction_log=prediction_log,
        max_body_bytes=max_body_bytes,
        queue_limit=services.settings.inference_queue_limit,
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: the log gets flushed
    print(f"serving model {pipeline.model_version} ({label}) on {server.url}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
