/**
 * Escaping for every output format of the report. Anything that came from a user (study
 * names, data labels, config values, convention ids read back from results) goes through one
 * of these before it lands in HTML, SVG, Markdown or CSV. Pure.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content and quoted attribute values (also valid in SVG/XML). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

/**
 * Text for a Markdown paragraph or table cell, escaped just enough that it cannot become
 * markup: emphasis, code, links, strikethrough and table pipes are backslash-escaped, `<`, `>`
 * and `&` become entities (GitHub renders inline HTML), a leading block marker (`#`, `- `,
 * `1. `) loses its meaning, and line breaks become spaces. An underscore inside a word (`λ_E`)
 * stays as it is: it cannot open emphasis there.
 */
export function escapeMarkdown(value: unknown): string {
  return String(value)
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*[\]|~]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, (ch) => `\\${ch}`)
    .replace(/[&<>]/g, (ch) => HTML_ESCAPES[ch])
    .replace(/^(\s*)([#+-]|\d+[.)])(?=\s|$)/, (_, space: string, marker: string) => `${space}${marker.replace(/[#+\-.)]$/, (c) => `\\${c}`)}`)
    .replace(/^(\s*)([=-])(?=[=-]*\s*$)/, '$1\\$2');
}

/**
 * A Markdown code span holding arbitrary text: the fence is one backtick longer than the
 * longest run inside, padded with a space when the text starts or ends with a backtick.
 * In a table cell (`inTable`), `|` still needs its backslash, even inside a code span.
 */
export function markdownCode(value: unknown, inTable = false): string {
  let text = String(value).replace(/\r\n|\r|\n/g, ' ');
  if (inTable) text = text.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break, or leading or
 * trailing space, with inner quotes doubled. null/undefined are empty; numbers are written in
 * full precision (Infinity and NaN as `inf`, `-inf`, `nan`, which pandas and R read).
 * A text field that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or
 * a carriage return: a study named `=HYPERLINK(…)`) gets a leading apostrophe, OWASP's
 * advice for CSV injection; numbers are never text here, so `-0.5` is unaffected.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  const raw = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record (no line terminator). */
export function csvRow(values: readonly unknown[]): string {
  return values.map(csvField).join(',');
}
