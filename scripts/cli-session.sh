#!/usr/bin/env bash
# The AWS CLI session from the README, run against a penstock this script
# builds and starts on a free port, with every output checked. Exits non-zero
# on the first mismatch (and prints the end of the server log).
#
#   scripts/cli-session.sh
#   PENSTOCK_URL=http://127.0.0.1:4567 scripts/cli-session.sh   # any running endpoint
set -euo pipefail
source "$(dirname "$0")/lib/penstock.sh"

command -v aws >/dev/null || ps_fail "the AWS CLI is not installed (apt-get install awscli)"
ps_start

# AWS CLI v2 reads blob arguments as base64 unless told otherwise; v1 takes
# them raw.
blob=()
case "$(aws --version 2>&1)" in aws-cli/2*) blob=(--cli-binary-format raw-in-base64-out) ;; esac
k() { aws --endpoint-url "$PS_URL" kinesis "$@"; }

stream=cli-demo-$$

echo "== create-stream, wait until ACTIVE"
k create-stream --stream-name "$stream" --shard-count 2
k wait stream-exists --stream-name "$stream"
expect_eq "describe-stream-summary status" \
  "$(k describe-stream-summary --stream-name "$stream" --query StreamDescriptionSummary.StreamStatus --output text)" ACTIVE
expect_eq "describe-stream-summary open shards" \
  "$(k describe-stream-summary --stream-name "$stream" --query StreamDescriptionSummary.OpenShardCount --output text)" 2
expect_contains "list-streams" "$(k list-streams --query StreamNames --output text)" "$stream"

echo "== put-record"
read -r shard seq < <(k put-record --stream-name "$stream" --partition-key user-1 --data "hello penstock" "${blob[@]}" \
  --query '[ShardId,SequenceNumber]' --output text)
expect_contains "put-record shard id" "$shard" "shardId-"
[[ "$seq" =~ ^[0-9]+$ ]] || ps_fail "put-record sequence number [$seq] is not decimal"
echo "ok: put-record → $shard $seq"

echo "== put-records"
out=$(k put-records --stream-name "$stream" "${blob[@]}" --records \
  Data=one,PartitionKey=user-1 Data=two,PartitionKey=user-1 Data=three,PartitionKey=user-1 \
  --query '[FailedRecordCount, length(Records), Records[0].ShardId, Records[2].ShardId]' --output text)
read -r failed count s0 s2 <<<"$out"
expect_eq "put-records FailedRecordCount" "$failed" 0
expect_eq "put-records records" "$count" 3
expect_eq "put-records shard of one partition key" "$s0 $s2" "$shard $shard"

echo "== list-shards"
expect_eq "list-shards count" "$(k list-shards --stream-name "$stream" --query 'length(Shards)' --output text)" 2
expect_eq "list-shards ids" "$(k list-shards --stream-name "$stream" --query 'Shards[].ShardId' --output text)" \
  "$(printf 'shardId-000000000000\tshardId-000000000001')"

echo "== get-shard-iterator TRIM_HORIZON, get-records, decode"
it=$(k get-shard-iterator --stream-name "$stream" --shard-id "$shard" --shard-iterator-type TRIM_HORIZON \
  --query ShardIterator --output text)
[ -n "$it" ] && [ "$it" != None ] || ps_fail "get-shard-iterator returned no iterator"
records=$(k get-records --shard-iterator "$it" --query 'Records[].[SequenceNumber,PartitionKey,Data]' --output text)
decoded=$(while read -r _ _ data; do printf '%s\n' "$data" | base64 -d; echo; done <<<"$records")
expect_eq "get-records data, decoded" "$decoded" "$(printf 'hello penstock\none\ntwo\nthree')"
expect_eq "get-records first sequence number" "$(head -n1 <<<"$records" | cut -f1)" "$seq"
expect_eq "get-records partition keys" "$(cut -f2 <<<"$records" | sort -u)" user-1

echo "== get-shard-iterator AFTER_SEQUENCE_NUMBER"
it=$(k get-shard-iterator --stream-name "$stream" --shard-id "$shard" --shard-iterator-type AFTER_SEQUENCE_NUMBER \
  --starting-sequence-number "$seq" --query ShardIterator --output text)
first=$(k get-records --shard-iterator "$it" --limit 1 --query 'Records[0].Data' --output text | base64 -d)
expect_eq "first record after put-record's" "$first" one

echo "== an error: a stream that does not exist"
set +e
err=$(k describe-stream-summary --stream-name no-such-stream-$$ 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || ps_fail "describe-stream-summary of a missing stream succeeded"
expect_contains "missing stream error" "$err" ResourceNotFoundException

echo "== delete-stream"
k delete-stream --stream-name "$stream"
k wait stream-not-exists --stream-name "$stream"
case "$(k list-streams --query StreamNames --output text)" in
  *"$stream"*) ps_fail "list-streams still lists $stream after delete" ;;
esac
echo "ok: $stream deleted"
echo "cli-session: all checks passed"
