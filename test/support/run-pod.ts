// Plays the kubelet for one admitted pod, on this machine: see runPodLocally.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import { POD_LAYOUT as L, SIDECAR_BUNDLE_IN_IMAGE } from '../../lib/sidecar-pod-layout.ts'
import type { TestCluster } from '../peers/cluster.ts'
import { sdkClients } from '../sdk-clients/clients.ts'
import { runClient, type ClientRun } from './run-client.ts'
import { SIDECAR_BUNDLE } from './sidecar-process.ts'

/**
 * Plays the kubelet for one pod: volumes as folders (the projected token from a TokenRequest
 * bound to the pod, the broker CA from the cluster CA, an empty folder for the emptyDir), the
 * sidecar container's command and args from the stored spec with image paths mapped to this
 * checkout, then the app container's env from the spec for an SDK client.
 */
export async function runPodLocally(
  stored: V1Pod,
  o: { root: string; cluster: TestCluster; brokerCaFile: string },
): Promise<ClientRun> {
  const { root, cluster } = o
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const ns = stored.metadata!.namespace!
  const sidecar = stored.spec!.initContainers!.find((c) => c.name === L.containerName)!
  const audience = stored.spec!.volumes!.find((v) => v.name === L.tokenVolume)!.projected!
    .sources![0]!.serviceAccountToken!
  const map = (p: string): string =>
    p.replace(SIDECAR_BUNDLE_IN_IMAGE, SIDECAR_BUNDLE).replace(/\/var\/run\//g, `${root}/var/run/`)
  mkdirSync(map(L.tokenDir), { recursive: true })
  mkdirSync(map(L.brokerCaDir), { recursive: true })
  const tr = await core.createNamespacedServiceAccountToken({
    name: stored.spec!.serviceAccountName!,
    namespace: ns,
    body: {
      spec: {
        audiences: [audience.audience!],
        expirationSeconds: audience.expirationSeconds!,
        boundObjectRef: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: stored.metadata!.name!,
          uid: stored.metadata!.uid!,
        },
      },
    },
  })
  writeFileSync(map(L.tokenFile), tr.status?.token ?? '')
  copyFileSync(o.brokerCaFile, map(L.brokerCaFile))
  const [cmd, ...cmdArgs] = sidecar.command!
  if (cmd !== 'node') throw new Error(`the sidecar command starts with ${cmd}, not node`)
  const child = spawn(process.execPath, [...cmdArgs, ...sidecar.args!].map(map), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  try {
    // The kubelet's startup probe: /readyz on the health port.
    const probe = sidecar.startupProbe!.httpGet!
    const deadline = Date.now() + 15_000
    while (
      !(await fetch(`http://127.0.0.1:${String(probe.port)}${probe.path}`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`sidecar never ready (exit ${child.exitCode}):\n${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const env = Object.fromEntries(stored.spec!.containers[0]!.env!.map((e) => [e.name, e.value!]))
    const js = sdkClients.find((c) => c.id === 'js-v3')!
    return await runClient(js, {
      credentialsUrl: env.AWS_CONTAINER_CREDENTIALS_FULL_URI!,
      tokenFile: map(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!),
      stsEndpoint: cluster.info.stsEndpoint,
    })
  } finally {
    child.kill('SIGTERM')
  }
}
