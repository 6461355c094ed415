// Annotation and label keys, in one place for the injector, the broker and the docs.

export const PREFIX = 'iam-sidecar'

/** Pod opt-in: `"true"` asks the injector to add the sidecar. */
export const INJECT = `${PREFIX}/inject`
/** Role (name or ARN) on the pod, else on its ServiceAccount. */
export const ROLE = `${PREFIX}/role`
/** kube2iam/kiam's pod role annotation, honoured for migration. */
export const LEGACY_ROLE = 'iam.amazonaws.com/role'
/** Namespace policy: an anchored regular expression matched against the full role ARN. */
export const PERMITTED = `${PREFIX}/permitted`
/** kiam's namespace policy annotation, honoured for migration. */
export const LEGACY_PERMITTED = 'iam.amazonaws.com/permitted'
/** Pod annotation: sts:AssumeRole ExternalId. */
export const EXTERNAL_ID = `${PREFIX}/external-id`
/** kube2iam/kiam's ExternalId pod annotation, honoured for migration. */
export const LEGACY_EXTERNAL_ID = 'iam.amazonaws.com/external-id'
/** Pod annotation: comma-separated container names that get no AWS env vars. */
export const SKIP_CONTAINERS = `${PREFIX}/skip-containers`
/** Label the injector puts on every pod it changed; the broker serves only such pods. */
export const INJECTED_LABEL = `${PREFIX}/injected`
