/**
 * Who a client is. The server turns `hello.token` into an identity with one function,
 * `Authenticate`, or refuses it (4401). Two are built in: a static development token (identity
 * `dev`) and HS256 JWTs whose `sub` is the identity (`jose`; `exp` honoured, nothing but HS256
 * accepted, so `alg: none` and forged signatures are refused). A WeChat login plugs in the same
 * way: the app calls `wx.login`, its backend exchanges the code for the user's openid
 * (`jscode2session`) and signs a JWT with `sub: openid`, and the app sends that JWT as its token.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { SignJWT, jwtVerify } from 'jose'
import { isStorableName } from './protocol'

/** What is known about a connection when its hello is authenticated. */
export interface AuthContext {
  /** The peer's address (IP), as the server saw it. */
  address: string
}

/**
 * Turns a hello's token into an identity (a user id of 1..128 characters), or throws
 * AuthRefused (any other throw is answered 4401 too, and logged).
 */
export type Authenticate = (token: string | undefined, context: AuthContext) => string | Promise<string>

/** A refused token; `message` says why (it is sent to the client in the `error` frame). */
export class AuthRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthRefused'
  }
}

/** The identity of the development token. */
export const DEV_IDENTITY = 'dev'
export const MAX_IDENTITY_LENGTH = 128

/** Accepts exactly `token` (compared in constant time) as the identity `dev`. */
export function staticTokenAuth(token: string, identity = DEV_IDENTITY): Authenticate {
  return (presented) => {
    if (presented === undefined) throw new AuthRefused('hello.token is missing')
    if (!secretMatches(token, presented)) throw new AuthRefused('hello.token is not valid')
    return identity
  }
}

/** Accepts HS256 JWTs signed with `secret` whose `sub` is the identity; `exp` is honoured. */
export function jwtAuth(secret: string): Authenticate {
  const key = new TextEncoder().encode(secret)
  return async (presented) => {
    if (presented === undefined) throw new AuthRefused('hello.token is missing')
    let sub: unknown
    try {
      const { payload } = await jwtVerify(presented, key, { algorithms: ['HS256'] })
      sub = payload.sub
    } catch (error) {
      throw new AuthRefused(`hello.token is not a valid signed token: ${(error as { code?: string }).code ?? 'invalid'}`)
    }
    if (!isStorableName(sub, MAX_IDENTITY_LENGTH)) {
      throw new AuthRefused(`the token's sub must be a user id of 1..${MAX_IDENTITY_LENGTH} characters (well-formed UTF-16)`)
    }
    return sub
  }
}

/** Signs an HS256 JWT for `identity`, valid for `ttlSeconds` (the development login route, tests). */
export function signToken(secret: string, identity: string, ttlSeconds = 24 * 3600): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(identity).setIssuedAt().setExpirationTime(`${ttlSeconds}s`).sign(new TextEncoder().encode(secret))
}

/**
 * Compares a presented secret with the expected one in constant time (both are hashed first, so
 * neither length nor content leaks through timing). Returns false when `presented` is missing.
 */
export function secretMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false
  return timingSafeEqual(digest(expected), digest(presented))
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer +(\S+) *$/i.exec(header)
  return match ? match[1] : undefined
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
