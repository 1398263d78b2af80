#!/usr/bin/env bash
# The on-failure destination kinds (SQS, SNS, S3) driven with the AWS CLI
# against a penstock this script builds and starts on a free port: each
# message or object is written with the CLI and read back with the CLI, and
# every output is checked. Ends with a real dead letter: a Kinesis mapping
# (Python function, bisect, 1 retry) sends a poison record's on-failure
# record to SQS, and `penstock dlq replay` finds the record in the stream.
# Exits non-zero on the first mismatch. Needs aws, python3, curl.
#
#   scripts/destinations-cli.sh
#   PENSTOCK_URL=http://127.0.0.1:4566 scripts/destinations-cli.sh
set -euo pipefail
source "$(dirname "$0")/lib/penstock.sh"

command -v aws >/dev/null || ps_fail "the AWS CLI is not installed (apt-get install awscli)"
command -v python3 >/dev/null || ps_fail "python3 is needed to read JSON"
ps_start

a() { aws --endpoint-url "$PS_URL" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

id=$$
record='{"requestContext":{"requestId":"9a0b6f0c-4b35-4c8e-8d4a-1d2e3f405162","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:consumer","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-11-21T21:05:09.123Z","KinesisBatchInfo":{"shardId":"shardId-000000000000","startSequenceNumber":"49654444444444444444444444444444444444444444444444444442","endSequenceNumber":"49654444444444444444444444444444444444444444444444444442","approximateArrivalOfFirstRecord":"2026-11-21T21:05:08.000Z","approximateArrivalOfLastRecord":"2026-11-21T21:05:08.000Z","batchSize":1,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/events"}}'

echo "== SQS: create-queue, get-queue-url, list-queues, get-queue-attributes"
q=dlq-$id
url=$(a sqs create-queue --queue-name "$q" --attributes VisibilityTimeout=5 --query QueueUrl --output text)
expect_contains "create-queue url" "$url" "/000000000000/$q"
expect_eq "get-queue-url" "$(a sqs get-queue-url --queue-name "$q" --query QueueUrl --output text)" "$url"
expect_contains "list-queues prefix" "$(a sqs list-queues --queue-name-prefix dlq- --query QueueUrls --output text)" "$url"
expect_eq "QueueArn" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names QueueArn --query Attributes.QueueArn --output text)" \
  "arn:aws:sqs:us-east-1:000000000000:$q"
expect_eq "VisibilityTimeout" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names All --query Attributes.VisibilityTimeout --output text)" 5

echo "== SQS: send-message (a dead letter with an attribute), receive-message, delete-message"
sent=$(a sqs send-message --queue-url "$url" --message-body "$record" \
  --message-attributes '{"source":{"DataType":"String","StringValue":"cli"}}' --output json)
expect_eq "send-message MD5OfMessageBody" "$(json 'd["MD5OfMessageBody"]' <<<"$sent")" "$(md5 "$record")"
msgid=$(json 'd["MessageId"]' <<<"$sent")
got=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 5 --message-attribute-names All \
  --attribute-names All --output json)
expect_eq "receive-message MessageId" "$(json 'd["Messages"][0]["MessageId"]' <<<"$got")" "$msgid"
expect_eq "receive-message Body (the record, byte for byte)" "$(json 'd["Messages"][0]["Body"]' <<<"$got")" "$record"
expect_eq "receive-message MD5OfMessageAttributes" "$(json 'd["Messages"][0]["MD5OfMessageAttributes"]' <<<"$got")" \
  "$(json 'd["MD5OfMessageAttributes"]' <<<"$sent")"
expect_eq "receive-message attribute" "$(json 'd["Messages"][0]["MessageAttributes"]["source"]["StringValue"]' <<<"$got")" cli
expect_eq "ApproximateReceiveCount" "$(json 'd["Messages"][0]["Attributes"]["ApproximateReceiveCount"]' <<<"$got")" 1
expect_eq "in flight" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names ApproximateNumberOfMessagesNotVisible \
  --query Attributes.ApproximateNumberOfMessagesNotVisible --output text)" 1
