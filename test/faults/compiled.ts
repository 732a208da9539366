/**
 * The driver as compiled by `npm test`'s pretest step, for the suites that
 * run it as a real process (faults, fuzz, metrics). Kept as an async
 * function so those suites can start it beside their other set-up.
 */
import { builtMain } from '../support/built-main.js';

export async function compiledMain(): Promise<string> {
  return builtMain();
}
