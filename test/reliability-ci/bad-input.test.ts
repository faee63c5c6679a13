import { defineBadInputTests } from '../reliability/bad-input.js';

// Shortened scenario 4 (full: test/reliability/bad-input.test.ts, npm run test:reliability).
describe('reliability (CI): bad input', () => defineBadInputTests(100, 42));
