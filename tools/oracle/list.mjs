#!/usr/bin/env node
// list.mjs FILE
// Prints a JSON array with every key of a ROOT file, recursing into TDirectory
// contents, as read by jsroot:
//   [{"path": "dir/sub/name", "class": "TTree", "cycle": 1}, ...]
// Keys appear in the order of the directory key lists (depth first: a
// directory's own key comes before its contents). Exit status 2 if the file
// cannot be opened.

import fs from 'node:fs';
import { openFile } from 'jsroot/io';

const DIR_CLASSES = new Set(['TDirectory', 'TDirectoryFile']);

async function main() {
   const argv = process.argv.slice(2);
   if (argv.length !== 1 || argv[0].startsWith('-')) {
      process.stderr.write('usage: node list.mjs FILE\n');
      return 1;
   }
   const filename = argv[0];
   if (!fs.existsSync(filename) || !fs.statSync(filename).isFile()) {
      process.stderr.write(`error: file not found: ${filename}\n`);
      return 2;
   }
   let file;
   try {
      file = await openFile(filename);
   } catch (err) {
      process.stderr.write(`error: cannot open ${filename} with jsroot: ${err?.message ?? err}\n`);
      return 2;
   }

   const out = [];
   let status = 0;

   async function walk(keys, prefix) {
      for (const key of keys) {
         const path = prefix ? `${prefix}/${key.fName}` : key.fName;
         out.push({ path, class: key.fClassName, cycle: key.fCycle });
         if (DIR_CLASSES.has(key.fClassName)) {
            try {
               const dir = await file.readObject(path, key.fCycle, true);
               await walk(dir.fKeys, path);
            } catch (err) {
               process.stderr.write(`warning: cannot read directory ${path};${key.fCycle}: ${err?.message ?? err}\n`);
               status = 1;
            }
         }
      }
   }

   await walk(file.fKeys, '');
   process.stdout.write('[' + out.map(e => JSON.stringify(e)).join(',\n ') + ']\n');
   return status;
}

main().then(rc => { process.exitCode = rc; },
            err => { process.stderr.write(`error: ${err?.stack ?? err}\n`); process.exitCode = 1; });
