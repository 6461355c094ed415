import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../lib/flags.ts'
import { loadBrokerConfig } from './config.ts'

const base = ['--tls-cert-file=/c', '--tls-key-file=/k', '--cluster-name=c']
const podIdentity = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' }

describe('loadBrokerConfig: the broker identity', () => {
  for (const [what, env] of [
    ['IPv4', podIdentity],
    ['IPv6', { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://[fd00:ec2::23]:80/v1/credentials' }],
  ] as const) {
    it(`refuses EKS Pod Identity (${what}) as the broker identity, saying what to do`, () => {
      assert.throws(
        () => loadBrokerConfig(base, env),
        (e: Error) =>
          e instanceof ConfigError &&
          /EKS Pod Identity/.test(e.message) &&
          /STS would refuse every AssumeRole/.test(e.message) &&
          /--pod-identity-tags-disabled=true/.test(e.message),
      )
    })
  }

  it('without session tags the refusal says what the pods would inherit', () => {
    assert.throws(
      () => loadBrokerConfig([...base, '--session-tags=false'], podIdentity),
      /inherit the broker's own kubernetes-namespace/,
    )
  })

  it('starts when the operator says the association has session tags off, or on other identities', () => {
    assert.equal(
      loadBrokerConfig([...base, '--pod-identity-tags-disabled=true'], podIdentity)
        .podIdentityTagsDisabled,
      true,
    )
    // The ECS agent's address, IRSA, static keys: no transitive kubernetes-* tags.
    loadBrokerConfig(base, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/v2/x' })
    loadBrokerConfig(base, {
      AWS_WEB_IDENTITY_TOKEN_FILE: '/t',
      AWS_ROLE_ARN: 'arn:aws:iam::1:role/b',
    })
    loadBrokerConfig(base, {})
  })
})
