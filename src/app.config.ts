export default defineAppConfig({
  pages: ['pages/index/index', 'pages/notices/index'],
  window: {
    backgroundTextStyle: 'light',
    navigationBarBackgroundColor: '#ffffff',
    navigationBarTitleText: '订单看板',
    navigationBarTextStyle: 'black',
    backgroundColor: '#f5f6f8',
  },
})
