#!/usr/bin/env bash
# dump_all.sh OUTDIR
# For every *.root file in $MLAAS4HEP_TESTDATA (default ../shared/testdata/root beside the repository)
# and every TTree/TNtuple/TNtupleD in it (highest cycle of each path, found with
# list.mjs), write OUTDIR/<file>__<tree path, '/' replaced by '__'>.json with
# dump.mjs (jsroot's stderr goes to the same name with .stderr). One summary
# line per tree; continues after failures. Per-tree timeout: $ORACLE_TIMEOUT
# seconds (default 60). Exit status 1 if any tree failed, else 0.
set -u

if [ $# -ne 1 ]; then
   echo "usage: $0 OUTDIR" >&2
   exit 1
fi
OUTDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${MLAAS4HEP_TESTDATA:-$HERE/../../../shared/testdata/root}
TMO=${ORACLE_TIMEOUT:-60}
mkdir -p "$OUTDIR" || exit 1

if [ ! -d "$HERE/node_modules/jsroot" ]; then
   echo "error: jsroot not installed; run: (cd $HERE && npm ci)" >&2
   exit 1
fi

nok=0; nfail=0
shopt -s nullglob
for f in "$DATA"/*.root; do
   base=$(basename "$f")
   if ! trees=$(timeout "$TMO" node "$HERE/list.mjs" "$f" 2>/dev/null |
         node -e '
            let s = "";
            process.stdin.on("data", d => s += d).on("end", () => {
               const seen = new Set();
               for (const k of JSON.parse(s))
                  if (/^(TTree|TNtuple|TNtupleD)$/.test(k.class) && !seen.has(k.path)) {
                     seen.add(k.path);      // keys are listed highest cycle first
                     console.log(k.path);
                  }
            });'); then
      echo "failed: $base: cannot list keys"
      nfail=$((nfail + 1))
      continue
   fi
   [ -z "$trees" ] && { echo "note: $base: no trees"; continue; }
   while IFS= read -r t; do
      out="$OUTDIR/${base}__${t//\//__}.json"
      err="${out%.json}.stderr"
      t0=$(date +%s.%N)
      timeout "$TMO" node "$HERE/dump.mjs" "$f" "$t" >"$out" 2>"$err"
      rc=$?
      secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
      if [ $rc -eq 0 ]; then
         echo "ok: $base $t ($(sed -n 's/^summary: //p' "$err" | tail -n 1); ${secs}s)"
         nok=$((nok + 1))
      else
         if [ $rc -eq 124 ]; then reason="timeout after ${TMO}s"; else reason="exit $rc: $(grep -v '^skipped: ' "$err" | head -n 1)"; fi
         echo "failed: $base $t: $reason (${secs}s)"
         nfail=$((nfail + 1))
      fi
   done <<< "$trees"
done
echo "summary: $nok trees ok, $nfail failed"
[ $nfail -eq 0 ]
