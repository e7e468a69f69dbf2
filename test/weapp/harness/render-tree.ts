/**
 * Reads Taro's render tree (the page's `data.root`): elements carry `nn` (node name), `cn`
 * (children), `uid` (the `id` prop, else the same as `sid`), `sid` (Taro's element id) and
 * text nodes carry `v`.
 */

export interface RenderNode {
  nn?: string | number
  cn?: RenderNode[]
  v?: string
  uid?: string
  sid?: string
  [key: string]: unknown
}

/** The node whose `uid` is `id` (depth first), or null. */
export function findById(root: RenderNode | undefined, id: string): RenderNode | null {
  if (!root) return null
  if (root.uid === id) return root
  for (const child of root.cn ?? []) {
    const found = findById(child, id)
    if (found) return found
  }
  return null
}

/** Every node whose `uid` passes `test`, in document order. */
export function findAll(root: RenderNode | undefined, test: (uid: string) => boolean): RenderNode[] {
  const found: RenderNode[] = []
  const visit = (node: RenderNode) => {
    if (typeof node.uid === 'string' && test(node.uid)) found.push(node)
    for (const child of node.cn ?? []) visit(child)
  }
  if (root) visit(root)
  return found
}

/** Like DOM `textContent`: every text node under `node`, concatenated. */
export function textContent(node: RenderNode | null | undefined): string {
  if (!node) return ''
  if (typeof node.v === 'string') return node.v
  return (node.cn ?? []).map(textContent).join('')
}

/**
 * The whole tree as readable text: one line per element that holds text directly, in
 * document order, prefixed with `#id` when the element has an id of its own.
 */
export function treeText(root: RenderNode | undefined): string {
  const lines: string[] = []
  const visit = (node: RenderNode) => {
    const children = node.cn ?? []
    const ownText = children.filter((child) => typeof child.v === 'string').map((child) => child.v).join('')
    if (ownText.trim() !== '') {
      const label = node.uid && node.uid !== node.sid ? `#${node.uid} ` : ''
      lines.push(`${label}${ownText.trim()}`)
    }
    for (const child of children) {
      if (typeof child.v !== 'string') visit(child)
    }
  }
  if (root) visit(root)
  return lines.join('\n')
}
