// Writes jest's aggregated counts to .jest-summary.json so .ci/run can print
// its closing `tests: N passed, N failed` line from jest's own results.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suitesFailed: results.numFailedTestSuites,
      total: results.numTotalTests,
    };
    fs.writeFileSync(path.join(this.rootDir, '.jest-summary.json'), JSON.stringify(summary));
  }
}
module.exports = SummaryReporter;
