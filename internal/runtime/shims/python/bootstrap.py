"""penstock Python runtime shim: the Lambda Runtime API loop (2018-06-01).

Started as `python3 -u bootstrap.py` with the function's environment; loads
_HANDLER ("module.function", "dir/module.function") from LAMBDA_TASK_ROOT and
serves invocations one at a time, like AWS's Python runtime interface client.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

BASE = "/2018-06-01/runtime"
SHIM = os.path.abspath(__file__)


class Client:
    """A keep-alive HTTP/1.1 client for the Runtime API."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, BASE + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
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
        resp, body = client.call("GET", "/invocation/next")
        if resp.status != 200:
            sys.stderr.write("runtime API /next returned %d\n" % resp.status)
            sys.exit(1)
        h = resp.headers
        request_id = h.get("Lambda-Runtime-Aws-Request-Id", "")
        RequestIdFilter.request_id = request_id
        trace = h.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        ctx = LambdaContext(
            request_id,
            int(h.get("Lambda-Runtime-Deadline-Ms", "0") or 0),
            h.get("Lambda-Runtime-Invoked-Function-Arn"),
            parse_json_header(h, "Lambda-Runtime-Client-Context"),
            parse_json_header(h, "Lambda-Runtime-Cognito-Identity"),
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
