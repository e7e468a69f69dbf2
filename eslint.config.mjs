import js from '@eslint/js'
import globals from 'globals'
import reactHooks from 'eslint-plugin-react-hooks'
import tseslint from 'typescript-eslint'

// Code under src/ and packages/client/src/ runs inside WeChat's JS engine: no Node built-ins there.
const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'net', 'http', 'https', 'child_process', 'events', 'stream', 'util', 'buffer', 'url', 'zlib', 'ws']

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-*/', 'packages/*/dist/', 'coverage/', 'data/', '.swc/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.es2021 },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}', 'packages/client/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'src/ runs on weapp: Node built-ins are not there.' })),
        patterns: [
          { group: ['node:*'], message: 'src/ runs on weapp: Node built-ins are not there.' },
          { group: ['**/packages/*'], message: 'The demo imports the layer by package name, as a user would.' },
        ],
      }],
    },
  },
  {
    files: ['packages/client/src/core/**/*.ts', 'packages/client/src/plain/**/*.ts'],
    rules: {
      // The engines are plain TypeScript: only taro/ (the platform adapter) and react/ may import Taro or React.
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, '@tarojs/taro', 'react'].map((name) => ({ name, message: 'The engine stays free of Node, Taro and React.' })),
        patterns: [
          { group: ['node:*'], message: 'The engine stays free of Node built-ins.' },
          { group: ['../taro/*', '../react/*'], message: 'The engine does not depend on its adapters.' },
        ],
      }],
    },
  },
  {
    files: ['packages/client/src/core/**/*.ts'],
    rules: {
      // A v1 build must not carry plain mode.
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, '@tarojs/taro', 'react'].map((name) => ({ name, message: 'The engine stays free of Node, Taro and React.' })),
        patterns: [
          { group: ['node:*'], message: 'The engine stays free of Node built-ins.' },
          { group: ['../taro/*', '../react/*', '../plain/*'], message: 'core/ does not depend on plain mode or the adapters.' },
        ],
      }],
    },
  },
  {
    files: ['server/**/*.ts', 'packages/server/**/*.ts', 'packages/*/scripts/*.mjs', 'scripts/*.mjs', 'test/**/*.{ts,tsx,js}', 'bench/**/*.ts', 'config/**/*.ts', '*.js', '*.mjs', '*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
  {
    files: ['*.js', 'test/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)
