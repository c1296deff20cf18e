// Runs an ONNX model exported by ghnas in ONNX Runtime (onnxruntime-node, CPU) on the first N
// images of an IDX images file (plain or gzip) and compares with ghnas's own numbers:
//   node run_ort.js MODEL.onnx IMAGES [--n N] [--ref LOGITS.csv] [--tol T] [--labels LABELS]
//                   [--acc A]
// --ref: the CSV of `ghnas predict --logits` on the same images; every logit must agree within
//        T * (1 + |ghnas logit|) (default T 1e-4), and so must every predicted class.
// --labels: the accuracy of the ONNX Runtime predictions; with --acc A it must equal A (a
//        fraction of N, compared to 1e-9). Prints a JSON summary; exit 1 on any mismatch.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

function usage(msg) {
  console.error('run_ort.js: ' + msg);
  process.exit(2);
}

function readIdx(path, magic) {
  let b = fs.readFileSync(path);
  if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
  if (b.readUInt32BE(0) !== magic) usage(`${path}: IDX magic ${b.readUInt32BE(0)} != ${magic}`);
  const nd = magic & 0xff;
  const dims = [];
  for (let i = 0; i < nd; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * nd) };
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length < 2) usage('usage: run_ort.js MODEL IMAGES [--n N] [--ref CSV] [--tol T] ' +
                              '[--labels FILE] [--acc A]');
  const opt = { n: 0, ref: null, tol: 1e-4, labels: null, acc: null };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
    if (!(k in opt) || v === undefined) usage(`bad option ${argv[i]}`);
    opt[k] = (k === 'ref' || k === 'labels') ? v : Number(v);
  }
  const img = readIdx(argv[1], 0x803);
  const [total, H, W] = img.dims;
  const n = opt.n > 0 ? Math.min(opt.n, total) : total;
  const session = await ort.InferenceSession.create(argv[0]);
  const inName = session.inputNames[0], outName = session.outputNames[0];
  if (inName !== 'image' || outName !== 'logits') usage(`names ${inName} -> ${outName}`);
  const B = 500;
  let logits = null, K = 0;
  for (let b0 = 0; b0 < n; b0 += B) {
    const b = Math.min(B, n - b0);
    const x = new Float32Array(b * H * W);
    for (let i = 0; i < b * H * W; i++) x[i] = img.data[b0 * H * W + i] / 255;
    const out = await session.run({ [inName]: new ort.Tensor('float32', x, [b, 1, H, W]) });
    const y = out[outName];
    K = y.dims[1];
    if (!logits) logits = new Float32Array(n * K);
    logits.set(y.data, b0 * K);
  }
  const pred = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
    pred[i] = best;
  }
  const res = { model: argv[0], images: n, classes: K };
  let ok = true;
  if (opt.ref) {
    const lines = fs.readFileSync(opt.ref, 'utf8').trim().split('\n');
    const head = lines[0].split(',');
    const c0 = head.indexOf('logit0'), cp = head.indexOf('pred');
    if (c0 < 0 || cp < 0 || lines.length - 1 !== n) usage(`${opt.ref}: want ${n} rows of logits`);
    let maxAbs = 0, maxRel = 0, bad = 0, predDiff = 0;
    for (let i = 0; i < n; i++) {
      const f = lines[i + 1].split(',');
      if (Number(f[cp]) !== pred[i]) predDiff++;
      for (let k = 0; k < K; k++) {
        const r = Number(f[c0 + k]), o = logits[i * K + k];
        const d = Math.abs(r - o);
        maxAbs = Math.max(maxAbs, d);
        maxRel = Math.max(maxRel, d / (1 + Math.abs(r)));
        if (!(d <= opt.tol * (1 + Math.abs(r)))) bad++;
      }
    }
    Object.assign(res, { max_abs_diff: maxAbs, max_rel_diff: maxRel, tol: opt.tol,
                         logits_outside_tol: bad, pred_differ: predDiff });
    ok = ok && bad === 0 && predDiff === 0;
  }
  if (opt.labels) {
    const lab = readIdx(opt.labels, 0x801);
    let right = 0;
    for (let i = 0; i < n; i++) right += pred[i] === lab.data[i] ? 1 : 0;
    res.correct = right;
    res.accuracy = right / n;
    if (opt.acc !== null && !Number.isNaN(opt.acc)) {
      res.ghnas_accuracy = opt.acc;
      ok = ok && Math.abs(res.accuracy - opt.acc) < 1e-9;
    }
  }
  res.ok = ok;
  console.log(JSON.stringify(res));
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error('run_ort.js: ' + (e && e.message ? e.message : e)); process.exit(1); });
