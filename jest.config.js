/**
 * Unit tests (pure code) and integration tests (real RabbitMQ, PostgreSQL, Python Celery) in one
 * run. test/serial changes broker-wide settings, so the `test` script runs it alone afterwards,
 * then the specs that run a Python peer once more against Celery 5.6 (test/support/python-peer-specs.js).
 */
module.exports = {
  // The second pass of `npm test` (CELERY_PEER=5.6, test/support/celery-peer.ts) tags every result with the Celery it ran against.
  ...(process.env.CELERY_PEER ? { displayName: `celery-${process.env.CELERY_PEER}` } : {}),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  testTimeout: 30000,
  maxWorkers: 2,
};