a sqs delete-message --queue-url "$url" --receipt-handle "$(json 'd["Messages"][0]["ReceiptHandle"]' <<<"$got")"
after=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 1 --output json)
expect_eq "receive after delete" "${after:-nothing}" nothing # the CLI prints nothing for an empty receive
echo "== SQS: send-message-batch, change-message-visibility, set-queue-attributes, purge-queue"
batch=$(a sqs send-message-batch --queue-url "$url" --entries Id=a,MessageBody=one Id=b,MessageBody=two --output json)
expect_eq "send-message-batch successful" "$(json 'len(d["Successful"])' <<<"$batch")" 2
one=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 5 --output json)
a sqs change-message-visibility --queue-url "$url" --receipt-handle "$(json 'd["Messages"][0]["ReceiptHandle"]' <<<"$one")" --visibility-timeout 0
a sqs set-queue-attributes --queue-url "$url" --attributes MessageRetentionPeriod=600
expect_eq "set-queue-attributes" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names MessageRetentionPeriod --query Attributes.MessageRetentionPeriod --output text)" 600
expect_eq "visible after change-message-visibility 0" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names ApproximateNumberOfMessages --query Attributes.ApproximateNumberOfMessages --output text)" 2
a sqs purge-queue --queue-url "$url"
expect_eq "purge-queue" "$(a sqs get-queue-attributes --queue-url "$url" --attribute-names ApproximateNumberOfMessages --query Attributes.ApproximateNumberOfMessages --output text)" 0
err=$(a sqs get-queue-url --queue-name "missing-$id" 2>&1 || true)
expect_contains "get-queue-url of a missing queue" "$err" "NonExistentQueue"

echo "== SNS: create-topic, subscribe the queue, publish, read the envelope"
topic=$(a sns create-topic --name "failures-$id" --query TopicArn --output text)
expect_eq "create-topic arn" "$topic" "arn:aws:sns:us-east-1:000000000000:failures-$id"
sub=$(a sns subscribe --topic-arn "$topic" --protocol sqs --notification-endpoint "arn:aws:sqs:us-east-1:000000000000:$q" \
  --query SubscriptionArn --output text)
expect_contains "subscribe arn" "$sub" "$topic:"
expect_contains "list-subscriptions-by-topic" "$(a sns list-subscriptions-by-topic --topic-arn "$topic" --query 'Subscriptions[].Endpoint' --output text)" "$q"
pubid=$(a sns publish --topic-arn "$topic" --message "$record" --query MessageId --output text)
env=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 5 --output json)
body=$(json 'd["Messages"][0]["Body"]' <<<"$env")
expect_eq "envelope Type" "$(json 'd["Type"]' <<<"$body")" Notification
expect_eq "envelope MessageId" "$(json 'd["MessageId"]' <<<"$body")" "$pubid"
expect_eq "envelope TopicArn" "$(json 'd["TopicArn"]' <<<"$body")" "$topic"
expect_eq "envelope Message (the record)" "$(json 'd["Message"]' <<<"$body")" "$record"
expect_eq "envelope SignatureVersion" "$(json 'd["SignatureVersion"]' <<<"$body")" 1
a sqs delete-message --queue-url "$url" --receipt-handle "$(json 'd["Messages"][0]["ReceiptHandle"]' <<<"$env")"

echo "== SNS: RawMessageDelivery"
a sns set-subscription-attributes --subscription-arn "$sub" --attribute-name RawMessageDelivery --attribute-value true
expect_eq "RawMessageDelivery" "$(a sns get-subscription-attributes --subscription-arn "$sub" --query Attributes.RawMessageDelivery --output text)" true
a sns publish --topic-arn "$topic" --message "$record" >/dev/null
raw=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 5 --output json)
expect_eq "raw delivery body" "$(json 'd["Messages"][0]["Body"]' <<<"$raw")" "$record"
a sqs delete-message --queue-url "$url" --receipt-handle "$(json 'd["Messages"][0]["ReceiptHandle"]' <<<"$raw")"
err=$(a sns publish --topic-arn "arn:aws:sns:us-east-1:000000000000:missing-$id" --message x 2>&1 || true)
expect_contains "publish to a missing topic" "$err" "NotFound"

