/** The app suite (support/app-suite.ts) on the ByteDance build: `taro build --type tt`, run on `tt`. */
import { appSuite } from './support/app-suite'

appSuite('tt')
