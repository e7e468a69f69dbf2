// `npm run test:e2e`: the H5 build in headless Chromium against the real reference server.
// The global setup builds the app once per run; every test's server listens on the port baked
// into that build, so the files run one at a time (maxWorkers 1 runs them in band).
module.exports = {
  displayName: 'e2e',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  transform: { '^.+\\.[jt]sx?$': 'babel-jest' },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  globalSetup: '<rootDir>/test/e2e/global-setup.ts',
  globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 60000,
  slowTestThreshold: 20,
}
