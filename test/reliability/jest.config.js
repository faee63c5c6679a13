// The full reliability runs (npm run test:reliability): the default config ignores this folder.
import base from '../../jest.config.js';

export default {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 4 * 3600 * 1000,
  maxWorkers: 1,
};
