// Shared helpers of the jsroot oracle (dump.mjs, bench.mjs).
//
// Reading is done only with jsroot's public pieces: openFile() from 'jsroot/io'
// and treeProcess()/TSelector from 'jsroot/tree'. This file adds what jsroot
// does not provide: the branch inventory, the value type of each branch (so
// that float32 values print as float32 and 0/1 bools print as true/false),
// reshaping of multi-dimensional fixed arrays and an exact JSON serializer.

import fs from 'node:fs';
import { openFile } from 'jsroot/io';
import { treeProcess, TSelector } from 'jsroot/tree';

// jsroot writes a few diagnostics with console.log; stdout must carry only our
// JSON, so route console.log to stderr. console.warn/console.error are caught
// per branch (see captureConsole) and reported as the reason of a failure.
console.log = (...args) => console.error(...args);

export class UsageError extends Error {}
export class MissingError extends Error {}  // file / tree / branch not there: exit status 2

// ---------------------------------------------------------------------------
// command line

export function parseArgs(argv, spec) {
   // spec: { positional: ['FILE', 'TREEPATH'], options: { '--start': 'int', '-b': 'list', ... } }
   const res = { _: [] };
   for (const [name, kind] of Object.entries(spec.options))
      res[name] = kind === 'list' ? [] : undefined;
   for (let i = 0; i < argv.length; ++i) {
      let a = argv[i], val;
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) {
         val = a.slice(eq + 1);
         a = a.slice(0, eq);
      }
      if (a in spec.options) {
         const kind = spec.options[a];
         if (kind === 'flag') {
            res[a] = true;
            continue;
         }
         if (val === undefined) {
            if (i + 1 >= argv.length)
               throw new UsageError(`option ${a} needs a value`);
            val = argv[++i];
         }
         if (kind === 'int') {
            if (!/^\d+$/.test(val))
               throw new UsageError(`option ${a} needs a non-negative integer, got '${val}'`);
            res[a] = Number(val);
         } else if (kind === 'list')
            res[a].push(val);
         else
            res[a] = val;
      } else if (a.startsWith('-') && a.length > 1)
         throw new UsageError(`unknown option ${a}`);
      else
         res._.push(a);
   }
   if (res._.length !== spec.positional.length)
      throw new UsageError(`expected ${spec.positional.join(' ')}`);
   return res;
}

// ---------------------------------------------------------------------------
// file and tree

const TREE_CLASSES = new Set(['TTree', 'TNtuple', 'TNtupleD', 'TChain']);

export async function openTree(filename, treepath) {
   if (!fs.existsSync(filename) || !fs.statSync(filename).isFile())
      throw new MissingError(`file not found: ${filename}`);
   let file;
   try {
      file = await openFile(filename);
   } catch (err) {
      throw new MissingError(`cannot open ${filename} with jsroot: ${err?.message ?? err}`);
   }
   let tree;
   try {
      tree = await file.readObject(treepath);
   } catch (err) {
      throw new MissingError(`tree not found: ${treepath} in ${filename} (${err?.message ?? err})`);
   }
   if (!tree || !tree.fBranches || (!TREE_CLASSES.has(tree._typename) && tree.fEntries === undefined))
      throw new MissingError(`object ${treepath} in ${filename} is a ${tree?._typename}, not a TTree`);
   return { file, tree };
}

export function toNumber(v) {
   return typeof v === 'bigint' ? Number(v) : v;
}

// ---------------------------------------------------------------------------
// branch inventory

function subBranches(br) {
   return br?.fBranches?.arr ?? [];
}

// All branches depth first, each with its parent path ("a/b/c").
export function allBranches(tree) {
   const out = [];
   const walk = (lst, parents) => {
      for (const br of lst) {
         const path = [...parents, br.fName].join('/');
         out.push({ branch: br, name: br.fName, path, parents, isLeaf: subBranches(br).length === 0 });
         walk(subBranches(br), [...parents, br.fName]);
      }
   };
   walk(subBranches(tree), []);
   return out;
}

function stripDims(name) {
   const p = name.indexOf('[');
   return p > 0 ? name.slice(0, p) : name;
}

// Find a branch by the name given with -b: own name, own name without a
// trailing [dims] part, or parent/child path (with or without [dims]).
export function findBranchByName(tree, name) {
   const all = allBranches(tree);
   const tests = [
      e => e.name === name,
      e => e.path === name,
      e => stripDims(e.name) === name,
      e => e.path.split('/').map(stripDims).join('/') === name
   ];
   for (const t of tests) {
      const hits = all.filter(t);
      if (hits.length >= 1)
         return hits[0];
   }
   return null;
}

