export default definePageConfig({
  navigationBarTitleText: '订单看板',
})
