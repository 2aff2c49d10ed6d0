// The check's output: an aligned table with a summary line, or JSON for machines.
import type { CheckResult } from './types.js';

const MAX_NOTE = 150;

export function formatTable(results: CheckResult[]): string {
  const rows = [
    ['scenario', 'result', 'time', 'first rule broken / note'],
    ...results.map((r) => [r.name, r.ok ? 'pass' : 'FAIL', `${r.ms} ms`, clip((r.ok ? r.note : r.rule) ?? '')]),
  ];
  const widths = rows[0].slice(0, -1).map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, col) => (col === 2 ? cell.padStart(widths[col]) : col < widths.length ? cell.padEnd(widths[col]) : cell))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).concat('-'.repeat(24)).join('  '));
  return `${lines.join('\n')}\n\n${summary(results)}`;
}

export function summary(results: CheckResult[]): string {
  const passed = results.filter((r) => r.ok).length;
  return `${passed} passed, ${results.length - passed} failed`;
}

export function toJson(baseURL: string, model: string, results: CheckResult[]): string {
  const passed = results.filter((r) => r.ok).length;
  return JSON.stringify({ base_url: baseURL, model, passed, failed: results.length - passed, results }, null, 2);
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > MAX_NOTE ? `${line.slice(0, MAX_NOTE - 1)}…` : line;
}
