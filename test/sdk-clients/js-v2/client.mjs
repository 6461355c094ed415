// Calls sts:GetCallerIdentity through the AWS SDK for JavaScript v2 default credential chain
// (new AWS.STS() with no credentials: AWS.CredentialProviderChain.defaultProviders, whose
// ECSCredentials reads AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
// and prints the caller's ARN, one line per call. Region comes from AWS_REGION.
// Test knobs: IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and IAM_SIDECAR_CLIENT_INTERVAL_MS
// (pause between calls) keep one client alive across calls.
import { setTimeout as sleep } from 'node:timers/promises'
import AWS from 'aws-sdk'

const envNumber = (name, fallback) => {
  const value = process.env[name]
  return value ? Number.parseInt(value, 10) : fallback
}

const calls = envNumber('IAM_SIDECAR_CLIENT_LOOP', 1)
const intervalMs = envNumber('IAM_SIDECAR_CLIENT_INTERVAL_MS', 0)
// v2 does not read AWS_ENDPOINT_URL_STS (no service-specific endpoint variables in v2), so the
// test's STS endpoint is passed explicitly. Credentials still come from the default chain.
const endpoint = process.env.AWS_ENDPOINT_URL_STS
const sts = new AWS.STS(endpoint ? { endpoint } : {})
try {
  for (let i = 0; i < calls; i++) {
    if (i > 0) await sleep(intervalMs)
    const out = await sts.getCallerIdentity({}).promise()
    console.log(out.Arn)
  }
} catch (err) {
  console.error(`GetCallerIdentity failed: ${err?.code}: ${err?.message}`)
  process.exitCode = 1
}
