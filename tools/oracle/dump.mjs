#!/usr/bin/env node
// dump.mjs FILE TREEPATH [-b BRANCH]... [--start N] [--stop M]
//
// Reads a TTree with jsroot and prints one JSON object on stdout:
//   {"tree": "<path>", "entries": <total entries>, "start": N, "stop": M,
//    "branches": {"<name>": [<value per entry>, ...], ...}}
// (same contract as `mlaas4hep dump --format json`). See README.md.
//
// Exit status: 0 ok; 2 file, tree or requested branch missing (one line on
// stderr); 3 a requested (-b) branch could not be read by jsroot (the JSON of
// the others is still printed); 1 usage or internal error.

import { parseArgs, openTree, allBranches, findBranchByName, branchKind, reshape, ser, readBranch,
         toNumber, UsageError, MissingError } from './lib.mjs';

const USAGE = 'usage: node dump.mjs FILE TREEPATH [-b BRANCH]... [--start N] [--stop M]';

async function main(argv) {
   const args = parseArgs(argv, {
      positional: ['FILE', 'TREEPATH'],
      options: { '-b': 'list', '--branch': 'list', '--start': 'int', '--stop': 'int' }
   });
   const [filename, treepath] = args._;
   const { file, tree } = await openTree(filename, treepath);

   const entries = toNumber(tree.fEntries) ?? 0;
   const start = Math.min(args['--start'] ?? 0, entries);
   const stop = Math.max(start, Math.min(args['--stop'] ?? entries, entries));

   // which branches: [{ key, entry }]
   const wanted = [];
   const requested = [...args['-b'], ...args['--branch']];
   if (requested.length) {
      for (const name of requested) {
         const e = findBranchByName(tree, name);
         if (!e)
            throw new MissingError(`branch not found: ${name} in tree ${treepath}`);
         wanted.push({ key: name, entry: e, explicit: true });
      }
   } else {
      const seen = new Set();
      for (const e of allBranches(tree)) {
         if (!e.isLeaf) {
            process.stderr.write(`skipped: ${e.path}: container branch (${e.branch.fBranches.arr.length} sub-branches, dumped separately)\n`);
            continue;
         }
         let key = e.name;
         if (seen.has(key)) {
            process.stderr.write(`note: branch name ${key} occurs more than once; using key ${e.path}\n`);
            key = e.path;
         }
         seen.add(key);
         wanted.push({ key, entry: e, explicit: false });
      }
   }

   const out = [];
   let failedExplicit = 0, nskipped = 0;
   for (const w of wanted) {
      const br = w.entry.branch;
      const info = branchKind(file, br);
      const parts = [];
      try {
         await readBranch(tree, br, start, stop, v => { parts.push(ser(reshape(v, info), info.kind)); }, info);
      } catch (err) {
         const reason = (err?.message ?? String(err)).replace(/\s+/g, ' ');
         if (!w.explicit && reason.includes('object value') && !reason.includes('Missmatch')) {
            const members = await objectMembers(tree, br, start, stop, w.key);
            if (members) {
               out.push(...members);
               continue;
            }
         }
         process.stderr.write(`skipped: ${w.entry.path}: ${reason}\n`);
         if (w.explicit)
            ++failedExplicit;
         ++nskipped;
         continue;
      }
      if (info.kind === 'auto')
         process.stderr.write(`note: ${w.entry.path}: element type not known from the metadata; numbers printed as float64 unless jsroot gave a Float32Array\n`);
      out.push(JSON.stringify(w.key) + ': [' + parts.join(', ') + ']');
   }

   process.stdout.write(
      `{"tree": ${JSON.stringify(treepath)}, "entries": ${entries}, "start": ${start}, "stop": ${stop}, ` +
      `"branches": {${out.join(',\n')}}}\n`);
   const ncont = requested.length ? 0 : allBranches(tree).filter(e => !e.isLeaf).length;
   process.stderr.write(`summary: ${out.length} branches dumped, ${nskipped} unreadable skipped, ${ncont} containers skipped, ` +
                        `${entries} entries, range [${start}, ${stop})\n`);
   return failedExplicit ? 3 : 0;
}

// A copy of a jsroot value's data (jsroot may reuse its objects between entries; they also
// carry methods, which structuredClone refuses).
function plainCopy(v) {
   if (Array.isArray(v) || ArrayBuffer.isView(v))
      return Array.from(v, plainCopy);
   if (v && typeof v === 'object') {
      const o = {};
      for (const [k, x] of Object.entries(v))
         if (typeof x !== 'function')
            o[k] = plainCopy(x);
      return o;
   }
   return v;
}

// The numeric members of a jsroot object ("fX", "fP.fX"), TObject's fUniqueID and fBits left
// out; null when the object holds anything else (strings, arrays): not a fixed-size object.
function memberPaths(v, prefix = '', out = []) {
   for (const [k, x] of Object.entries(v)) {
      if (k === '_typename' || k === 'fUniqueID' || k === 'fBits')
         continue;
      if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean')
         out.push(prefix + k);
      else if (x && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x)) {
         if (!memberPaths(x, prefix + k + '.', out))
            return null;
      } else
         return null;
   }
   return out;
}

// A branch of objects stored whole (TVector2, TVector3, vector<TLorentzVector>, an unsplit object
// member of a split collection, xAOD's vector<vector<ElementLink>>): one output key per numeric
// member, named as ROOT names split members ("MET.fX", "jetp4.fP.fX"), each entry a number or,
// for several objects, an array (of arrays).
// Returns the JSON "key": [values] parts, or null when the values are not such objects. (jsroot
// 7.11 misreads a TVector2/TVector3 stored whole as a branch's own object, warning "Missmatch in
// TObject" as it does: such branches stay skipped.)
async function objectMembers(tree, branch, start, stop, key) {
   const values = [];
   try {
      await readBranch(tree, branch, start, stop, v => { values.push(plainCopy(v)); });
   } catch {
      return null;
   }
   const isObject = v => v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
   const sample = values.flat(Infinity).find(isObject);
   const paths = sample && memberPaths(sample);
   if (!paths || !paths.length)
      return null;
   const get = (obj, path) => {
      let x = obj;
      for (const p of path.split('.'))
         x = x?.[p];
      if (x === undefined)
         throw new Error(`member ${path} missing`);
      return ser(x, 'auto');
   };
   // Arrays (a vector, or a vector of vectors, of objects) keep their nesting.
   const member = (v, path) => (Array.isArray(v) ? '[' + v.map(o => member(o, path)).join(',') + ']' : get(v, path));
   try {
      return paths.map(path => JSON.stringify(`${key}.${path}`) + ': [' + values.map(v => member(v, path)).join(', ') + ']');
   } catch {
      return null;
   }
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