// ---------------------------------------------------------------------------
// value kinds: 'bool', 'int', 'f32', 'f64', 'str', 'auto' (from the JS value),
// or { record: [[name, kind], ...] } for leaf-list branches (x/D:y/I:...)

const CODE_KIND = {
   1: 'int', 2: 'int', 3: 'int', 4: 'int', 5: 'f32', 6: 'int', 7: 'str', 8: 'f64', 9: 'f64', 10: 'int',
   11: 'int', 12: 'int', 13: 'int', 14: 'int', 15: 'int', 16: 'int', 17: 'int', 18: 'bool', 19: 'f32'
};

const LEAF_KIND = {
   TLeafF: 'f32', TLeafF16: 'f32', TLeafD: 'f64', TLeafD32: 'f64', TLeafO: 'bool', TLeafB: 'int',
   TLeafS: 'int', TLeafI: 'int', TLeafL: 'int', TLeafG: 'int', TLeafC: 'str'
};

const NAME_KIND = {
   bool: 'bool', Bool_t: 'bool',
   float: 'f32', Float_t: 'f32', Float16_t: 'f32',
   double: 'f64', Double_t: 'f64', Double32_t: 'f64',
   string: 'str', 'std::string': 'str', TString: 'str', 'char*': 'str', 'const char*': 'str'
};
const INT_NAMES = new Set([
   'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int', 'unsigned',
   'long', 'unsigned long', 'long long', 'unsigned long long', 'Char_t', 'UChar_t', 'Short_t', 'UShort_t',
   'Int_t', 'UInt_t', 'Long_t', 'ULong_t', 'Long64_t', 'ULong64_t', 'int8_t', 'uint8_t', 'int16_t',
   'uint16_t', 'int32_t', 'uint32_t', 'int64_t', 'uint64_t', 'size_t', 'Byte_t', 'Version_t'
]);
const SEQ_RE = /^(?:std::)?(?:vector|list|deque|set|multiset|unordered_set|unordered_multiset|ROOT::VecOps::RVec|ROOT::RVec|RVec)<(.*)>$/;

export function kindFromTypeName(tn) {
   if (!tn)
      return null;
   let t = tn.replace(/\s+/g, ' ').replace(/ ?([<>,*]) ?/g, '$1').trim().replace(/^const /, '');
   for (;;) {
      const m = SEQ_RE.exec(t);
      if (!m)
         break;
      t = m[1].replace(/,.*$/, '');  // drop allocator argument if present
   }
   if (t in NAME_KIND)
      return NAME_KIND[t];
   if (INT_NAMES.has(t))
      return 'int';
   return null;
}

function findElement(file, branch) {
   const si = file.findStreamerInfo(branch.fClassName, branch.fClassVersion, branch.fCheckSum) ??
              file.findStreamerInfo(branch.fClassName);
   const elems = si?.fElements?.arr ?? [];
   const want = stripDims(branch.fName).split('.').pop();
   if (branch.fID >= 0 && elems[branch.fID]?.fName === want)
      return elems[branch.fID];
   return elems.find(e => e.fName === want) ?? null;
}

// Returns { kind, dims, counted } for a branch: dims = fixed array dimensions
// (outer to inner, variable-size dimension excluded), counted = whether the
// outermost dimension is a counter ([n]).
export function branchKind(file, branch) {
   const leaves = branch.fLeaves?.arr ?? [];
   const leaf = leaves[0];
   let kind = null;
   if (branch._typename !== 'TBranchElement') {
      if (leaves.length > 1)
         return { kind: { record: leaves.map(l => [l.fName, LEAF_KIND[l._typename] ?? 'auto']) }, dims: [], counted: false };
      kind = leaf ? LEAF_KIND[leaf._typename] ?? null : null;
   } else {
      const st = branch.fStreamerType;
      if (st > 0 && st < 60 && (st % 20) !== 0)
         kind = CODE_KIND[st % 20] ?? null;
      else if (st === 65)
         kind = 'str';
      if (!kind && branch.fID >= 0) {
         const el = findElement(file, branch);
         kind = kindFromTypeName(el?.fTypeName);
      }
      if (!kind && branch.fID < 0)
         kind = kindFromTypeName(branch.fClassName);
   }
   const title = leaf?.fTitle || branch.fTitle || '';
   const groups = [...title.matchAll(/\[([^\]]*)\]/g)].map(m => m[1]);
   let counted = false;
   const dims = [];
   groups.forEach((g, i) => {
      if (/^\d+$/.test(g))
         dims.push(Number(g));
      else if (i === 0)
         counted = true;
   });
   if (leaf?.fLeafCount)
      counted = true;
   // a TLeafC string has no dimensions; its fLen is the maximal string length
   if (kind === 'str')
      dims.length = 0;
   // jsroot reads a fixed-size signed Char_t leaf array (TLeafB, x[3]/B) as a
   // NUL-terminated C string, which loses every byte after the first 0. Such
   // leaves are read as unsigned bytes instead (see readBranch) and converted
   // back to signed values here.
   const charFix = (branch._typename !== 'TBranchElement') && leaves.length === 1 && leaf?._typename === 'TLeafB' &&
                   !leaf.fIsUnsigned && !leaf.fLeafCount && leaf.fLen > 1;
   return { kind: kind ?? 'auto', dims, counted, charFix };
}

