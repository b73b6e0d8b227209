#!/usr/bin/env bash
# dashboard_test.sh BUILD_DIR: the web dashboard in a real browser. A local OIDC issuer, the
# workflow server (--auth oidc, embedded inference server) with one job of alice's trained to the
# end; then headless Chromium (driven by tests/service/dashboard_webdriver.mjs over WebDriver) logs
# in with alice's token and checks the job list, the job page with its log and ROC chart, and the
# models page. Screenshots: BUILD_DIR/test-artifacts/dashboard/. Exit 77 (skipped, loudly) without
# node, chromium or chromedriver.
set -u
build=$(cd "${1:?usage: dashboard_test.sh BUILD_DIR}" && pwd)
cli=${M4H_CLI:-$build/mlaas4hep}
issuer_bin=${M4H_TEST_ISSUER:-$build/tests/m4h-test-issuer}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in node /usr/bin/chromium /usr/bin/chromedriver; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "*** SKIPPED: $tool is missing (scripts/install-deps.sh installs nodejs, chromium and chromium-driver) ***"; exit 77; }
done
source "$here/e2e_lib.sh"
e2e_work dashboard

"$issuer_bin" --tokens "$work/tokens" --user alice:mlaas4hep-user >"$work/issuer.log" 2>&1 &
pids+=($!)
issuer=$(wait_for_line "$work/issuer.log" 's|^m4h-test-issuer: \(http://.*\)|\1|p' "${pids[-1]}") || { echo "issuer did not start"; exit 1; }
"$cli" server --port 0 --serve-port 0 --cpus 1 --state "$work/state" --auth oidc --issuer "$issuer" \
  --audience mlaas4hep >"$work/server.log" 2>&1 &
pids+=($!)
base=$(wait_for_line "$work/server.log" 's|^mlaas4hep server: listening on \(http://[^ ]*\) .*|\1|p' "${pids[-1]}") ||
  { echo "workflow server did not start:"; cat "$work/server.log"; exit 1; }
grep -q "dashboard on" "$work/server.log" || { echo "the server serves no dashboard:"; cat "$work/server.log"; exit 1; }
alice=(-H "Authorization: Bearer $(cat "$work/tokens/alice.token")")

in=$work/in/tth
make_inputs "$in" || exit 1
curl -s "${alice[@]}" -X POST -H 'Content-Type: application/gzip' --data-binary "@$in.tar.gz" "$base/api/v1/uploads?name=tth" >/dev/null
id=$(curl -s "${alice[@]}" -X POST -d '{"upload": "tth", "name": "tth-dashboard", "params": {"epochs": 4, "patience": 0, "chunk_size": 2000, "batch_size": 100}}' \
  "$base/api/v1/jobs" | json 'd["id"]')
[[ $id =~ ^[0-9]+$ ]] || { echo "submit failed: $id"; exit 1; }
follow_log "$base" "$id" "${alice[@]}"
[ "$final_state" = succeeded ] || { echo "job $id ended '$final_state'"; echo "$followed" | tail; exit 1; }
echo "job $id succeeded; the browser takes over"

node "$here/dashboard_webdriver.mjs" "$base" "$work/tokens/alice.token" "$id" tth-dashboard "$build/test-artifacts/dashboard"