echo "== S3: create-bucket, put-object (an S3 dead letter), list, get, cp, delete"
bucket=failures-$id
a s3api create-bucket --bucket "$bucket" >/dev/null
expect_contains "list-buckets" "$(a s3api list-buckets --query 'Buckets[].Name' --output text)" "$bucket"
key="aws/lambda/4a2a5b1e-6f0e-4c1e-9a43-2a9f0a1b2c3d/shardId-000000000000/2026/11/21/2026-11-21T21.05.09-$(python3 -c 'import uuid; print(uuid.uuid4())')"
printf '%s' "${record%\}},\"payload\":{\"Records\":[]}}" >"$PS_TMP/object.json"
etag=$(a s3api put-object --bucket "$bucket" --key "$key" --body "$PS_TMP/object.json" --content-type application/json --query ETag --output text)
expect_eq "put-object ETag" "$etag" "\"$(md5sum "$PS_TMP/object.json" | cut -d' ' -f1)\""
expect_eq "list-objects-v2 prefix" "$(a s3api list-objects-v2 --bucket "$bucket" --prefix aws/lambda/ --query 'Contents[].Key' --output text)" "$key"
expect_eq "list-objects-v2 delimiter" "$(a s3api list-objects-v2 --bucket "$bucket" --delimiter / --query 'CommonPrefixes[].Prefix' --output text)" "aws/"
a s3api get-object --bucket "$bucket" --key "$key" "$PS_TMP/got.json" >/dev/null
cmp -s "$PS_TMP/object.json" "$PS_TMP/got.json" || ps_fail "get-object returned other bytes"
echo "ok: get-object bytes"
expect_eq "get-object payload" "$(json 'd["payload"]' <"$PS_TMP/got.json")" "{'Records': []}"
expect_eq "head-object ContentType" "$(a s3api head-object --bucket "$bucket" --key "$key" --query ContentType --output text)" application/json
head -c 300000 /dev/urandom >"$PS_TMP/big.bin"
a s3 cp "$PS_TMP/big.bin" "s3://$bucket/blobs/big.bin" >/dev/null
a s3 cp "s3://$bucket/blobs/big.bin" "$PS_TMP/big.out" >/dev/null
cmp -s "$PS_TMP/big.bin" "$PS_TMP/big.out" || ps_fail "s3 cp round trip changed the bytes"
echo "ok: s3 cp round trip (300 KB)"
head -c 20000000 /dev/urandom >"$PS_TMP/huge.bin"
a s3 cp "$PS_TMP/huge.bin" "s3://$bucket/blobs/huge.bin" >/dev/null
a s3 cp "s3://$bucket/blobs/huge.bin" "$PS_TMP/huge.out" >/dev/null
cmp -s "$PS_TMP/huge.bin" "$PS_TMP/huge.out" || ps_fail "s3 cp multipart round trip changed the bytes"
expect_contains "multipart ETag (20 MB, 3 parts)" "$(a s3api head-object --bucket "$bucket" --key blobs/huge.bin --query ETag --output text)" '-3"'
a s3 cp "s3://$bucket/blobs/big.bin" "s3://$bucket/copies/big.bin" >/dev/null
expect_eq "s3 cp bucket to bucket (CopyObject)" "$(a s3api head-object --bucket "$bucket" --key copies/big.bin --query ContentLength --output text)" 300000
expect_contains "s3 ls" "$(a s3 ls "s3://$bucket/blobs/")" "big.bin"
err=$(a s3api delete-bucket --bucket "$bucket" 2>&1 || true)
expect_contains "delete-bucket of a non-empty bucket" "$err" "BucketNotEmpty"
a s3 rm --recursive "s3://$bucket" >/dev/null
a s3api delete-bucket --bucket "$bucket"
err=$(a s3api get-object --bucket "$bucket" --key "$key" "$PS_TMP/x" 2>&1 || true)
expect_contains "get-object from a deleted bucket" "$err" "NoSuchBucket"
expect_eq "unsigned curl of a missing bucket" "$(curl -s -o /dev/null -w '%{http_code}' "$PS_URL/$bucket/x")" 404