// ---------------------------------------------------------------------------
// reshaping and serialization

function isSeq(v) {
   return Array.isArray(v) || ArrayBuffer.isView(v);
}

function chunk(flat, dims) {
   // flat: array-like of length prod(dims); returns nested arrays, one level per dimension
   if (dims.length <= 1)
      return flat;
   const inner = dims.slice(1).reduce((a, b) => a * b, 1);
   const out = new Array(dims[0]);
   for (let i = 0; i < dims[0]; ++i)
      out[i] = chunk(flat.slice(i * inner, (i + 1) * inner), dims.slice(1));
   return out;
}

// Turn a flat fixed-size (x[2][3]) or counted (x[n][3]) array into nested
// arrays, one level per dimension. Values already nested are left alone.
export function reshape(value, info) {
   if (info.charFix && ArrayBuffer.isView(value))
      value = Int8Array.from(value, x => (x > 127 ? x - 256 : x));
   if (!isSeq(value))
      return value;
   const dims = info.dims;
   if (info.counted) {
      if (dims.length === 0)
         return value;
      if (value.length > 0 && isSeq(value[0]))
         return value;
      const inner = dims.reduce((a, b) => a * b, 1);
      if (value.length % inner !== 0)
         return value;
      return chunk(value, [value.length / inner, ...dims]);
   }
   if (dims.length <= 1)
      return value;
   if (value.length > 0 && isSeq(value[0]))
      return value;
   const total = dims.reduce((a, b) => a * b, 1);
   if (value.length !== total)
      return value;
   return chunk(value, dims);
}

export function fmtF64(v) {
   if (Number.isNaN(v)) return '"nan"';
   if (v === Infinity) return '"inf"';
   if (v === -Infinity) return '"-inf"';
   if (Object.is(v, -0)) return '-0';
   return String(v);  // shortest round-trip decimal for a double
}

export function fmtF32(v) {
   if (Number.isNaN(v)) return '"nan"';
   const f = Math.fround(v);
   if (f === Infinity) return '"inf"';
   if (f === -Infinity) return '"-inf"';
   if (f === 0) return Object.is(f, -0) ? '-0' : '0';
   for (let p = 1; p <= 9; ++p) {
      const n = Number(f.toPrecision(p));
      if (Math.fround(n) === f)
         return String(n);
   }
   return String(f);  // not reached: 9 digits always round-trip a float32
}

export class ValueError extends Error {}

// jsroot turns every byte of a string into one UTF-16 code unit (Latin-1).
// Re-decode as UTF-8 when the bytes are valid UTF-8; keep them otherwise.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
function utf8(s) {
   if (!/[\u0080-\u00ff]/.test(s) || /[^\u0000-\u00ff]/.test(s))
      return s;
   try {
      return utf8Decoder.decode(Buffer.from(s, 'latin1'));
   } catch {
      return s;
   }
}

