// Prints the last line CI reads: "N passed, N failed" (tests, counted by jest).
// Also writes it to $LAKEHOUSE_TEST_SUMMARY when set, so .ci/run can report it after cleanup.
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed`;
    if (process.env.LAKEHOUSE_TEST_SUMMARY) fs.writeFileSync(process.env.LAKEHOUSE_TEST_SUMMARY, `${line}\n`);
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
