export default definePageConfig({
  navigationBarTitleText: '实时通知',
})