echo "== A real dead letter: Kinesis → mapping (bisect, 1 retry) → SQS, then penstock dlq replay"
stream=events-$id
a kinesis create-stream --stream-name "$stream" --shard-count 1
a kinesis wait stream-exists --stream-name "$stream"
stream_arn=$(a kinesis describe-stream-summary --stream-name "$stream" --query StreamDescriptionSummary.StreamARN --output text)
mkdir -p "$PS_TMP/fn"
cat >"$PS_TMP/fn/app.py" <<'PY'
import base64
def handler(event, context):
    for r in event["Records"]:
        if base64.b64decode(r["kinesis"]["data"]) == b"poison":
            raise Exception("poison record")
    return {}
PY
(cd "$PS_TMP/fn" && python3 -m zipfile -c ../fn.zip app.py)
a lambda create-function --function-name "consumer-$id" --runtime python3.12 --handler app.handler \
  --role arn:aws:iam::000000000000:role/r --zip-file "fileb://$PS_TMP/fn.zip" >/dev/null
a lambda wait function-active-v2 --function-name "consumer-$id" 2>/dev/null || a lambda wait function-active --function-name "consumer-$id"
a lambda create-event-source-mapping --function-name "consumer-$id" --event-source-arn "$stream_arn" \
  --starting-position TRIM_HORIZON --batch-size 10 --bisect-batch-on-function-error --maximum-retry-attempts 1 \
  --destination-config "{\"OnFailure\":{\"Destination\":\"arn:aws:sqs:us-east-1:000000000000:$q\"}}" >/dev/null
entries=()
for i in $(seq 1 20); do
  d="record-$i"; [ "$i" = 13 ] && d=poison
  entries+=("Data=$d,PartitionKey=pk-$i")
done
blob=(); case "$(aws --version 2>&1)" in aws-cli/2*) blob=(--cli-binary-format raw-in-base64-out) ;; esac
a kinesis put-records --stream-name "$stream" "${blob[@]}" --records "${entries[@]}" >/dev/null
letter=""
for _ in $(seq 1 30); do
  letter=$(a sqs receive-message --queue-url "$url" --wait-time-seconds 2 --visibility-timeout 0 --output json)
  [ -n "$letter" ] && break
done
[ -n "$letter" ] || ps_fail "no dead letter within 60 s"
dl=$(json 'd["Messages"][0]["Body"]' <<<"$letter")
expect_eq "dead letter condition" "$(json 'd["requestContext"]["condition"]' <<<"$dl")" RetryAttemptsExhausted
expect_eq "dead letter batchSize (bisected to the poison record)" "$(json 'd["KinesisBatchInfo"]["batchSize"]' <<<"$dl")" 1
expect_eq "dead letter stream" "$(json 'd["KinesisBatchInfo"]["streamArn"]' <<<"$dl")" "$stream_arn"
[ -n "${PS_BIN:-}" ] || ps_build # PENSTOCK_URL mode starts nothing, but the tool is needed
replayed=$("$PS_BIN" dlq replay --endpoint "$PS_URL" --queue "$q" --wait 1 2>/dev/null)
expect_eq "dlq replay (dry run) finds the poison record in the stream" "$(json 'd["data"]' <<<"$replayed")" "$(printf poison | base64)"
expect_eq "dlq replay partition key" "$(json 'd["partitionKey"]' <<<"$replayed")" pk-13

a sns delete-topic --topic-arn "$topic"
a sqs delete-queue --queue-url "$url"
echo "== destinations CLI session passed"
