import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock, settle } from '../lib/fake-clock.ts'
import { createLogger } from '../lib/log.ts'
import { createSidecarApp } from './app.ts'
import { CredentialCache } from './credential-cache.ts'
import { UpstreamError } from './credential-source.ts'
import { FakeCredentialSource, fakeCredentials, type Scripted } from './fake-credential-source.ts'
import { secretMatcher } from './secret.ts'

const HOST = '127.0.0.1:9911'
const SECRET = 'pod-secret-value'
const quiet = createLogger({ level: 'error', component: 'test', write: () => {} })

async function makeApp(script: Scripted[], start = true) {
  const clock = new FakeClock()
  const cache = new CredentialCache({
    source: new FakeCredentialSource(script),
    clock,
    random: () => 0,
    refreshWindowMs: 30 * 60_000,
    log: quiet,
  })
  if (start) cache.start()
  await settle()
  const app = createSidecarApp({
    cache,
    checkSecret: secretMatcher(SECRET),
    expectedHost: HOST,
    coldWaitMs: 0,
    log: quiet,
  })
  const get = (
    path: string,
    headers: Record<string, string> = { host: HOST, authorization: SECRET },
    method = 'GET',
  ) => app.request(`http://${HOST}${path}`, { method, headers })
  return { app, get, clock }
}

async function expectError(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status)
  assert.equal(res.headers.get('content-type'), 'application/json')
  const body = (await res.json()) as { code: string; message: string }
  assert.equal(body.code, code)
  assert.ok(body.message.length > 0)
  assert.ok(!JSON.stringify(body).includes('fake-secret'), 'no credentials in an error body')
}

describe('sidecar endpoint', () => {
  it('serves the credentials body to a caller with the secret and loopback Host', async () => {
    const { get, clock } = await makeApp([fakeCredentials(1, Date.UTC(2026, 0, 1) + 3_600_000)])
    const res = await get('/v1/credentials')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/json')
    const body = (await res.json()) as Record<string, string>
    assert.deepEqual(Object.keys(body).sort(), [
      'AccessKeyId',
      'AccountId',
      'Expiration',
      'RoleArn',
      'SecretAccessKey',
      'Token',
    ])
    assert.equal(body.Expiration, '2026-01-01T01:00:00Z')
    assert.equal(body.AccountId, '123456789012')
    void clock
  })

  it('refuses a missing or wrong secret with 401 and never returns credentials', async () => {
    const { get } = await makeApp([fakeCredentials(1, Date.UTC(2026, 0, 1) + 3_600_000)])
    await expectError(await get('/v1/credentials', { host: HOST }), 401, 'MissingAuthorization')
    await expectError(
      await get('/v1/credentials', { host: HOST, authorization: 'wrong' }),
      401,
      'InvalidAuthorization',
    )
    await expectError(
      await get('/v1/credentials', { host: HOST, authorization: `Bearer ${SECRET}` }),
      401,
      'InvalidAuthorization',
    )
  })

  it('refuses any Host but 127.0.0.1:<port> (DNS rebinding, SSRF)', async () => {
    const { get } = await makeApp([fakeCredentials(1, Date.UTC(2026, 0, 1) + 3_600_000)])
    for (const host of [
      'localhost:9911',
      'evil.example',
      '127.0.0.1',
      '127.0.0.1:80',
      '169.254.170.2',
    ]) {
      await expectError(
        await get('/v1/credentials', { host, authorization: SECRET }),
        403,
        'InvalidHost',
      )
    }
  })

  it('answers other methods with 405 and other paths with 404, as JSON', async () => {
    const { get } = await makeApp([fakeCredentials(1, Date.UTC(2026, 0, 1) + 3_600_000)])
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      await expectError(await get('/v1/credentials', undefined, method), 405, 'MethodNotAllowed')
    }
    for (const path of [
      '/',
      '/v1/credentials/',
      '/v1//credentials',
      '/v2/credentials/x',
      '/v1/credentials/../credentials/x',
      '/latest/meta-data/iam/security-credentials/',
    ]) {
      await expectError(await get(path), 404, 'NotFound')
    }
  })

  it('answers 503 JSON before the first credentials and 403 with the reason after a denial', async () => {
    const { get: cold } = await makeApp([], false)
    await expectError(await cold('/v1/credentials'), 503, 'CredentialsNotReady')
    await expectError(await cold('/readyz', {}), 503, 'CredentialsNotReady')
    assert.equal((await cold('/healthz', {})).status, 200)
    const { get: denied } = await makeApp([
      new UpstreamError('denied', 'RoleNotPermitted', 'role r is not permitted in namespace n'),
    ])
    const res = await denied('/v1/credentials')
    assert.equal(res.status, 403)
    assert.deepEqual(await res.json(), {
      code: 'RoleNotPermitted',
      message: 'role r is not permitted in namespace n',
    })
  })

  it('reports ready once credentials were obtained', async () => {
    const { get } = await makeApp([fakeCredentials(1, Date.UTC(2026, 0, 1) + 3_600_000)])
    assert.equal((await get('/readyz', {})).status, 200)
  })
})
