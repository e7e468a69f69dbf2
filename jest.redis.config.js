// `npm run test:redis` (also part of `npm test`'s CI run): the reference server's suites again,
// with every server in cluster mode on one real redis-server that globalSetup starts.
const base = require('./jest.config.js')

const node = base.projects.find((project) => project.displayName === 'node')

module.exports = {
  testTimeout: base.testTimeout,
  globalSetup: '<rootDir>/test/redis-mode/global-setup.ts',
  globalTeardown: '<rootDir>/test/redis-mode/global-teardown.ts',
  projects: [
    {
      ...node,
      displayName: 'redis',
      testMatch: [
        '<rootDir>/test/server/conformance-*.test.ts',
        '<rootDir>/test/server/identity.test.ts',
        '<rootDir>/test/server/liveness.test.ts',
      ],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
}
