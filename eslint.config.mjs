import js from '@eslint/js'
import globals from 'globals'
import reactHooks from 'eslint-plugin-react-hooks'
import tseslint from 'typescript-eslint'

// Code under src/ runs inside WeChat's JS engine: no Node built-ins there.
const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'net', 'http', 'https', 'child_process', 'events', 'stream', 'util', 'buffer', 'url', 'zlib', 'ws']

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-*/', 'coverage/', 'data/', '.swc/', 'bench/out/'] },
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
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'src/ runs on weapp: Node built-ins are not there.' })),
        patterns: [{ group: ['node:*'], message: 'src/ runs on weapp: Node built-ins are not there.' }],
      }],
    },
  },
  {
    files: ['src/socket/**/*.ts'],
    ignores: ['src/socket/taro-platform.ts', 'src/socket/use-socket.ts', 'src/socket/page-handler.ts'],
    rules: {
      // The engine is plain TypeScript: only the Taro platform adapter and the React layer may import Taro or React.
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, '@tarojs/taro', 'react'].map((name) => ({ name, message: 'The engine stays free of Node, Taro and React.' })),
        patterns: [{ group: ['node:*'], message: 'The engine stays free of Node built-ins.' }],
      }],
    },
  },
  {
    files: ['server/**/*.ts', 'test/**/*.{ts,tsx,js}', 'bench/**/*.ts', 'config/**/*.ts', '*.js', '*.mjs', '*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
  {
    files: ['*.js', 'test/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)
