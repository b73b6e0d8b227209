#!/usr/bin/env bash
# oidc_e2e.sh BUILD_DIR: the workflow server with OIDC authentication, end to end, three processes:
# a local OIDC issuer (m4h-test-issuer: discovery document, JWKS, signed tokens for alice, bob and
# carol, an admin), the workflow server (--auth oidc) and a separate inference server
# (`mlaas4hep serve`) that it publishes to.
#   1. no token, a tampered token: 401 before anything else;
#   2. alice uploads inputs, submits, follows the log to completion, downloads the bundle, and gets
#      predictions from the inference server with the model published under her job's name;
#   3. bob cannot see, follow, download, cancel or reuse any of it (403), nor list it;
#   4. carol, an admin, sees alice's jobs; bob cannot cancel alice's running job, alice can.
# Bounded: every wait has a deadline; exit 0 passed, 1 failed.
set -u
build=$(cd "${1:?usage: oidc_e2e.sh BUILD_DIR}" && pwd)
cli=${M4H_CLI:-$build/mlaas4hep}
issuer_bin=${M4H_TEST_ISSUER:-$build/tests/m4h-test-issuer}
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"
e2e_work oidc-e2e

# ---- the three servers
"$issuer_bin" --tokens "$work/tokens" --user alice:mlaas4hep-user --user bob:mlaas4hep-user \
  --user carol:mlaas4hep-user,mlaas4hep-admin >"$work/issuer.log" 2>&1 &
pids+=($!)
issuer=$(wait_for_line "$work/issuer.log" 's|^m4h-test-issuer: \(http://.*\)|\1|p' "${pids[-1]}") || { echo "issuer did not start"; exit 1; }
"$cli" serve --port 0 --models "$work/models" >"$work/serve.log" 2>&1 &
pids+=($!)
serve=$(wait_for_line "$work/serve.log" 's|^mlaas4hep serve: listening on \(http://[^ ]*\) .*|\1|p' "${pids[-1]}") ||
  { echo "inference server did not start:"; cat "$work/serve.log"; exit 1; }
"$cli" server --port 0 --cpus 1 --state "$work/state" --auth oidc --issuer "$issuer" --audience mlaas4hep \
  --user-role mlaas4hep-user --publish "$serve" >"$work/server.log" 2>&1 &
pids+=($!)
base=$(wait_for_line "$work/server.log" 's|^mlaas4hep server: listening on \(http://[^ ]*\) .*|\1|p' "${pids[-1]}") ||
  { echo "workflow server did not start:"; cat "$work/server.log"; exit 1; }
