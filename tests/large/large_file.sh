#!/usr/bin/env bash
# large_file.sh [BUILD_DIR]: writes a generated file past 2 GiB (64-bit offsets: large-file
# header, 64-bit keys and directory records), reads it back and checks it, then deletes it.
# Slow (minutes) and needs ~3 GB of free disk: not in the quick suite. Run it with
#   M4H_RUN_SLOW=1 ctest --test-dir build -R large_file      (or: bash tests/large/large_file.sh build)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
cli="$build/mlaas4hep"
if [ "${M4H_RUN_SLOW:-0}" != 1 ] && [ "${2:-}" = --ctest ]; then
  echo "*** SKIPPED: set M4H_RUN_SLOW=1 to run the >2 GiB file test ***"; exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/m4h-large.XXXXXX")
trap 'rm -rf "$dir"' EXIT
free_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt 4000000 ]; then
  echo "*** SKIPPED: fewer than 4 GB free in $dir ***"; exit 0
fi
events=11500000
f="$dir/large.root"
time "$cli" gen --process signal --events $events --codec none --seed 5 -o "$f"
size=$(stat -c %s "$f")
echo "file size: $size bytes"
[ "$size" -gt 2147483648 ] || { echo "FAIL: file is not past 2 GiB"; exit 1; }
# The header must be the 64-bit variant (fVersion >= 1000000).
version=$(od -An -tu4 --endian=big -j4 -N4 "$f" | tr -d ' ')
[ "$version" -ge 1000000 ] || { echo "FAIL: header version $version is not the large-file form"; exit 1; }
"$cli" show "$f:Events" | head -3
# The first entries must equal a small file made with the same seed (the generator is a pure
# function of seed and event index); everywhere else the content must be self-consistent.
"$cli" gen --process signal --events 1000 --codec zlib --seed 5 -o "$dir/ref.root" >/dev/null
diff <("$cli" dump "$f:Events" --stop 1000 -b event -b Jet_pt -b HT -b mbb | sed 's/"entries": [0-9]*/"entries": N/') \
     <("$cli" dump "$dir/ref.root:Events" --stop 1000 -b event -b Jet_pt -b HT -b mbb | sed 's/"entries": [0-9]*/"entries": N/') \
  >/dev/null || { echo "FAIL: the first 1000 entries differ from the reference"; exit 1; }
echo "entries [0, 1000): identical to the reference"
for start in 5000000 $((events / 2 + 123457)) $((events - 1000)); do
  "$cli" dump "$f:Events" --start $start --stop $((start + 1000)) -b event -b nJet -b Jet_pt >"$dir/part.json"
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const b = d.branches, start = Number(process.argv[2]);
    for (let i = 0; i < b.event.length; ++i) {
      if (b.event[i] !== start + i + 1) throw new Error(`event ${start + i}: ${b.event[i]}`);
      if (b.nJet[i] !== b.Jet_pt[i].length) throw new Error(`event ${start + i}: nJet`);
    }' "$dir/part.json" $start || { echo "FAIL: entries from $start are inconsistent"; exit 1; }
  echo "entries [$start, $((start + 1000))): consistent"
done
time "$cli" dump "$f:Events" -b event --start $((events - 3)) > "$dir/tail.json"
grep -q "\"event\": \[$((events - 2)), $((events - 1)), $events\]" "$dir/tail.json" ||
  { echo "FAIL: last events wrong: $(cat "$dir/tail.json")"; exit 1; }
echo "large file: ok"
