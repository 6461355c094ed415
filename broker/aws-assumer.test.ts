import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { STSServiceException } from '@aws-sdk/client-sts'
import { ExpiredTokenException, MalformedPolicyDocumentException } from '@aws-sdk/client-sts'
import { accountOf, toStsError } from './aws-assumer.ts'
import { StsError, type StsFailureKind } from './sts.ts'

/** An error shaped like the SDK's service exceptions (awsQuery: `Code` is the wire code). */
function sdkError(o: {
  name: string
  code?: string
  status?: number
  fault?: 'client' | 'server'
}) {
  return Object.assign(new Error(`${o.name} happened`), {
    name: o.name,
    ...(o.code !== undefined ? { Code: o.code } : {}),
    $fault: o.fault ?? ((o.status ?? 400) >= 500 ? 'server' : 'client'),
    $metadata: { httpStatusCode: o.status ?? 400, requestId: 'req-1', attempts: 1 },
  })
}

/** A Node system error, as the HTTP handler rejects with. */
function netError(code: string, name = 'Error') {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, name })
}

const ROLE = 'AssumeRole of arn:aws:iam::123456789012:role/x'

describe('toStsError', () => {
  const table: [label: string, err: unknown, kind: StsFailureKind, code: string][] = [
    [
      'Throttling (400)',
      sdkError({ name: 'Throttling', code: 'Throttling' }),
      'throttled',
      'Throttling',
    ],
    [
      'ThrottlingException',
      sdkError({ name: 'ThrottlingException' }),
      'throttled',
      'ThrottlingException',
    ],
    [
      'RequestLimitExceeded',
      sdkError({ name: 'RequestLimitExceeded' }),
      'throttled',
      'RequestLimitExceeded',
    ],
    [
      'TooManyRequestsException',
      sdkError({ name: 'TooManyRequestsException' }),
      'throttled',
      'TooManyRequestsException',
    ],
    [
      'HTTP 429, unknown code',
      sdkError({ name: 'Whatever', status: 429 }),
      'throttled',
      'Whatever',
    ],
    [
      'HTTP 500',
      sdkError({ name: 'InternalFailure', status: 500 }),
      'transient',
      'InternalFailure',
    ],
    ['HTTP 503 without a code', sdkError({ name: 'Unknown', status: 503 }), 'transient', 'Unknown'],
    ['ECONNREFUSED', netError('ECONNREFUSED'), 'transient', 'ECONNREFUSED'],
    ['ECONNRESET', netError('ECONNRESET'), 'transient', 'ECONNRESET'],
    ['ETIMEDOUT', netError('ETIMEDOUT'), 'transient', 'ETIMEDOUT'],
    ['request timeout', netError('ETIMEDOUT', 'TimeoutError'), 'transient', 'TimeoutError'],
    [
      'AbortError',
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
      'transient',
      'AbortError',
    ],
    [
      'IDPCommunicationError',
      sdkError({ name: 'IDPCommunicationErrorException', code: 'IDPCommunicationError' }),
      'transient',
      'IDPCommunicationError',
    ],
    [
      'broker ExpiredToken',
      sdkError({ name: 'ExpiredTokenException', code: 'ExpiredTokenException' }),
      'identity',
      'ExpiredTokenException',
    ],
    [
      'clock skew',
      sdkError({ name: 'SignatureDoesNotMatch', status: 403 }),
      'transient',
      'SignatureDoesNotMatch',
    ],
    [
      'AccessDenied',
      sdkError({ name: 'AccessDenied', code: 'AccessDenied', status: 403 }),
      'denied',
      'AccessDenied',
    ],
    [
      'AccessDeniedException',
      sdkError({ name: 'AccessDeniedException', status: 403 }),
      'denied',
      'AccessDeniedException',
    ],
    [
      'RegionDisabledException',
      sdkError({ name: 'RegionDisabledException', status: 403 }),
      'identity',
      'RegionDisabledException',
    ],
    [
      'InvalidClientTokenId',
      sdkError({ name: 'InvalidClientTokenId', status: 403 }),
      'identity',
      'InvalidClientTokenId',
    ],
    [
      'MalformedPolicyDocument',
      sdkError({ name: 'MalformedPolicyDocumentException', code: 'MalformedPolicyDocument' }),
      'invalid',
      'MalformedPolicyDocument',
    ],
    [
      'PackedPolicyTooLarge',
      sdkError({ name: 'PackedPolicyTooLargeException', code: 'PackedPolicyTooLarge' }),
      'invalid',
      'PackedPolicyTooLarge',
    ],
    ['ValidationError', sdkError({ name: 'ValidationError' }), 'invalid', 'ValidationError'],
    [
      'InvalidParameterValue',
      sdkError({ name: 'InvalidParameterValue' }),
      'invalid',
      'InvalidParameterValue',
    ],
    [
      'InvalidParameterCombination',
      sdkError({ name: 'InvalidParameterCombination' }),
      'invalid',
      'InvalidParameterCombination',
    ],
    ['unknown 4xx', sdkError({ name: 'SomethingNew', status: 400 }), 'transient', 'SomethingNew'],
    ['plain Error', new Error('boom'), 'transient', 'Unknown'],
    ['not an Error', 'a string', 'transient', 'Unknown'],
  ]
  for (const [label, err, kind, code] of table) {
    it(`${label} → ${kind}`, () => {
      const e = toStsError(err, ROLE)
      assert.ok(e instanceof StsError)
      assert.equal(e.kind, kind)
      assert.equal(e.code, code)
    })
  }

  it("AccessDenied is the pod role's, unless AWS names the broker's own policy, boundary or SCP", () => {
    const denied = (message: string) =>
      toStsError(
        Object.assign(new Error(message), {
          name: 'AccessDenied',
          Code: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        }),
      ).kind
    const who =
      'User: arn:aws:sts::111122223333:assumed-role/broker/i is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/app'
    assert.equal(denied(who), 'denied')
    for (const reason of [
      'with an explicit deny in a service control policy',
      'because no identity-based policy allows the sts:AssumeRole action',
      'with an explicit deny in a permissions boundary',
      'because no session policy allows the sts:AssumeRole action',
    ])
      assert.equal(denied(`${who} ${reason}`), 'identity', reason)
  })

  it("a session tag that collides with the broker session's transitive tag is the broker's", () => {
    const err = Object.assign(new Error('x'), {
      name: 'InvalidParameterValue',
      Code: 'InvalidParameterValue',
      message:
        'Session tag kubernetes-namespace conflicts with a transitive tag of the calling session',
      $metadata: { httpStatusCode: 400 },
    })
    assert.equal(toStsError(err).kind, 'identity')
    assert.equal(toStsError({ ...err, message: 'Tag value too long' }).kind, 'invalid')
  })

  it('a chained session over 1h refused by STS is the broker configuration, not the pod', () => {
    const err = (message: string) =>
      toStsError(
        Object.assign(new Error(message), {
          name: 'ValidationError',
          Code: 'ValidationError',
          $metadata: { httpStatusCode: 400 },
        }),
      ).kind
    assert.equal(
      err(
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      ),
      'identity',
    )
    assert.equal(err('1 validation error detected: roleSessionName'), 'invalid')
  })

  it('maps the SDK’s own exception classes by their wire code and class name', () => {
    const meta = { $metadata: { httpStatusCode: 400 }, message: 'm' }
    const expired = new ExpiredTokenException(meta)
    assert.equal(toStsError(expired).kind, 'identity')
    const malformed = Object.assign(new MalformedPolicyDocumentException(meta), { Code: undefined })
    assert.equal(toStsError(malformed).kind, 'invalid')
    assert.equal(toStsError(malformed).code, 'MalformedPolicyDocumentException')
    const throttled = new STSServiceException({
      name: 'Throttling',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'Rate exceeded',
    })
    assert.equal(toStsError(throttled).kind, 'throttled')
  })

  it('says what failed, for which role, with status and request id, and never a secret', () => {
    const err = Object.assign(
      sdkError({ name: 'AccessDenied', code: 'AccessDenied', status: 403 }),
      {
        message: 'User: arn:aws:sts::123456789012:assumed-role/broker/i-1 is not authorized',
        $response: { headers: { 'x-amz-security-token': 'SECRET-SESSION-TOKEN' } },
        credentials: { secretAccessKey: 'SECRET-KEY' },
      },
    )
    const e = toStsError(err, ROLE)
    assert.equal(
      e.message,
      'AssumeRole of arn:aws:iam::123456789012:role/x failed: AccessDenied (HTTP 403) [request id req-1]: User: arn:aws:sts::123456789012:assumed-role/broker/i-1 is not authorized',
    )
    assert.equal(e.cause, undefined)
    assert.doesNotMatch(JSON.stringify({ ...e, message: e.message }), /SECRET/)
  })

  it('passes an StsError through unchanged, so mapping happens exactly once', () => {
    const original = new StsError('denied', 'AccessDenied', 'already mapped')
    assert.equal(toStsError(original, ROLE), original)
  })

  it('does not take prototype keys for codes', () => {
    assert.equal(toStsError(sdkError({ name: 'constructor' })).kind, 'transient')
  })
})

describe('accountOf', () => {
  it('reads the account from assumed-role and role ARNs', () => {
    assert.equal(accountOf('arn:aws:sts::123456789012:assumed-role/x/s'), '123456789012')
    assert.equal(accountOf('arn:aws-cn:iam::210987654321:role/a/b'), '210987654321')
  })
  it('rejects anything that is not a 12-digit account', () => {
    assert.equal(accountOf(undefined), undefined)
    assert.equal(accountOf('arn:aws:iam::12345:role/x'), undefined)
    assert.equal(accountOf('not-an-arn'), undefined)
  })
})
