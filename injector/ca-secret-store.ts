// The Secret that holds the shared webhook CA: read, created once, replaced only over the
// version that was read (optimistic concurrency), so replicas racing to write it never
// overwrite one another. The injector may get and update this one Secret, and create Secrets in
// its namespace (Kubernetes cannot limit create by name): injectorCaSecretRules in rbac.ts.
import {
  CoreV1Api,
  type KubeConfig,
  type V1ObjectMeta,
  type V1OwnerReference,
  type V1PolicyRule,
  type V1Secret,
} from '@kubernetes/client-node'
import { statusCode, statusMessage } from '../lib/api-status.ts'
import { decodeCaSecret, encodeCaSecret, type CaState } from './ca-state.ts'

export interface CaSecret {
  /** undefined: the Secret exists without data (made empty for the injector to fill). */
  readonly state: CaState | undefined
  readonly resourceVersion: string
  /** What a write over it keeps (its metadata, its immutable type); the store's own business. */
  readonly origin?: { readonly metadata: V1ObjectMeta; readonly type: string | undefined }
}

export interface CaSecretStore {
  /** The Secret, or undefined when there is none. */
  read(): Promise<CaSecret | undefined>
  /** Creates it; throws CaSecretConflict when it exists already (another replica was first). */
  create(state: CaState, owner: V1OwnerReference | undefined): Promise<void>
  /** Writes over `basis`; throws CaSecretConflict when the Secret changed since. */
  replace(state: CaState, basis: CaSecret): Promise<void>
}

/** Someone else wrote the Secret first: read it again. */
export class CaSecretConflict extends Error {
  override name = 'CaSecretConflict'
}

const LABELS = { 'app.kubernetes.io/managed-by': 'iam-sidecar-injector' }

/**
 * An error that names the Secret and says what to fix. It carries no cause: the client's
 * exception holds the response body, and for a Secret that is not ours to log.
 */
function failure(err: unknown, verb: 'read' | 'create' | 'update', where: string): Error {
  const code = statusCode(err)
  const what = `cannot ${verb} Secret ${where}`
  if (code === 403)
    return new Error(
      `${what}: forbidden — the injector needs get and update on it and create on Secrets in ` +
        'its namespace (injectorCaSecretRules)',
    )
  if (code === 404 && verb === 'create')
    return new Error(`${what}: its namespace does not exist (--service-namespace)`)
  const detail = code === undefined ? statusMessage(err) : `HTTP ${code}: ${statusMessage(err)}`
  return new Error(`${what}: ${detail}`)
}

export function kubeCaSecretStore(
  kc: KubeConfig,
  o: { namespace: string; name: string },
): CaSecretStore {
  const core = kc.makeApiClient(CoreV1Api)
  const { namespace, name } = o
  const where = `${namespace}/${name}`
  return {
    async read() {
      let secret: V1Secret
      try {
        secret = await core.readNamespacedSecret({ name, namespace })
      } catch (err) {
        if (statusCode(err) === 404) return undefined
        throw failure(err, 'read', where)
      }
      return {
        state: decodeCaSecret(secret.data, where),
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        origin: { metadata: secret.metadata ?? {}, type: secret.type },
      }
    },
    async create(state, owner) {
      try {
        await core.createNamespacedSecret({
          namespace,
          body: {
            metadata: {
              name,
              namespace,
              labels: LABELS,
              ...(owner ? { ownerReferences: [owner] } : {}),
            },
            type: 'Opaque',
            data: encodeCaSecret(state),
          },
        })
      } catch (err) {
        if (statusCode(err) === 409) throw new CaSecretConflict(`Secret ${where} exists already`)
        throw failure(err, 'create', where)
      }
    },
    async replace(state, basis) {
      // The server owns managedFields; everything else read is written back as it was.
      const { managedFields: _managed, ...metadata } = basis.origin?.metadata ?? {}
      try {
        await core.replaceNamespacedSecret({
          name,
          namespace,
          body: {
            metadata: {
              ...metadata,
              name,
              namespace,
              resourceVersion: basis.resourceVersion,
              labels: { ...metadata.labels, ...LABELS },
            },
            type: basis.origin?.type ?? 'Opaque',
            data: encodeCaSecret(state),
          },
        })
      } catch (err) {
        // 409: changed since it was read; 404: deleted since (create it again).
        if ([404, 409].includes(statusCode(err) ?? 0))
          throw new CaSecretConflict(`Secret ${where} changed since it was read`)
        throw failure(err, 'update', where)
      }
    },
  }
}

/** What the store needs, in the namespace of the Secret (a Role, not a ClusterRole). */
export function injectorCaSecretRules(secretName: string): V1PolicyRule[] {
  return [
    // Read the shared CA, and write it (fill, rotate, prune) over the version read.
    {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: [secretName],
      verbs: ['get', 'update'],
    },
    // Create it once. RBAC cannot limit create by name (the authorizer sees no name for a
    // create), so this allows creating, not reading or changing, any Secret in the namespace.
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ]
}
