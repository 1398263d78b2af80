"""Kinesis handler with partial batch responses.

Each record's data is base64 JSON. Orders with "poison": true fail: the
handler reports them in batchItemFailures (key "itemIdentifier", value the
record's sequence number), so Lambda retries from the first failed record
and, once retries are exhausted, sends an invocation record to the
mapping's on-failure destination.
"""
import base64
import json


def handler(event, context):
    failures = []
    for record in event["Records"]:
        seq = record["kinesis"]["sequenceNumber"]
        order = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if order.get("poison"):
            print(f"order {order.get('id')} is poison, reporting {seq}")
            failures.append({"itemIdentifier": seq})
            continue
        print(f"processed order {order.get('id')} of {order.get('amount')}")
    return {"batchItemFailures": failures}
