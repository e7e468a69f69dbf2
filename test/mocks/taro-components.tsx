/**
 * `@tarojs/components` as plain DOM elements for jsdom tests: the real ones are web
 * components that need Taro's H5 runtime.
 */
import { createElement, type ReactNode } from 'react'

interface Props {
  id?: string
  className?: string
  children?: ReactNode
  onClick?: () => void
  disabled?: boolean
  [key: string]: unknown
}

function element(tag: string) {
  return function TaroElement({ id, className, children, onClick, disabled }: Props) {
    return createElement(tag, { id, className, onClick, disabled }, children)
  }
}

export const View = element('div')
export const Text = element('span')
export const Button = element('button')
