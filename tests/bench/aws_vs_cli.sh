#!/usr/bin/env bash
# Times `cloudgrant init --yes` (three stacks, VPC and S3 in parallel, AUTH after) against three
# sequential `aws cloudformation deploy` calls on the same templates, against one moto_server on
# loopback, several runs each, and prints the median ratio (goal: <= 0.5).
# Usage: bash tests/bench/aws_vs_cli.sh [runs]   (needs .venv from tests/run.sh, and `aws`)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
venv=.venv
[ -x "$venv/bin/moto_server" ] || { echo "run tests/run.sh first (it installs moto into $venv)"; exit 1; }
command -v aws >/dev/null || { echo "the AWS CLI (aws) is needed for the comparison"; exit 1; }
cargo build --release --quiet
bin=target/release/cloudgrant

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
sleep 2
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true
export CLOUDGRANT_POLL_MS=${CLOUDGRANT_POLL_MS:-1500}

now() { python3 -c 'import time; print(time.time())'; }
ours=(); theirs=()
for i in $(seq 1 "$runs"); do
  org="bench$i"
  t0=$(now); "$bin" init --cloud aws --org "$org" --yes >/dev/null; t1=$(now)
  ours+=("$(python3 -c "print($t1-$t0)")")
  # The same three stacks with the AWS CLI, one after another (AUTH needs the others' outputs).
  org="cli$i"
  t0=$(now)
  aws cloudformation deploy --stack-name "acmeml-$org-vpc" --template-file assets/aws/vpc.yaml \
    --parameter-overrides VendorId=acmeml Org="$org" --no-fail-on-empty-changeset >/dev/null
  aws cloudformation deploy --stack-name "acmeml-$org-s3" --template-file assets/aws/s3.yaml \
    --parameter-overrides VendorId=acmeml Org="$org" --no-fail-on-empty-changeset >/dev/null
  vpc=$(aws cloudformation describe-stacks --stack-name "acmeml-$org-vpc" --query "Stacks[0].Outputs[?OutputKey=='VpcId'].OutputValue" --output text)
  bucket=$(aws cloudformation describe-stacks --stack-name "acmeml-$org-s3" --query "Stacks[0].Outputs[?OutputKey=='BucketName'].OutputValue" --output text)
  aws cloudformation deploy --stack-name "acmeml-$org-auth" --template-file assets/aws/auth.yaml --capabilities CAPABILITY_NAMED_IAM \
    --parameter-overrides VendorId=acmeml Org="$org" VendorAccountId=111122223333 ExternalId=benchbenchbenchbenchbenchbenchbench \
    AllowedInstanceTypes=m6i.large VpcId="$vpc" DataBucketName="$bucket" --no-fail-on-empty-changeset >/dev/null
  t1=$(now)
  theirs+=("$(python3 -c "print($t1-$t0)")")
  echo "run $i: cloudgrant ${ours[-1]}s, aws cli ${theirs[-1]}s"
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"median cloudgrant {ma:.2f}s, median aws cli {mb:.2f}s, ratio {ma/mb:.2f} (goal <= 0.5)")
PY
