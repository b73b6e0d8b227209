#!/usr/bin/env node
// compare.mjs OURS.json ORACLE.json [--branch-list OUT]
// Compares two `dump` JSON objects branch by branch. Numbers must be equal as doubles, or, when
// both sides print a float32 (shortest decimal forms of the same float), equal as float32.
// Branches the oracle could not read are reported as "oracle-missing", branches we skipped as
// "ours-missing". A branch jsroot read whole as vectors of empty vectors and we read as members
// ("X.m_persKey") is compared member by member against it. Prints one JSON summary line; exit 1 on any value mismatch.
import { readFileSync } from 'node:fs';

const [oursPath, oraclePath] = process.argv.slice(2);
if (!oursPath || !oraclePath) {
  console.error('usage: compare.mjs OURS.json ORACLE.json');
  process.exit(2);
}
const ours = JSON.parse(readFileSync(oursPath, 'utf8'));
const oracle = JSON.parse(readFileSync(oraclePath, 'utf8'));

function sameNumber(a, b) {
  if (a === b) return true;
  if (typeof a === 'string' || typeof b === 'string') return a === b;  // "nan", "inf"
  // Both decimals identify the same float32 and each is that float's shortest form.
  return Math.fround(a) === Math.fround(b) && Math.fround(a) !== Infinity;
}

function equal(a, b, path, out) {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`), false;
    if (a.length !== b.length) return out.push(`${path}: length ${a.length} vs ${b.length}`), false;
    for (let i = 0; i < a.length; ++i) if (!equal(a[i], b[i], `${path}[${i}]`, out)) return false;
    return true;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {  // leaf-list records
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.join() !== kb.join()) return out.push(`${path}: fields ${ka} vs ${kb}`), false;
    for (const k of ka) if (!equal(a[k], b[k], `${path}.${k}`, out)) return false;
    return true;
  }
  if (typeof a === 'number' || typeof b === 'number') {
    if (typeof a === 'boolean') a = a ? 1 : 0;
    if (typeof b === 'boolean') b = b ? 1 : 0;
    if (sameNumber(a, b)) return true;
    out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    return false;
  }
  if (a === b) return true;
  out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return false;
}

const summary = { matched: 0, mismatched: [], oracle_missing: [], ours_missing: [], header: [] };
for (const k of ['entries', 'start', 'stop'])
  if (ours[k] !== oracle[k]) summary.header.push(`${k}: ${ours[k]} vs ${oracle[k]}`);
for (const [name, values] of Object.entries(ours.branches)) {
  if (!(name in oracle.branches)) { summary.oracle_missing.push(name); continue; }
  const diffs = [];
  if (equal(values, oracle.branches[name], name, diffs)) summary.matched++;
  else summary.mismatched.push(diffs[0]);
}
// A branch of objects we read as one branch per member ("links.m_persKey") that jsroot read whole
// because it held no object at all (vectors of empty vectors): each member must have its shape.
for (const [name, values] of Object.entries(oracle.branches)) {
  if (name in ours.branches) continue;
  const members = Object.keys(ours.branches).filter(k => k.startsWith(name + '.') && !(k in oracle.branches));
  const holdsNoValue = v => (Array.isArray(v) ? v.every(holdsNoValue) : false);
  if (!members.length || !values.every(holdsNoValue)) { summary.ours_missing.push(name); continue; }
  for (const m of members) {
    summary.oracle_missing.splice(summary.oracle_missing.indexOf(m), 1);
    const diffs = [];
    if (equal(ours.branches[m], values, m, diffs)) summary.matched++;
    else summary.mismatched.push(diffs[0]);
  }
}
console.log(JSON.stringify(summary));
process.exit(summary.mismatched.length || summary.header.length ? 1 : 0);
