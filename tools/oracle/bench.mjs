#!/usr/bin/env node
// bench.mjs FILE TREEPATH [--repeat K] [--per-branch]
//
// jsroot baseline for the reader benchmark. After opening the file and the
// tree (not timed), finds the leaf branches that dump.mjs would print (one
// untimed full read and conversion of each, which also warms the page cache
// and the JIT), then reads all
// of them over all entries K times and prints one JSON object:
//   {"seconds": <median seconds per full pass>, "entries": n, "branches": b,
//    "bytes_uncompressed": <decompressed basket bytes of the b branches>, ...}
// Default mode: one jsroot treeProcess() over all readable branches together
// (how jsroot is normally used). --per-branch: one treeProcess per branch.
// The per-entry callback only touches the value (no conversion to JSON).

import { parseArgs, openTree, allBranches, branchKind, reshape, ser, readBranch, toNumber, UsageError,
         MissingError } from './lib.mjs';
import { treeProcess, TSelector } from 'jsroot/tree';

const USAGE = 'usage: node bench.mjs FILE TREEPATH [--repeat K] [--per-branch]';

function median(a) {
   const s = [...a].sort((x, y) => x - y);
   const m = s.length >> 1;
   return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function readAllTogether(tree, branches, entries) {
   const sel = new TSelector();
   branches.forEach((br, i) => sel.addBranch(br, `b${i}`));
   let count = 0, ok = null;
   sel.Process = function() {
      // touch every value so that nothing can be optimised away
      for (let i = 0; i < branches.length; ++i)
         if (this.tgtobj[`b${i}`] === undefined)
            throw new Error(`no value for branch ${branches[i].fName}`);
      ++count;
   };
   sel.Terminate = res => { ok = res; };
   await treeProcess(tree, sel, { firstentry: 0, numentries: entries });
   if (count !== entries || ok === false)
      throw new Error(`combined read delivered ${count} of ${entries} entries`);
}

// Decompressed basket payload bytes of the given branches: fObjlen from the key
// header of every basket stored as its own key, plus fLast - fKeylen of the
// baskets embedded in the TTree record (their fObjlen is not meaningful).
// Branch fTotBytes is not used because it omits the embedded baskets.
async function uncompressedBytes(file, branches) {
   const places = [];
   let total = 0;
   for (const br of branches) {
      const nb = br.fWriteBasket ?? 0;
      for (let k = 0; k < nb; ++k) {
         const seek = toNumber(br.fBasketSeek?.[k] ?? 0), nbytes = br.fBasketBytes?.[k] ?? 0;
         if (seek > 0 && nbytes > 0)
            places.push(seek, 10);
      }
      for (const bk of br.fBaskets?.arr ?? []) {
         if (bk && bk.fBufferRef && bk.fLast > bk.fKeylen)
            total += bk.fLast - bk.fKeylen;
      }
   }
   for (let i = 0; i < places.length; i += 2000) {
      const part = places.slice(i, i + 2000);
      let views = await file.readBuffer(part);
      if (part.length === 2)
         views = [views];
      for (const v of views)
         total += v.getInt32(6);  // TKey: fNbytes(4) fVersion(2) fObjlen(4)
   }
   return total;
}

async function main(argv) {
   const args = parseArgs(argv, {
      positional: ['FILE', 'TREEPATH'],
      options: { '--repeat': 'int', '--per-branch': 'flag' }
   });
   const [filename, treepath] = args._;
   const repeat = Math.max(1, args['--repeat'] ?? 1);
   const { file, tree } = await openTree(filename, treepath);
   const entries = toNumber(tree.fEntries) ?? 0;

   // discovery (untimed): which leaf branches can jsroot read completely?
   const readable = [], skipped = [];
   for (const e of allBranches(tree)) {
      if (!e.isLeaf)
         continue;
      try {
         // same acceptance as dump.mjs: values must turn into plain JSON values
         const info = branchKind(file, e.branch);
         await readBranch(tree, e.branch, 0, entries, v => { ser(reshape(v, info), info.kind); }, info);
         readable.push(e.branch);
      } catch (err) {
         skipped.push(e.path);
         process.stderr.write(`skipped: ${e.path}: ${err?.message ?? err}\n`);
      }
   }

   let mode = args['--per-branch'] ? 'per-branch' : 'together';
   const times = [];
   for (let r = 0; r < repeat && entries > 0 && readable.length; ++r) {
      const t0 = process.hrtime.bigint();
      if (mode === 'together') {
         try {
            await readAllTogether(tree, readable, entries);
         } catch (err) {
            process.stderr.write(`note: combined read failed (${err?.message ?? err}); timing per branch instead\n`);
            mode = 'per-branch';
            times.length = 0;
            r = -1;
            continue;
         }
      } else {
         for (const br of readable)
            await readBranch(tree, br, 0, entries, () => {});
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
   }

   const sum = key => readable.reduce((a, br) => a + (toNumber(br[key]) || 0), 0);
   const res = {
      seconds: times.length ? median(times) : 0,
      entries,
      branches: readable.length,
      bytes_uncompressed: await uncompressedBytes(file, readable),
      branch_tot_bytes: sum('fTotBytes'),
      branch_zip_bytes: sum('fZipBytes'),
      repeat,
      seconds_each: times,
      mode,
      skipped_branches: skipped.length,
      reader: 'jsroot ' + (await import('jsroot/core')).version_id,
      node: process.version
   };
   process.stdout.write(JSON.stringify(res) + '\n');
   return 0;
}

main(process.argv.slice(2)).then(rc => { process.exitCode = rc; }, err => {
   if (err instanceof MissingError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 2;
   } else if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
      process.exitCode = 1;
   } else {
      process.stderr.write(`error: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
   }
});
