"""Test function for internal/runtime."""
import os
import sys
import time

count = 0


def handler(event, context):
    global count
    count += 1
    action = event.get("action") if isinstance(event, dict) else None
    if action == "error":
        raise Exception(event["message"])
    if action == "exit":
        sys.exit(event.get("code", 0))
    if action == "sleep":
        time.sleep(event["sleepMs"] / 1000.0)
    if action == "big":
        return "x" * event["size"]
    if action == "log":
        print(event["message"])
    if action == "ping":
        return "pong"
    if action == "len":
        return len(event["message"])
    return {
        "pid": os.getpid(),
        "count": count,
        "requestId": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "functionName": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "logGroup": context.log_group_name,
        "logStream": context.log_stream_name,
        "remainingMs": context.get_remaining_time_in_millis(),
        "clientContext": context.client_context,
        "env": dict(os.environ),
    }
