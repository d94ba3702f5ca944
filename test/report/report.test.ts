/**
 * The report without a browser: escaping in every format, tables that carry the analysis'
 * numbers, CSV quoting that round-trips, answers that follow the data, plots that are
 * standalone SVG, and writeReport on a study directory (shards, torn lines, errors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { DataError } from '../../src/errors.js';
import { analyze } from '../../src/study/analysis.js';
import type { TrialResult } from '../../src/study/run-trial.js';
import { answerFor, answerText, headline, plain } from '../../src/report/answer.js';
import { fmtCI } from '../../src/report/format.js';
import { optimaCsv, trialsCsv } from '../../src/report/csv.js';
import { csvField, csvRow, escapeHtml, escapeMarkdown, markdownCode } from '../../src/report/escape.js';
import { renderHtml } from '../../src/report/html.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { curvePlot, movementPlot } from '../../src/report/plots.js';
import { writeReport } from '../../src/report/write.js';
import { DATA_LABEL, handAnalysis, syntheticResults, widthConfig, writeStudyDir } from './fixtures.js';

const HOSTILE = '<script>alert(1)</script>';

/** RFC 4180 parser, for round-trip checks (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

test('escapeHtml: the five HTML metacharacters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  assert.equal(escapeHtml(42), '42');
});

test('escapeMarkdown and markdownCode: names cannot become markup', () => {
  assert.equal(escapeMarkdown('*a* _b_ [c](d) `e` |f| <g> ~h~'), '\\*a\\* \\_b\\_ \\[c\\](d) \\`e\\` \\|f\\| &lt;g&gt; \\~h\\~');
  assert.equal(escapeMarkdown('λ_E = c/(2N)'), 'λ_E = c/(2N)', 'an underscore inside a word stays');
  assert.equal(escapeMarkdown('# not a heading'), '\\# not a heading');
  assert.equal(escapeMarkdown('line\nbreak'), 'line break');
  assert.equal(markdownCode('a`b'), '``a`b``');
  assert.equal(markdownCode('a|b', true), '`a\\|b`');
});

test('a study named <script>alert(1)</script> is escaped in the HTML, its SVG and the Markdown', () => {
  const analysis = handAnalysis({ study: HOSTILE, seedSlope: 0.1, perWeightSlope: 1.1, se: 0.2 });
  const config = { ...widthConfig(HOSTILE, [16, 32, 64]), base: { ...widthConfig().base, optimizer: 'momentum' as const } };
  const html = renderHtml({
    study: { edition: 2, classes: 10, data: `<img src=x onerror=alert(2)> & "quotes"`, configs: [config] }, results: [], analyses: [analysis],
    notes: [`torn line: ${HOSTILE}`],
  });
  assert.doesNotMatch(html, /<script/i, 'no script element anywhere');
  assert.doesNotMatch(html, /="[^"]*[<>][^"]*"/, 'no < or > inside an attribute value (XML forbids it in a standalone SVG)');
  assert.doesNotMatch(html, /<img/i);
  assert.doesNotMatch(html, /onerror=alert\(2\)>/);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quotes&quot;'));
  // Parsed as a browser would, the name is text, never an element.
  const { document } = parseHTML(html);
  assert.equal(document.querySelectorAll('script').length, 0);
  assert.ok(document.querySelector('h1')!.textContent!.includes(HOSTILE));
  assert.ok([...document.querySelectorAll('svg text')].some((t) => t.textContent!.includes(HOSTILE)), 'plot titles carry the name as text');

  const md = renderMarkdown({ study: { edition: 2, classes: 10, data: 'd', configs: [config] }, results: [], analyses: [analysis] });
  assert.doesNotMatch(md, /<script/i);
  assert.ok(md.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('the HTML is self-contained: no scripts, no external URLs, a CSP that forbids requests', () => {
  const analysis = handAnalysis({ seedSlope: 0.1, perWeightSlope: 1.1, se: 0.2 });
  const html = renderHtml({ study: null, results: [], analyses: [analysis] });
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /https?:\/\//, 'no URL other than the SVG namespace');
  assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
});

test('tables carry the numbers of the analysis, in HTML and Markdown', () => {
  const analysis = handAnalysis({ seedSlope: 0.1, perWeightSlope: 1.1, se: 0.05 });
  const html = renderHtml({ study: null, results: [], analyses: [analysis] });
  const md = renderMarkdown({ study: null, results: [], analyses: [analysis] });
  const [seed, , perWeight] = analysis.movements;
  assert.equal(fmtCI(seed), '+0.10 [-0.03, +0.23]');
  for (const [out, esc] of [[html, (t: string) => t], [md, escapeMarkdown]] as const) {
    assert.ok(out.includes(esc(fmtCI(seed))), 'seed slope with its interval');
    assert.ok(out.includes(esc(fmtCI(perWeight))), 'per-weight slope with its interval');
    assert.ok(out.includes('+2.20'), 'per-weight total movement');
    assert.ok(out.includes('4.39e-4'), 'optimum at width 16');
    assert.ok(out.includes('± 0.9'), 'se of the optimum in octaves');
    assert.ok(out.includes('7.6%'), 'penalty share');
    assert.ok(out.includes('134.3'), 'weight norm');
    assert.ok(out.includes('0.5093'), 'the metric at the optimum');
    assert.ok(out.includes('-0.10% ± 0.20%'), 'error-rate difference at the optimum');
  }
  // The movement table gives each verdict: seed and keras transfer, per-weight moves.
  const { document } = parseHTML(html);
  const rows = [...document.querySelectorAll('table')].find((t) => t.textContent!.includes('octaves per doubling [95% interval]'))!.querySelectorAll('tbody tr');
  const cells = [...rows].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent!.trim()));
  assert.deepEqual(cells.map((c) => [c[0], c[4], c[5]]), [['seed:lambda', 'transfers', '0.00'], ['keras:l2', 'transfers', '0.00'], ['per-weight:c', 'moves', '-1.00']]);
  assert.ok(md.includes(`| \`per-weight:c\` | λ_E = c/P | ${escapeMarkdown(fmtCI(perWeight))} | +2.20 | moves | -1.00 |  |`));
});

test('an optimum at the grid edge is flagged in the table and the answer, and left out of the slope', () => {
  const analysis = handAnalysis({ seedSlope: 0.1, perWeightSlope: 1.1, se: 0.05, edge: true });
  const html = renderHtml({ study: null, results: [], analyses: [analysis] });
  assert.match(html, /⚠ at the lower edge of the coefficients tried/);
  assert.match(answerText(answerFor(analysis)), /Left out of the slope: width 64 \(at the lower edge of the coefficients tried: the optimum may lie beyond\)/);
});

test('answers: a family transfers; none decided; every one moves; a categorical axis', () => {
  const one = answerFor(handAnalysis({ seedSlope: 0.1, perWeightSlope: 1.1, se: 0.05 }));
  assert.equal(one.verdict, 'transfers');
  const t1 = answerText(one);
  assert.match(t1, /^Along width, hold `seed:lambda` \(λ_E = c; with 1 other, the same up to a fixed factor here\) fixed: its optimum moved \+0\.10 \[-0\.03, \+0\.23\] octaves per doubling of width \(95% interval, inside the ±0\.25 band/);
  assert.match(t1, /`per-weight:c` \(λ_E = c\/P\) moves \+1\.10 \[\+0\.97, \+1\.23\]: tying the coefficient to the number of decayed weights P does not transfer along width/);
  assert.match(t1, /leaves the validation error rate where the smallest one has it .*L2 changes calibration \(the cross-entropy\), not accuracy/);

  const unsure = answerFor(handAnalysis({ seedSlope: 0.1, perWeightSlope: 1.1, se: 0.7 }));
  assert.equal(unsure.verdict, 'undecided');
  assert.match(answerText(unsure), /^The data cannot yet say which convention transfers along width: `seed:lambda` .* moved \+0\.1 \[-1\.7, \+1\.9\].*`per-weight:c` .* moved \+1\.1 \[-0\.7, \+2\.9\]/);

  const none = answerFor(handAnalysis({ seedSlope: -1.5, perWeightSlope: -0.5, se: 0.1 }));
  assert.equal(none.verdict, 'moves');
  assert.match(answerText(none), /No convention tested holds the optimum fixed along width: every one moves, its 95% interval excluding 0\. The least movement is `per-weight:c`/);
  assert.match(answerText(none), /λ_E\* ∝ width\^\(-1\.5\), the fit of `seed:lambda`/);

  const categorical = handAnalysis({ seedSlope: 0, perWeightSlope: 0, se: 0.1 });
  const opt = answerFor({ ...categorical, axis: 'norm', movements: [], optima: categorical.optima.map((o, i) => ({ ...o, x: null, value: ['none', 'batchnorm', 'layernorm'][i], optimum: 4.39e-4 * 2 ** (2 * i) })) });
  assert.equal(opt.verdict, 'no-fit');
  assert.match(answerText(opt), /categorical.*norm none: λ_E = 4\.39e-4/);
  assert.match(answerText(opt), /norm layernorm: \+4\.0 octaves \[\+0\.7, \+7\.3\] from norm none \(different\)/);
  assert.match(answerText(opt), /norm batchnorm: \+2\.0 octaves \[-1\.3, \+5\.3\] from norm none \(not distinguishable\)/);
});

test('answers follow synthetic data: a law in λ_E, then a law in per-weight c', () => {
  const config = widthConfig();
  // λ_E* fixed across width: seed:lambda transfers; per-weight:c (λ_E = c/P) must move +1 per doubling.
  const fixed = analyze(syntheticResults(config, () => 1e-3))[0];
  const a1 = answerFor(fixed);
  assert.equal(a1.verdict, 'transfers', answerText(a1));
  assert.match(answerText(a1), /^Along width, hold `seed:lambda`/);
  assert.match(answerText(a1), /`per-weight:c` \(λ_E = c\/P; with 1 other, the same up to a fixed factor here\) moves \+1\.0\d? \[/);
  // λ_E* ∝ 1/width (c/P fixed): now per-weight:c transfers and seed:lambda moves −1 per doubling.
  const perWeight = analyze(syntheticResults(config, (w) => 1e-3 * (16 / w)))[0];
  const a2 = answerFor(perWeight);
  assert.equal(a2.verdict, 'transfers', answerText(a2));
  assert.match(answerText(a2), /^Along width, hold `per-weight:c`/);
  assert.match(answerText(a2), /`seed:lambda` \(λ_E = c; with \d+ others, the same up to a fixed factor here\) moves -(0\.9\d|1\.0\d) \[/);
  // The headline answers the asker's question from the same numbers.
  assert.match(plain(headline([fixed])[0]), /^Should λ be divided by the number of weights\? No: keep λ_E fixed as the network widens/);
  assert.match(plain(headline([perWeight])[0]), /^Should λ be divided by the number of weights\? Here, yes/);
  assert.match(plain(headline([fixed])[1]), /Why does Bengio scale weight decay with the number of minibatches\? .*weight B\/N.*λ_E = c\/N/);
});

test('csv: RFC 4180 quoting, numbers in full precision, and a round trip of every trial', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(' padded'), '" padded"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(1e-7), '1e-7');
  assert.equal(csvField(Infinity), 'inf');
  assert.equal(csvField([64, 64]), '"[64,64]"');
  assert.equal(csvRow(['x', 1, true]), 'x,1,true');
  // Formula injection: text a spreadsheet would evaluate is neutralized; numbers are not text.
  assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  assert.equal(csvField('+1'), "'+1");
  assert.equal(csvField('-cmd'), "'-cmd");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField(-0.5), '-0.5');

  const name = 'wide, "quoted"\nstudy';
  const config = { ...widthConfig(name, [16, 32]), base: { ...widthConfig().base, hidden: [64, 64] } };
  const results = syntheticResults(config, () => 1e-3);
  const rows = parseCsv(trialsCsv(results));
  const head = rows[0];
  assert.equal(rows.length, results.length + 1);
  assert.deepEqual(head.slice(0, 2), ['id', 'trial.study']);
  const col = (k: string) => head.indexOf(k);
  rows.slice(1).forEach((row, i) => {
    assert.equal(row.length, head.length);
    assert.equal(row[col('id')], results[i].id);
    assert.equal(row[col('trial.study')], name);
    assert.equal(row[col('trial.arch')], results[i].trial.arch);
    assert.equal(Number(row[col('final_val_ce')]), results[i].final_val_ce);
    assert.equal(Number(row[col('trial.coefficient')]), results[i].trial.coefficient);
  });

  const analysis = analyze(results)[0];
  const optima = parseCsv(optimaCsv([analysis]));
  const oh = optima[0];
  const seedRows = optima.slice(1).filter((r) => r[oh.indexOf('convention')] === 'seed');
  assert.equal(seedRows.length, 2);
  assert.equal(Number(seedRows[1][oh.indexOf('coefficient')]), analysis.optima[1].optimum);
  assert.equal(Number(seedRows[1][oh.indexOf('octaves_per_doubling')]), analysis.movements[0].slope);
  assert.equal(seedRows[0][oh.indexOf('study')], name);
  // per-weight:c is λ_E·P at each width.
  const pw = optima.slice(1).find((r) => r[oh.indexOf('convention')] === 'per-weight' && r[oh.indexOf('value')] === '32')!;
  assert.ok(Math.abs(Number(pw[oh.indexOf('coefficient')]) / (analysis.optima[1].optimum * analysis.optima[1].context.params!) - 1) < 1e-12);
});

test('plots: standalone SVG with namespace, title, legend and axis labels', () => {
  const analysis = analyze(syntheticResults(widthConfig(), () => 1e-3))[0];
  for (const svg of [curvePlot(analysis, 'metric'), curvePlot(analysis, 'error'), movementPlot(analysis)!]) {
    assert.match(svg, /^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const { document } = parseHTML(`<!DOCTYPE html><html><body>${svg}</body></html>`);
    const texts = [...document.querySelectorAll('text')].map((t) => t.textContent);
    assert.ok(texts.some((t) => t!.startsWith('width: ')), 'title');
    assert.ok(document.querySelectorAll('path, line, circle').length > 10, 'marks drawn');
  }
  const ce = curvePlot(analysis, 'metric');
  assert.ok(ce.includes('final validation CE (nats)') && ce.includes('log scale'));
  assert.ok(!/\+\d+ equivalent/.test(movementPlot(analysis)!), 'a legend never reads like a movement');
  for (const w of ['16', '32', '64', '128']) assert.ok(ce.includes(`>${w}</text>`), `legend entry ${w}`);
  assert.ok(movementPlot(analysis)!.includes('octaves'));
  assert.equal(movementPlot({ ...analysis, movements: [] }), null);
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ridgeline-report-'));
}

test('writeReport: unions shards by id, notes a torn line, writes four files atomically', async () => {
  const dir = await tempDir();
  try {
    const config = widthConfig('width', [16, 32, 64]);
    const results = syntheticResults(config, () => 1e-3);
    await writeStudyDir(dir, [config], []);
    const half = Math.ceil(results.length / 2);
    const lines = (rs: TrialResult[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await writeFile(join(dir, 'results.shard-1-of-2.jsonl'), lines(results.slice(0, half + 5))); // overlaps shard 2
    await writeFile(join(dir, 'results.shard-2-of-2.jsonl'), lines(results.slice(half)));
    await appendFile(join(dir, 'results.shard-2-of-2.jsonl'), '{"id":"torn');
    const r = await writeReport(dir, { now: new Date('2026-01-02T03:04:05Z') });
    assert.deepEqual(Object.values(r.paths).map((p) => p.slice(dir.length + 1)), ['report.html', 'report.md', 'optima.csv', 'trials.csv']);
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0], /results\.shard-2-of-2\.jsonl ends in a torn line/);
    assert.equal(r.answers.length, 1);
    assert.match(r.answers[0].text, /^Along width, hold `seed:lambda`/);
    const trials = parseCsv(await readFile(r.paths.trialsCsv, 'utf8'));
    assert.equal(trials.length - 1, results.length, 'every trial once');
    const html = await readFile(r.paths.html, 'utf8');
    assert.ok(html.includes(`${results.length} trials`) && html.includes('generated 2026-01-02T03:04:05Z') && html.includes(DATA_LABEL));
    assert.ok(html.includes('torn line'));
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeReport: a directory without study.json, or without results, is a user error', async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(writeReport(dir), (e: unknown) => e instanceof DataError && /not a study directory/.test(e.message));
    await writeStudyDir(dir, [widthConfig()], []);
    await writeFile(join(dir, 'results.jsonl'), '');
    await assert.rejects(writeReport(dir), (e: unknown) => e instanceof DataError && /no results yet/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