// Serialize one value (of a branch of the given kind) to JSON text.
export function ser(v, kind) {
   switch (typeof v) {
      case 'bigint':
         if (kind === 'bool') return v ? 'true' : 'false';
         return v.toString();
      case 'boolean':
         return v ? 'true' : 'false';
      case 'string':
         if (kind !== 'str' && kind !== 'auto')
            throw new ValueError(`string value for a ${kind} branch`);
         return JSON.stringify(utf8(v));
      case 'number':
         switch (kind) {
            case 'bool': return v ? 'true' : 'false';
            case 'int':
               if (!Number.isInteger(v))
                  throw new ValueError(`non-integer ${v} in an integer branch`);
               return String(v);
            case 'f32': return fmtF32(v);
            case 'str': throw new ValueError('number value for a string branch');
            default: return fmtF64(v);
         }
      case 'object': {
         if (v === null)
            throw new ValueError('null value');
         if (ArrayBuffer.isView(v) || Array.isArray(v)) {
            let k = kind;
            if (k === 'auto' && v instanceof Float32Array)
               k = 'f32';
            const parts = new Array(v.length);
            for (let i = 0; i < v.length; ++i)
               parts[i] = ser(v[i], k);
            return '[' + parts.join(',') + ']';
         }
         if (kind && typeof kind === 'object' && kind.record) {
            const parts = kind.record.map(([name, k]) => {
               if (!(name in v))
                  throw new ValueError(`leaf ${name} missing in leaf-list value`);
               return JSON.stringify(name) + ':' + ser(v[name], k);
            });
            return '{' + parts.join(',') + '}';
         }
         const cls = v._typename ? ` of class ${v._typename}` : '';
         throw new ValueError(`object value${cls} (not a plain number/string/array)`);
      }
      default:
         throw new ValueError(`unexpected JS value of type ${typeof v}`);
   }
}

// ---------------------------------------------------------------------------
// reading

function shorten(text, max = 300) {
   const t = String(text).replace(/\s+/g, ' ').trim();
   return t.length > max ? t.slice(0, max) + '...' : t;
}

function captureConsole() {
   const saved = { log: console.log, warn: console.warn, error: console.error };
   const msgs = [];
   const grab = (...a) => { if (msgs.length < 20) msgs.push(shorten(a.map(x => x?.message ?? String(x)).join(' '), 200)); };
   console.log = console.warn = console.error = grab;
   return {
      msgs,
      restore() {
         Object.assign(console, saved);
      }
   };
}

// Errors thrown inside jsroot's basket-processing callbacks are not connected
// to the promise returned by treeProcess (it would never settle and node would
// abort on the unhandled rejection). Route them to the branch being read.
let currentReject = null;
process.on('unhandledRejection', reason => {
   if (currentReject)
      currentReject(reason);
   else {
      process.stderr.write(`error: unhandled rejection in jsroot: ${shorten(reason?.stack ?? reason, 2000)}\n`);
      process.exit(1);
   }
});
process.on('uncaughtException', err => {
   if (currentReject)
      currentReject(err);
   else {
      process.stderr.write(`error: uncaught exception in jsroot: ${shorten(err?.stack ?? err, 2000)}\n`);
      process.exit(1);
   }
});

// Read entries [start, stop) of one branch through jsroot's treeProcess.
// onValue(jsValue, entry) is called for every entry in order. Throws an Error
// whose message is the reason when jsroot cannot read it or skips entries.
export async function readBranch(tree, branch, start, stop, onValue, info = null) {
   if (stop <= start)
      return 0;
   if (info?.charFix) {
      const leaf = branch.fLeaves.arr[0];
      leaf.fIsUnsigned = true;
      try {
         return await readBranch(tree, branch, start, stop, onValue, null);
      } finally {
         leaf.fIsUnsigned = false;
      }
   }
   const sel = new TSelector();
   sel.addBranch(branch, 'v');
   let count = 0, expect = start, bad = null, terminated = null;
   sel.Process = function(entry) {
      if (bad)
         return;
      if (entry !== expect) {
         bad = `entry ${entry} delivered where ${expect} was expected`;
         this.Abort();
         return;
      }
      try {
         onValue(this.tgtobj.v, entry);
      } catch (err) {
         bad = err?.message ?? String(err);
         this.Abort();
         return;
      }
      ++expect;
      ++count;
   };
   sel.Terminate = function(ok) { terminated = ok; };
   const cap = captureConsole();
   try {
      await new Promise((resolve, reject) => {
         currentReject = reject;
         treeProcess(tree, sel, { firstentry: start, numentries: stop - start }).then(resolve, reject);
      });
   } catch (err) {
      throw new Error([shorten(err?.message ?? err), ...cap.msgs].join('; '));
   } finally {
      currentReject = null;
      cap.restore();
   }
   if (bad)
      throw new Error([bad, ...cap.msgs].join('; '));
   if (count !== stop - start) {
      const why = cap.msgs.length ? ` (${cap.msgs.join('; ')})` : '';
      throw new Error(`jsroot delivered ${count} of ${stop - start} entries${terminated === false ? ', processing failed' : ''}${why}`);
   }
   return count;
}
