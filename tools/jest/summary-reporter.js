const fs = require('fs');

/**
 * Ends a jest run with the plain line CI reads: "N passed, N failed[, N skipped]".
 * It is written as the process exits, so it stays the last line after jest's own summary.
 * A test file that fails to load has no test results of its own, so it counts as one failure.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
    process.once('exit', () => fs.writeSync(1, `${line}\n`));
  }
}
module.exports = SummaryReporter;
