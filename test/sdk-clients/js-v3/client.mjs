// Calls sts:GetCallerIdentity through the AWS SDK for JavaScript v3 default credential chain and
// prints the caller's ARN, one line per call. The SDK is the project's own dependency
// (@aws-sdk/client-sts in /package.json), resolved from the project's node_modules.
// All configuration comes from the environment (AWS_CONTAINER_CREDENTIALS_FULL_URI,
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_REGION, AWS_ENDPOINT_URL_STS). Test knobs:
// IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and IAM_SIDECAR_CLIENT_INTERVAL_MS (pause between
// calls) keep one client alive across calls, so a credential refresh happens inside it.
import { setTimeout as sleep } from 'node:timers/promises'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'

const envNumber = (name, fallback) => {
  const value = process.env[name]
  return value ? Number.parseInt(value, 10) : fallback
}

const calls = envNumber('IAM_SIDECAR_CLIENT_LOOP', 1)
const intervalMs = envNumber('IAM_SIDECAR_CLIENT_INTERVAL_MS', 0)
const client = new STSClient({})
try {
  for (let i = 0; i < calls; i++) {
    if (i > 0) await sleep(intervalMs)
    const out = await client.send(new GetCallerIdentityCommand({}))
    console.log(out.Arn)
  }
} catch (err) {
  console.error(`GetCallerIdentity failed: ${err?.name}: ${err?.message}`)
  process.exitCode = 1
} finally {
  client.destroy()
}
