#!/usr/bin/env bash
# run_oracle.sh [OUTDIR]: dumps every tree of every shared test file with mlaas4hep and with the
# jsroot oracle (tools/oracle), and compares the values branch by branch (tests/oracle/compare.mjs).
# Exit status 1 if any value differs. Needs node, tools/oracle/node_modules and a built CLI.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
data=${MLAAS4HEP_TESTDATA:-$here/../shared/testdata/root}
cli=${M4H_CLI:-$here/build/mlaas4hep}
out=${1:-$(mktemp -d)}
mkdir -p "$out/ours" "$out/oracle"
if [ ! -d "$data" ]; then
  echo "*** SKIPPED: shared ROOT test data not found at $data (set MLAAS4HEP_TESTDATA) ***"
  exit 0
fi
export MLAAS4HEP_TESTDATA="$data"
if [ ! -d "$here/tools/oracle/node_modules/jsroot" ]; then
  echo "FAIL: the jsroot oracle is not installed (run scripts/install-deps.sh, or: cd tools/oracle && npm ci)"
  exit 1
fi
shopt -s nullglob
# M4H_ORACLE_CACHED=1 reuses oracle dumps already in OUTDIR (they only change with the data).
if [ -z "${M4H_ORACLE_CACHED:-}" ] || [ -z "$(ls "$out/oracle" 2>/dev/null)" ]; then
  bash "$here/tools/oracle/dump_all.sh" "$out/oracle" > "$out/oracle.log" 2>&1
fi
fail=0; trees=0; matched=0; mism=0; oracle_missing=0; ours_missing=0
for o in "$out"/oracle/*.json; do
  name=$(basename "$o" .json)
  file=${name%%.root__*}.root
  tree=${name#*.root__}
  tree=${tree//__//}
  ours="$out/ours/$name.json"
  if ! timeout 120 "$cli" dump "$data/$file:$tree" > "$ours" 2> "$out/ours/$name.err"; then
    echo "FAIL $file:$tree: mlaas4hep exited non-zero: $(tail -1 "$out/ours/$name.err")"
    fail=1; continue
  fi
  trees=$((trees + 1))
  res=$(node "$here/tests/oracle/compare.mjs" "$ours" "$o")
  rc=$?
  m=$(echo "$res" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.matched,r.mismatched.length,r.oracle_missing.length,r.ours_missing.length)})')
  read a b c d <<<"$m"
  matched=$((matched + a)); mism=$((mism + b)); oracle_missing=$((oracle_missing + c)); ours_missing=$((ours_missing + d))
  if [ $rc -ne 0 ]; then echo "FAIL $file:$tree: $res" | cut -c1-600; fail=1; fi
  if [ "$d" != 0 ]; then echo "NOTE $file:$tree: oracle reads branches we skip: $(echo "$res" | cut -c1-400)"; fi
done
if [ "$trees" = 0 ]; then echo "FAIL: no tree was compared (see $out/oracle.log)"; fail=1; fi
echo "oracle comparison: $trees trees, $matched branches equal, $mism differ, $oracle_missing only we read, $ours_missing only jsroot reads"
exit $fail
