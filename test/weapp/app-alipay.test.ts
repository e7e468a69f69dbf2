/** The app suite (support/app-suite.ts) on the Alipay build: `taro build --type alipay`, run on `my`. */
import { appSuite } from './support/app-suite'

appSuite('alipay')
