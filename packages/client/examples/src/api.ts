// Declare once what your server answers and pushes; every call is typed by it.
export interface Order {
  id: string
  title: string
  status: 'new' | 'confirmed'
}

export interface ShopApi {
  methods: {
    list: { params: { before?: string } | undefined; result: { list: Order[] } }
    'order.confirm': { params: { id: string }; result: { id: string; status: 'confirmed' } }
  }
  topics: {
    notify: { order: Order }
    'order.updated': { order: Order }
  }
}
