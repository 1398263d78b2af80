#!/usr/bin/env bash
# The quickstart pipeline against a running penstock (PENSTOCK_ENDPOINT,
# default http://127.0.0.1:4566): a stream, the seed document's Node.js
# decode-and-log function, a Python function reporting batchItemFailures,
# two event source mappings (batch size, window, parallelization, bisect,
# retries, an on-failure SQS queue), some orders with one poison record,
# and the dead letter that poison record ends as.
# Needs the AWS CLI (v1 or v2), zip and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ENDPOINT="${PENSTOCK_ENDPOINT:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_PAGER=""
ACCOUNT=000000000000
ROLE="arn:aws:iam::$ACCOUNT:role/lambda-role"
STREAM=orders
QUEUE=orders-dlq
aws_() { aws --endpoint-url "$ENDPOINT" "$@"; }
BINARY_FORMAT=()
case "$(aws --version 2>&1)" in aws-cli/2*) BINARY_FORMAT=(--cli-binary-format raw-in-base64-out) ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== stream $STREAM (2 shards)"
aws_ kinesis create-stream --stream-name "$STREAM" --shard-count 2 2>/dev/null || true
aws_ kinesis wait stream-exists --stream-name "$STREAM"
STREAM_ARN=$(aws_ kinesis describe-stream-summary --stream-name "$STREAM" \
  --query StreamDescriptionSummary.StreamARN --output text)

echo "== functions"
deploy() { # name runtime handler dir
  (cd "$here/$4" && zip -qr "$work/$1.zip" .)
  if aws_ lambda get-function --function-name "$1" >/dev/null 2>&1; then
    aws_ lambda update-function-code --function-name "$1" --zip-file "fileb://$work/$1.zip" >/dev/null
  else
    aws_ lambda create-function --function-name "$1" --runtime "$2" --handler "$3" \
      --role "$ROLE" --timeout 30 --zip-file "fileb://$work/$1.zip" >/dev/null
  fi
  aws_ lambda wait function-active-v2 --function-name "$1" 2>/dev/null || aws_ lambda wait function-active --function-name "$1"
  echo "   $1 ($2)"
}
deploy decoder nodejs20.x index.handler decoder
deploy reporter python3.12 app.handler reporter

echo "== on-failure queue $QUEUE"
QUEUE_URL=$(aws_ sqs create-queue --queue-name "$QUEUE" --query QueueUrl --output text)
QUEUE_ARN=$(aws_ sqs get-queue-attributes --queue-url "$QUEUE_URL" --attribute-names QueueArn \
  --query Attributes.QueueArn --output text)

echo "== mappings"
mapping() { # function, then extra create-event-source-mapping arguments
  local fn=$1; shift
  local id
  id=$(aws_ lambda list-event-source-mappings --function-name "$fn" --event-source-arn "$STREAM_ARN" \
    --query 'EventSourceMappings[0].UUID' --output text)
  if [ "$id" = "None" ] || [ -z "$id" ]; then
    id=$(aws_ lambda create-event-source-mapping --function-name "$fn" --event-source-arn "$STREAM_ARN" \
      --starting-position TRIM_HORIZON "$@" --query UUID --output text)
  fi
  for _ in $(seq 1 100); do
    [ "$(aws_ lambda get-event-source-mapping --uuid "$id" --query State --output text)" = Enabled ] && break
    sleep 0.1
  done
  echo "$id"
}
DECODER_ESM=$(mapping decoder --batch-size 100 --maximum-batching-window-in-seconds 1 --parallelization-factor 2)
REPORTER_ESM=$(mapping reporter --batch-size 10 --maximum-batching-window-in-seconds 1 \
  --parallelization-factor 2 --bisect-batch-on-function-error --maximum-retry-attempts 2 \
  --function-response-types ReportBatchItemFailures \
  --destination-config "{\"OnFailure\":{\"Destination\":\"$QUEUE_ARN\"}}")
echo "   decoder  $DECODER_ESM"
echo "   reporter $REPORTER_ESM"
aws_ lambda get-event-source-mapping --uuid "$REPORTER_ESM" \
  --query '{State:State,BatchSize:BatchSize,Window:MaximumBatchingWindowInSeconds,PF:ParallelizationFactor,Retries:MaximumRetryAttempts,Bisect:BisectBatchOnFunctionError,Types:FunctionResponseTypes,OnFailure:DestinationConfig.OnFailure.Destination}'

echo "== 20 orders, order 7 is poison"
for i in $(seq 1 20); do
  poison=false; [ "$i" = 7 ] && poison=true
  aws_ kinesis put-record --stream-name "$STREAM" --partition-key "customer-$((i % 4))" \
    "${BINARY_FORMAT[@]}" --data "{\"id\":$i,\"amount\":$((i * 10)),\"poison\":$poison}" >/dev/null
done

echo "== waiting for the dead letter"
for _ in $(seq 1 300); do
  body=$(aws_ sqs receive-message --queue-url "$QUEUE_URL" --wait-time-seconds 1 \
    --query 'Messages[0].Body' --output text)
  if [ "$body" != "None" ] && [ -n "$body" ]; then
    printf '%s\n' "$body" | python3 -m json.tool
    break
  fi
done
aws_ lambda get-event-source-mapping --uuid "$REPORTER_ESM" --query LastProcessingResult --output text
