import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadInjectorConfig } from './config.ts'
import { podSettings, SETTING_ANNOTATIONS, SIDECAR_SETTING_FLAGS } from './sidecar-settings.ts'
import { SIDECAR_FLAGS } from '../sidecar/config.ts'

const defaults = loadInjectorConfig(['--tls-self-bootstrap'], {})

describe('podSettings', () => {
  it("keeps the injector's settings when the pod names none", () => {
    const r = podSettings(defaults, { 'iam-sidecar/inject': 'true' })
    assert.ok(r.ok)
    assert.deepEqual(r.overridden, [])
    assert.equal(r.settings.sidecarRefreshWindow, 30 * 60_000)
    assert.equal(r.settings.sidecarRunAsUser, 65532)
  })

  it('applies each annotation through the same parser as the flag', () => {
    const r = podSettings(defaults, {
      'iam-sidecar/log-level': 'debug',
      'iam-sidecar/refresh-window': ' 45m ',
      'iam-sidecar/run-as-user': 'none',
      'iam-sidecar/cpu-limit': '500m',
    })
    assert.ok(r.ok)
    assert.equal(r.settings.sidecarLogLevel, 'debug')
    assert.equal(r.settings.sidecarRefreshWindow, 45 * 60_000)
    assert.equal(r.settings.sidecarRunAsUser, undefined)
    assert.equal(r.settings.cpuLimit, '500m')
  })

  it('refuses what the sidecar would refuse at start, naming the annotation', () => {
    const bad: [string, string, RegExp][] = [
      ['iam-sidecar/refresh-window', '15m', /more than 15m/],
      ['iam-sidecar/upstream-timeout', '10', /duration/],
      ['iam-sidecar/log-level', 'trace', /one of/],
      ['iam-sidecar/port', '70000', /between/],
      ['iam-sidecar/health-port', '0', /between 1/],
      ['iam-sidecar/run-as-user', '-1', /UID/],
      ['iam-sidecar/memory-limit', '1 GiB', /must match/],
    ]
    for (const [key, value, why] of bad) {
      const r = podSettings(defaults, { [key]: value })
      assert.ok(!r.ok, key)
      assert.match(r.message, new RegExp(`^annotation ${key}: `))
      assert.match(r.message, why)
    }
  })

  it('refuses equal ports, and an overlong value without quoting it', () => {
    const same = podSettings(defaults, { 'iam-sidecar/health-port': '9911' })
    assert.ok(!same.ok)
    assert.match(same.message, /both 9911/)
    const long = podSettings(defaults, { 'iam-sidecar/log-level': 'x'.repeat(10_000) })
    assert.ok(!long.ok)
    assert.ok(long.message.length < 100, long.message)
  })

  it('has one annotation per setting, and reuses the sidecar flags', () => {
    assert.deepEqual(
      Object.keys(SETTING_ANNOTATIONS).sort(),
      Object.keys(SIDECAR_SETTING_FLAGS).sort(),
    )
    assert.equal(
      SIDECAR_SETTING_FLAGS.sidecarRefreshWindow.parse,
      SIDECAR_FLAGS.refreshWindow.parse,
    )
  })
})

describe('the injector flags', () => {
  it('refuse a sidecar port equal to its health port', () => {
    assert.throws(
      () => loadInjectorConfig(['--tls-self-bootstrap', '--sidecar-health-port=9911'], {}),
      /--sidecar-port and --sidecar-health-port must differ/,
    )
  })

  it('take the sidecar settings from IAM_SIDECAR_INJECTOR_SIDECAR_* too', () => {
    const c = loadInjectorConfig(['--tls-self-bootstrap'], {
      IAM_SIDECAR_INJECTOR_SIDECAR_LOG_LEVEL: 'warn',
      IAM_SIDECAR_INJECTOR_SIDECAR_RUN_AS_USER: 'none',
    })
    assert.equal(c.sidecarLogLevel, 'warn')
    assert.equal(c.sidecarRunAsUser, undefined)
  })
})
