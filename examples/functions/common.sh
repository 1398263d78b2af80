# Sourced by each run.sh: endpoint, AWS CLI defaults, helpers.
set -euo pipefail
ENDPOINT="${PENSTOCK_ENDPOINT:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_PAGER=""
ROLE="arn:aws:iam::000000000000:role/lambda-role"

awsl() { aws --endpoint-url "$ENDPOINT" lambda "$@"; }

# AWS CLI v2 base64-decodes blob arguments unless told otherwise; v1 passes
# them raw.
BINARY_FORMAT=()
case "$(aws --version 2>&1)" in aws-cli/2*) BINARY_FORMAT=(--cli-binary-format raw-in-base64-out) ;; esac

# deploy NAME RUNTIME HANDLER ZIP: create the function (or update its code)
# and wait until it is Active.
deploy() {
  local name=$1 runtime=$2 handler=$3 zip=$4
  if awsl get-function --function-name "$name" >/dev/null 2>&1; then
    awsl update-function-code --function-name "$name" --zip-file "fileb://$zip" >/dev/null
    awsl wait function-updated-v2 --function-name "$name"
  else
    awsl create-function --function-name "$name" --runtime "$runtime" --handler "$handler" \
      --role "$ROLE" --zip-file "fileb://$zip" >/dev/null
    awsl wait function-active-v2 --function-name "$name"
  fi
}

# invoke NAME PAYLOAD: print the function's response.
invoke() {
  local name=$1 payload=$2 out
  out=$(mktemp)
  awsl invoke --function-name "$name" "${BINARY_FORMAT[@]}" \
    --payload "$payload" "$out" >/dev/null
  cat "$out"
  echo
  rm -f "$out"
}
