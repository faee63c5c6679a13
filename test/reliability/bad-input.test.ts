import { defineBadInputTests } from './bad-input.js';
import { intFromEnv } from './harness.js';

// Full scenario 4. RELIABILITY_FUZZ_RUNS (5000 per property), RELIABILITY_SEED (1).
const runs = intFromEnv('RELIABILITY_FUZZ_RUNS', 5000);
describe(`reliability: bad input (${runs} runs per property)`, () =>
  defineBadInputTests(runs, intFromEnv('RELIABILITY_SEED', 1)));
