import { act, render, screen } from '@testing-library/react'
import { useState } from 'react'
import { pageLifecycle, TestPage } from '../mocks/taro'
import { createFakeEngine, flushMicrotasks, type FakeEngine } from '../helpers/fake-platform'
import { createSocketHooks, type UseSocketResult } from '../../packages/client/src/react/use-socket'
import type { PageMessage } from '../../packages/client/src/react/page-router'
import type { SocketState } from '../../packages/client/src/core/types'

let fake: FakeEngine

// The hooks read the engine through this getter on every render, as an app's lazy engine is.
const { useSocket, useSocketState } = createSocketHooks(() => fake.engine)

beforeEach(() => {
  fake = createFakeEngine()
})

afterEach(() => {
  fake.engine.destroy()
  pageLifecycle.reset()
})

function Page({ name, log }: { name: string; log: string[] }) {
  useSocket((message) => {
    if (message.kind === 'push') log.push(`${name}:${message.topic}:${message.seq}`)
  })
  return null
}

async function connect(): Promise<void> {
  await act(async () => {
    fake.engine.connect()
    await fake.openCurrent({ sid: 'S1' })
  })
}

async function push(seq: number, topic = 'notify'): Promise<void> {
  await act(async () => {
    fake.platform.lastTask.receive({ type: 'push', seq, topic, data: { n: seq } })
    await flushMicrotasks()
  })
}

describe('useSocket routes pushes to the shown page', () => {
  it('delivers to the page that is shown, re-bound on show, released on hide and unmount', async () => {
    const log: string[] = []
    const view = render(<TestPage name='index'><Page name='index' log={log} /></TestPage>)
    await connect()
    await push(1)

    // navigateTo: the dashboard hides, the notices page mounts and shows.
    act(() => pageLifecycle.hide('index'))
    view.rerender(
      <>
        <TestPage name='index'><Page name='index' log={log} /></TestPage>
        <TestPage name='notices'><Page name='notices' log={log} /></TestPage>
      </>,
    )
    act(() => pageLifecycle.show('notices'))
    await push(2)

    // navigateBack: notices unloads, the dashboard shows again.
    view.rerender(<TestPage name='index'><Page name='index' log={log} /></TestPage>)
    act(() => pageLifecycle.show('index'))
    await push(3)

    expect(log).toEqual(['index:notify:1', 'notices:notify:2', 'index:notify:3'])
  })

  it('ignores a late hide of the previous page', async () => {
    const log: string[] = []
    render(
      <>
        <TestPage name='a'><Page name='a' log={log} /></TestPage>
        <TestPage name='b'><Page name='b' log={log} /></TestPage>
      </>,
    )
    await connect()
    act(() => pageLifecycle.show('b'))
    // The previous page's onHide arrives after the new page's onShow.
    act(() => pageLifecycle.hide('a'))
    await push(1)
    expect(log).toEqual(['b:notify:1'])
  })

  it('delivers to every handler of the shown page: a badge in a component does not take the page\'s place', async () => {
    const log: string[] = []
    function Badge({ log: into }: { log: string[] }) {
      useSocket((message) => {
        if (message.kind === 'push') into.push(`badge:${message.seq}`)
      })
      return null
    }
    const view = render(
      <TestPage name='index'>
        <Page name='index' log={log} />
        <Badge log={log} />
      </TestPage>,
    )
    await connect()
    await push(1)
    // The badge unmounts on its own: only its binding goes.
    view.rerender(<TestPage name='index'><Page name='index' log={log} /></TestPage>)
    await push(2)
    // Both back, then the page hides: neither receives.
    view.rerender(
      <TestPage name='index'>
        <Page name='index' log={log} />
        <Badge log={log} />
      </TestPage>,
    )
    await push(3)
    act(() => pageLifecycle.hide('index'))
    await push(4)
    act(() => pageLifecycle.show('index'))
    await push(5)
    expect(log).toEqual(['index:notify:1', 'badge:1', 'index:notify:2', 'index:notify:3', 'badge:3', 'index:notify:5', 'badge:5'])
  })

  it('always calls the latest closure of the handler', async () => {
    const seen: string[] = []
    let setLabel: (label: string) => void = () => undefined
    function Labelled() {
      const [label, set] = useState('first')
      setLabel = set
      useSocket((message: PageMessage) => {
        if (message.kind === 'push') seen.push(`${label}:${message.seq}`)
      })
      return null
    }
    render(<TestPage name='page'><Labelled /></TestPage>)
    await connect()
    await push(1)
    act(() => setLabel('second'))
    await push(2)
    expect(seen).toEqual(['first:1', 'second:2'])
  })

  it('keeps delivering after a page handler throws, and reports it', async () => {
    const errors: unknown[] = []
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      if (args[0] === '[socket] a page message handler threw') errors.push(args[1])
    })
    let calls = 0
    function Throwing() {
      useSocket(() => {
        calls += 1
        throw new Error('page bug')
      })
      return null
    }
    render(<TestPage name='page'><Throwing /></TestPage>)
    await connect()
    await push(1)
    await push(2)
    expect(calls).toBe(2)
    expect(errors).toEqual([new Error('page bug'), new Error('page bug')])
    spy.mockRestore()
  })
})

describe('useSocket state and identities', () => {
  it('shows status and pending, and keeps function identities stable', async () => {
    const results: UseSocketResult[] = []
    function Probe() {
      const result = useSocket()
      results.push(result)
      return <span id='probe'>{`${result.status}/${result.pending}/${result.readyState}`}</span>
    }
    render(<TestPage name='page'><Probe /></TestPage>)
    expect(screen.getByText('connecting/0/-1')).toBeTruthy()

    act(() => {
      results[results.length - 1].send('echo', { n: 1 })
    })
    expect(screen.getByText('connecting/1/-1')).toBeTruthy()
    await connect()
    expect(screen.getByText(/^open\/1\/1$/)).toBeTruthy()

    const first = results[0]
    const last = results[results.length - 1]
    expect(last.send).toBe(first.send)
    expect(last.request).toBe(first.request)
    expect(last.subscribe).toBe(first.subscribe)
  })

  it('does not re-render a component that reads only status when pushes arrive', async () => {
    let renders = 0
    function StatusOnly() {
      renders += 1
      const status = useSocketState((state: SocketState) => state.status)
      return <span>{status}</span>
    }
    render(<TestPage name='page'><StatusOnly /></TestPage>)
    await connect()
    const before = renders
    for (let seq = 1; seq <= 50; seq++) await push(seq)
    expect(fake.engine.counters().pushesDelivered).toBe(50)
    expect(renders - before).toBe(0)
  })
})
