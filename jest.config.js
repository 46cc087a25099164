/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Examples import the package by name, as a user's script does; Node resolves it to dist/ itself.
  moduleNameMapper: { '^lonas$': '<rootDir>/index.ts' },
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
  testTimeout: 60000,
};
