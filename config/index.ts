import path from 'node:path'
import { defineConfig, type UserConfigExport } from '@tarojs/cli'
import TsconfigPathsPlugin from 'tsconfig-paths-webpack-plugin'
import devConfig from './dev'
import prodConfig from './prod'
import { buildTimeSettings } from './settings'

// The demo imports the layer by package name; tsconfig's paths point the name at the package's
// sources, which Taro compiles only when told to (it compiles src/ and node_modules/*taro*).
const LAYER_SOURCES = path.resolve(__dirname, '../packages/client/src')

/** weapp keeps `dist` (project.config.json points WeChat DevTools there); every other host has its own. */
function outputRootOf(platform: string | undefined): string {
  return platform === undefined || platform === 'weapp' ? 'dist' : `dist-${platform}`
}

export default defineConfig<'webpack5'>(async (merge) => {
  const platform = process.env.TARO_ENV
  const baseConfig: UserConfigExport<'webpack5'> = {
    projectName: 'taro-reliable-socket',
    date: '2026-11-25',
    designWidth: 750,
    deviceRatio: {
      640: 2.34 / 2,
      750: 1,
      375: 2,
      828: 1.81 / 2,
    },
    sourceRoot: 'src',
    // Separate roots keep the builds side by side; TARO_OUTPUT_ROOT lets tests build elsewhere.
    outputRoot: process.env.TARO_OUTPUT_ROOT || outputRootOf(platform),
    plugins: [],
    // Taro reads TARO_APP_* from .env files only; passing them here lets the shell win.
    defineConstants: buildTimeSettings(process.env),
    copy: { patterns: [], options: {} },
    framework: 'react',
    compiler: 'webpack5',
    cache: { enable: false },
    mini: {
      compile: { include: [LAYER_SOURCES] },
      postcss: {
        pxtransform: { enable: true, config: {} },
        cssModules: { enable: false, config: { namingPattern: 'module', generateScopedName: '[name]__[local]___[hash:base64:5]' } },
      },
      webpackChain(chain) {
        chain.resolve.plugin('tsconfig-paths').use(TsconfigPathsPlugin)
      },
    },
    h5: {
      compile: { include: [LAYER_SOURCES] },
      publicPath: '/',
      staticDirectory: 'static',
      output: {
        filename: 'js/[name].[contenthash:8].js',
        chunkFilename: 'js/[name].[contenthash:8].js',
      },
      miniCssExtractPluginOption: {
        ignoreOrder: true,
        filename: 'css/[name].[contenthash:8].css',
        chunkFilename: 'css/[name].[contenthash:8].css',
      },
      postcss: {
        autoprefixer: { enable: true, config: {} },
        cssModules: { enable: false, config: { namingPattern: 'module', generateScopedName: '[name]__[local]___[hash:base64:5]' } },
      },
      webpackChain(chain) {
        chain.resolve.plugin('tsconfig-paths').use(TsconfigPathsPlugin)
        chain.performance.hints(false)
      },
    },
  }
  if (process.env.NODE_ENV === 'development') {
    return merge({}, baseConfig, devConfig)
  }
  return merge({}, baseConfig, prodConfig)
})
