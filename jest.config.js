/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Examples import the package by name, as a user's script does; Node resolves it to dist/ itself.
  moduleNameMapper: { '^lonas$': '<rootDir>/index.ts' },
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
  // Two test files at a time: the long ones (the demo, the distributed search) mostly wait on child
  // processes, so the suite takes about two thirds of its serial time on two cores. A test's limit
  // leaves room for a machine that is busier than usual.
  maxWorkers: 2,
  testTimeout: 120000,
};
