"""penstock Python runtime shim: the Lambda Runtime API loop (2018-06-01).

Started as `python3 -u bootstrap.py` with the function's environment; loads
_HANDLER ("module.function", "dir/module.function") from LAMBDA_TASK_ROOT and
serves invocations one at a time, like AWS's Python runtime interface client.
"""

import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

BASE = "/2018-06-01/runtime"
SHIM = os.path.abspath(__file__)


class Client:
    """A minimal keep-alive HTTP/1.1 client for the Runtime API.

    http.client would do, but it costs ~20 ms of imports at every cold
    start and tens of microseconds per request in header parsing.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.sock = None
        self.buf = bytearray()

    def _connect(self):
        s = socket.create_connection((self.host, self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.buf = bytearray()

    def _close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("runtime API closed the connection")
        self.buf += chunk

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _read_response(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self._fill()
        head = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
        del self.buf[: i + 4]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_line().split(b";")[0], 16)
                if size == 0:
                    while self._read_line():  # trailers
                        pass
                    break
                parts.append(self._read_exact(size))
                self._read_exact(2)
            body = b"".join(parts)
        else:
            body = b""
        return status, headers, body

    def call(self, method, path, body=None, headers=None):
        head = "%s %s%s HTTP/1.1\r\nHost: %s\r\n" % (method, BASE, path, self.host)
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        if body is not None:
            head += "Content-Length: %d\r\n" % len(body)
        data = (head + "\r\n").encode("latin-1")
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                if body is not None and len(body) > 65536:
                    self.sock.sendall(data)
                    self.sock.sendall(body)
                else:
                    self.sock.sendall(data + body if body is not None else data)
                return self._read_response()
            except OSError:
                self._close()
                if attempt == 1:
                    raise

    def post(self, path, payload, headers=None):
        body = payload if isinstance(payload, bytes) else payload.encode("utf-8")
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.call("POST", path, body, h)


class FaultException(Exception):
    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace or []


def user_frames(tb):
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != SHIM]
    return traceback.format_list(frames)


def error_result(exc_info, request_id):
    etype, value, tb = exc_info
    if isinstance(value, FaultException):
        return {"errorMessage": value.msg, "errorType": value.exception_type, "requestId": request_id, "stackTrace": value.trace}
    return {
        "errorMessage": str(value),
        "errorType": etype.__name__,
        "requestId": request_id,
        "stackTrace": user_frames(tb),
    }


def log_error(result):
    lines = ["[ERROR] %s: %s" % (result["errorType"], result["errorMessage"])]
    if result.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in result["stackTrace"])
    sys.stdout.write("\r".join(lines) + "\n")


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException("Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(m, fname)
    except AttributeError:
        fault = FaultException("Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(fname, modname))

        def fault_handler(event, context):
            raise fault

        return fault_handler


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(round(time.time() * 1000)), 0)

    def __repr__(self):
        return "LambdaContext([aws_request_id={},function_name={},function_version={}])".format(
            self.aws_request_id, self.function_name, self.function_version)


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = RequestIdFilter.request_id
        return True


def setup_logging():
    h = logging.StreamHandler(sys.stdout)
    fmt = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    h.setFormatter(fmt)
    h.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [h]
    root.setLevel(logging.WARNING)


def parse_json_header(headers, name):
    v = headers.get(name)
    if not v:
        return None
    try:
        return json.loads(v)
    except ValueError:
        return None


def main():
    setup_logging()
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception:
        result = error_result(sys.exc_info(), "")
        log_error(result)
        client.post("/init/error", json.dumps(result), {"Lambda-Runtime-Function-Error-Type": result["errorType"]})
        sys.exit(1)

    while True:
        status, h, body = client.call("GET", "/invocation/next")
        if status != 200:
            sys.stderr.write("runtime API /next returned %d\n" % status)
            sys.exit(1)
        request_id = h.get("lambda-runtime-aws-request-id", "")
        RequestIdFilter.request_id = request_id
        trace = h.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        ctx = LambdaContext(
            request_id,
            int(h.get("lambda-runtime-deadline-ms", "0") or 0),
            h.get("lambda-runtime-invoked-function-arn"),
            parse_json_header(h, "lambda-runtime-client-context"),
            parse_json_header(h, "lambda-runtime-cognito-identity"),
        )
        try:
            try:
                event = json.loads(body) if body else None
            except ValueError as e:
                raise FaultException("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(str(e)))
            result = handler(event, ctx)
            try:
                out = json.dumps(result)
            except (TypeError, ValueError) as e:
                raise FaultException("Runtime.MarshalError", "Unable to marshal response: {}".format(str(e)))
        except Exception:
            err = error_result(sys.exc_info(), request_id)
            log_error(err)
            client.post("/invocation/%s/error" % request_id, json.dumps(err),
                        {"Lambda-Runtime-Function-Error-Type": err["errorType"]})
            continue
        client.post("/invocation/%s/response" % request_id, out)


if __name__ == "__main__":
    main()
