// `npm test`: everything that needs only Node (unit, property, integration against real
// sockets, the reference server's conformance and load tests, the compiled weapp harness).
// The headless-Chromium suite has its own config (jest.e2e.config.js).
const shared = {
  transform: { '^.+\\.[jt]sx?$': 'babel-jest' },
  // jose ships ES modules only: it is compiled like the sources.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: {
    '^@tarojs/taro$': '<rootDir>/test/mocks/taro.ts',
    '^@/(.*)$': '<rootDir>/src/$1',
    // The packages by name, from their sources (as tsconfig.json's paths and the Taro build do).
    '^taro-reliable-socket$': '<rootDir>/packages/client/src/index.ts',
    '^taro-reliable-socket/(plain|taro|react)$': '<rootDir>/packages/client/src/$1/index.ts',
    '^reliable-socket-server$': '<rootDir>/packages/server/src/index.ts',
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
}

module.exports = {
  testTimeout: 30000,
  projects: [
    {
      ...shared,
      displayName: 'node',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/react/', '<rootDir>/test/consumer/'],
    },
    {
      ...shared,
      displayName: 'react',
      testEnvironment: 'jsdom',
      testMatch: ['<rootDir>/test/react/**/*.test.{ts,tsx}'],
      moduleNameMapper: {
        ...shared.moduleNameMapper,
        '^@tarojs/components$': '<rootDir>/test/mocks/taro-components.tsx',
        '\\.(scss|css)$': '<rootDir>/test/mocks/style.ts',
      },
    },
  ],
}
