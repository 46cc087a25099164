const fs = require('fs');

/** A skipped block's title ends with why: "name (skipped: reason)" (test/support/describe-unless.ts). */
const SKIPPED = /^(.*) \(skipped: (.*)\)$/;

/**
 * Ends a jest run with the plain line CI reads: "N passed, N failed[, N skipped]", after one line
 * per skipped block saying why it was skipped. They are written as the process exits, so the
 * count stays the last line after jest's own summary.
 * A test file that fails to load has no test results of its own, so it counts as one failure.
 */
class SummaryReporter {
  constructor() {
    this.skippedBlocks = new Set();
  }

  onTestResult(_test, result) {
    for (const test of result.testResults) {
      if (test.status !== 'pending') continue;
      for (const title of test.ancestorTitles) {
        const match = SKIPPED.exec(title);
        if (match !== null) this.skippedBlocks.add(`skipped '${match[1]}': ${match[2]}`);
      }
    }
  }

  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
    const lines = [...[...this.skippedBlocks].sort(), line];
    process.once('exit', () => fs.writeSync(1, `${lines.join('\n')}\n`));
  }
}
module.exports = SummaryReporter;