echo "issuer $issuer, workflow server $base, inference server $serve"
alice=(-H "Authorization: Bearer $(cat "$work/tokens/alice.token")")
bob=(-H "Authorization: Bearer $(cat "$work/tokens/bob.token")")
carol=(-H "Authorization: Bearer $(cat "$work/tokens/carol.token")")
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- 1. no token, tampered token
[ "$(code "$base/api/v1/jobs")" = 401 ] || fail "no token: not 401"
t=$(cat "$work/tokens/alice.token")
tampered="${t%.*}.$(echo "${t##*.}" | tr 'A-Za-z' 'B-ZAb-za')"
[ "$(code -H "Authorization: Bearer $tampered" "$base/api/v1/jobs")" = 401 ] || fail "tampered token: not 401"
[ "$(curl -s "${alice[@]}" "$base/api/v1/whoami" | json 'd["subject"]')" = alice ] || fail "whoami is not alice"

# ---- 2. alice: upload, submit, follow, download, predict
in=$work/in/tth
make_inputs "$in" || exit 1
up=$(curl -s "${alice[@]}" -X POST -H 'Content-Type: application/gzip' --data-binary "@$in.tar.gz" "$base/api/v1/uploads?name=tth")
[ "$(echo "$up" | json 'd["owner"]')" = alice ] || fail "upload: $up"
id=$(curl -s "${alice[@]}" -X POST -d '{"upload": "tth", "name": "alice-tth"}' "$base/api/v1/jobs" | json 'd["id"]')
[[ $id =~ ^[0-9]+$ ]] || { fail "submit: $id"; exit 1; }
follow_log "$base" "$id" "${alice[@]}"
echo "--- alice's job $id log (followed) ---"; echo "$followed" | tail -n 3
[ "$final_state" = succeeded ] || fail "alice's job $id ended '$final_state': $(curl -s "${alice[@]}" "$base/api/v1/jobs/$id")"
published=$(curl -s "${alice[@]}" "$base/api/v1/jobs/$id" | json 'd["published"]')
[ "$published" = alice-tth/1 ] || fail "published as '$published', not alice-tth/1"
[ "$(curl -s "${alice[@]}" -o "$work/bundle.tar.gz" -w '%{http_code}' "$base/api/v1/jobs/$id/artifacts/bundle.tar.gz")" = 200 ] ||
  fail "bundle download"
tar -tzf "$work/bundle.tar.gz" | grep -q 'bundle.json' || fail "the downloaded bundle has no bundle.json"
scores=$("$cli" client --url "$serve" predict alice-tth "$in/data/sig.root:Events" --entries 5 2>&1)
[ "$(echo "$scores" | grep -cE '^[0-9]+	[0-9.e+-]+$')" = 5 ] || fail "predict through the inference server: $scores"
echo "alice's scores from the inference server: $(echo "$scores" | tr '\n' ' ')"

# ---- 3. bob sees none of it
for path in "jobs/$id" "jobs/$id/log" "jobs/$id/artifacts" "jobs/$id/artifacts/bundle.tar.gz" "uploads/tth"; do
  c=$(code "${bob[@]}" "$base/api/v1/$path")
  [ "$c" = 403 ] || fail "bob GET /api/v1/$path: $c, not 403"
done
[ "$(code "${bob[@]}" -X POST "$base/api/v1/jobs/$id/cancel")" = 403 ] || fail "bob could cancel alice's job"
[ "$(code "${bob[@]}" -X DELETE "$base/api/v1/jobs/$id")" = 403 ] || fail "bob could delete alice's job"
[ "$(code "${bob[@]}" -X POST -d '{"upload": "tth"}' "$base/api/v1/jobs")" = 403 ] || fail "bob could run alice's upload"
[ "$(curl -s "${bob[@]}" "$base/api/v1/jobs" | json 'len(d["jobs"])')" = 0 ] || fail "bob's job list shows alice's job"
[ "$(code "${bob[@]}" "$base/api/v1/jobs?owner=alice")" = 403 ] || fail "bob could list alice's jobs"

# ---- 4. carol (admin) sees it; bob cannot cancel alice's running job, alice can
[ "$(curl -s "${carol[@]}" "$base/api/v1/jobs/$id" | json 'd["owner"]')" = alice ] || fail "the admin cannot see alice's job"
long=$(sed 's/"epochs": 1/"epochs": 400, "patience": 0/' "$in/params.json")
id2=$(curl -s "${alice[@]}" -X POST -d "{\"upload\": \"tth\", \"name\": \"alice-long\", \"params\": $long}" "$base/api/v1/jobs" | json 'd["id"]')
[ "$(code "${bob[@]}" -X POST "$base/api/v1/jobs/$id2/cancel")" = 403 ] || fail "bob could cancel alice's running job"
[ "$(code "${alice[@]}" -X POST "$base/api/v1/jobs/$id2/cancel")" = 200 ] || fail "alice could not cancel her job"
follow_log "$base" "$id2" "${alice[@]}"
[ "$final_state" = cancelled ] || fail "alice's cancelled job ended '$final_state'"
[ "$(curl -s "${carol[@]}" "$base/api/v1/jobs" | json 'len(d["jobs"])')" = 2 ] || fail "the admin does not list both jobs"

echo "oidc_e2e: $fails failure(s)"
((fails == 0))
