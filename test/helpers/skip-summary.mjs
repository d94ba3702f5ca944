// A node:test reporter that writes one line at the end of the run: how many tests skipped for
// want of a Debian package, which packages, and the command that installs them
// (test/helpers/requires.ts gives such tests their reason). Silent when nothing skipped.
export default async function* skipSummary(source) {
  const needs = new Map();
  let other = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const skip = event.data.skip;
    if (skip === undefined || skip === false) continue;
    const m = /^needs ([a-z0-9., -]+?) \(/.exec(String(skip));
    if (!m) { other++; continue; }
    for (const pkg of m[1].split(', ')) needs.set(pkg, (needs.get(pkg) ?? 0) + 1);
  }
  const count = [...needs.values()].reduce((a, b) => a + b, 0);
  if (count > 0) {
    const list = [...needs].map(([p, n]) => `${p} (${n})`).join(', ');
    yield `# skipped for missing Debian packages: ${list}; install them with: apt-get install ${[...needs.keys()].join(' ')}\n`;
  }
  if (other > 0) yield `# skipped for other reasons: ${other}\n`;
}
