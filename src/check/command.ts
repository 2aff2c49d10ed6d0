// `parley check <base-url>`: runs the suite, prints the table (or JSON), returns the exit code.
import { formatTable, toJson } from './report.js';
import { DEFAULT_MODEL, runCheck, selectScenarios, type CheckOptions } from './run.js';

export async function checkCommand(opts: CheckOptions & { json?: boolean }): Promise<number> {
  if (!selectScenarios(opts.filter).length) {
    console.error(`No scenario matches --filter ${JSON.stringify(opts.filter)}.`);
    return 2;
  }
  const results = await runCheck(opts);
  console.log(opts.json ? toJson(opts.baseURL, opts.model ?? DEFAULT_MODEL, results) : formatTable(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
