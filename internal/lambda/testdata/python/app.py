import os
import time


def handler(event, context):
    op = event.get("op")
    if op == "error":
        raise Exception("Handler fails")
    if op == "sleep":
        time.sleep(event.get("ms", 0) / 1000)
    print("hello from python")
    return {"pid": os.getpid(), "value": event.get("value"), "requestId": context.aws_request_id}
