/** The app suite (support/app-suite.ts) on the WeChat build: `taro build --type weapp`, run on `wx`. */
import { appSuite } from './support/app-suite'

appSuite('weapp')
