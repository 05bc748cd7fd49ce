/**
 * Unit tests (pure code) and integration tests (real RabbitMQ, PostgreSQL, Python Celery) in one
 * run. test/serial changes broker-wide settings, so the `test` script runs it alone afterwards.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  testTimeout: 30000,
  maxWorkers: 2,
};
