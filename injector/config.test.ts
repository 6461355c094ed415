// The injector's webhook CA flags: defaults, and a validity too short for its check interval
// refused with both flags named.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadInjectorConfig } from './config.ts'

describe('webhook CA flags', () => {
  it('default to one shared CA a year, checked every ten minutes', () => {
    const cfg = loadInjectorConfig(['--tls-self-bootstrap'], {})
    assert.equal(cfg.webhookCaSecret, 'iam-sidecar-webhook-ca')
    assert.equal(cfg.webhookCaValidity, 8760 * 3_600_000)
    assert.equal(cfg.webhookCaCheckInterval, 600_000)
  })

  it('refuses a validity under nine check intervals, naming both flags', () => {
    assert.ok(
      loadInjectorConfig(
        ['--tls-self-bootstrap', '--webhook-ca-validity=90m', '--webhook-ca-check-interval=10m'],
        {},
      ),
    )
    assert.throws(
      () =>
        loadInjectorConfig(
          ['--tls-self-bootstrap', '--webhook-ca-validity=89m', '--webhook-ca-check-interval=10m'],
          {},
        ),
      /^ConfigError: --webhook-ca-validity \(1h29m\) and --webhook-ca-check-interval \(10m\): the CA validity must be at least 9 times the check interval$/,
    )
  })

  it('refuses a Secret name Kubernetes would refuse', () => {
    assert.throws(
      () => loadInjectorConfig(['--tls-self-bootstrap', '--webhook-ca-secret=Webhook_CA'], {}),
      /--webhook-ca-secret/,
    )
  })
})
