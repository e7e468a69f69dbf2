// `npm run test:consumer`: both packages packed and used by a fresh Taro app outside this
// repository (test/consumer). Slow (an npm install and two builds), so apart from `npm test`.
const base = require('./jest.config.js')

const node = base.projects.find((project) => project.displayName === 'node')

module.exports = {
  ...node,
  displayName: 'consumer',
  testMatch: ['<rootDir>/test/consumer/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 900000,
}
