{{/* Names, labels and the pieces both workloads share. */}}

{{- define "iam-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "iam-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "iam-sidecar.injectorName" -}}
{{- printf "%s-injector" (include "iam-sidecar.fullname" .) }}
{{- end }}

{{- define "iam-sidecar.brokerName" -}}
{{- printf "%s-broker" (include "iam-sidecar.fullname" .) }}
{{- end }}

{{/* The MutatingWebhookConfiguration; the injector patches its caBundle in selfBootstrap mode. */}}
{{- define "iam-sidecar.webhookConfigName" -}}
{{- include "iam-sidecar.fullname" . }}
{{- end }}

{{- define "iam-sidecar.webhookName" -}}inject.iam-sidecar.io{{- end }}

{{- define "iam-sidecar.injectorTlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- required "tls.secret.name is required with tls.mode=secret" .Values.tls.secret.name }}
{{- else }}
{{- printf "%s-tls" (include "iam-sidecar.injectorName" .) }}
{{- end }}
{{- end }}

{{- define "iam-sidecar.brokerTlsSecretName" -}}
{{- if eq .Values.brokerTls.mode "secret" }}
{{- required "brokerTls.existingSecret is required with brokerTls.mode=secret" .Values.brokerTls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "iam-sidecar.brokerName" .) }}
{{- end }}
{{- end }}

{{/* DNS names of a Service, for serving certificates. */}}
{{- define "iam-sidecar.serviceDnsNames" -}}
{{- $svc := index . 0 }}{{- $ns := index . 1 }}
{{- list (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson }}
{{- end }}

{{- define "iam-sidecar.brokerUrl" -}}
{{- printf "https://%s.%s.svc:%d" (include "iam-sidecar.brokerName" .) .Release.Namespace (int .Values.broker.port) }}
{{- end }}

{{- define "iam-sidecar.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "iam-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "iam-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (list $ "injector"|"broker"). */}}
{{- define "iam-sidecar.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "iam-sidecar.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "iam-sidecar.componentLabels" -}}
{{ include "iam-sidecar.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Pod Security `restricted`, pod level. */}}
{{- define "iam-sidecar.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod Security `restricted`, container level. */}}
{{- define "iam-sidecar.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Probes over HTTPS on the API port (named https). */}}
{{- define "iam-sidecar.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: https
    scheme: HTTPS
  periodSeconds: 2
  failureThreshold: 30
  timeoutSeconds: 2
livenessProbe:
  httpGet:
    path: /healthz
    port: https
    scheme: HTTPS
  periodSeconds: 10
  failureThreshold: 3
  timeoutSeconds: 2
readinessProbe:
  httpGet:
    path: /readyz
    port: https
    scheme: HTTPS
  periodSeconds: 5
  failureThreshold: 2
  timeoutSeconds: 2
{{- end }}

{{/* Default affinity: prefer one replica per node. (list $ "injector"|"broker") */}}
{{- define "iam-sidecar.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "iam-sidecar.selectorLabels" . | nindent 12 }}
{{- end }}

{{/* Scheduling fields of a pod spec: (list $ .Values.injector|.Values.broker "injector"|"broker"). */}}
{{- define "iam-sidecar.scheduling" -}}
{{- $ := index . 0 }}{{- $v := index . 1 }}{{- $component := index . 2 }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $v.affinity }}
affinity:
  {{- toYaml $v.affinity | nindent 2 }}
{{- else if not (and (eq $component "broker") (eq $.Values.broker.mode "node")) }}
affinity:
  {{- include "iam-sidecar.spreadAffinity" (list $ $component) | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The ClusterTrustBundle API version for the broker CA ("" when the CA goes out as per-namespace
ConfigMaps instead: brokerCa.distribution configMap, or auto on a cluster that does not serve
certificates.k8s.io/v1, where ClusterTrustBundle projection may be off). auto takes v1 (GA and
on by default since 1.37); clusterTrustBundle also takes v1beta1 (1.33-1.36, where the operator
turned the ClusterTrustBundle and ClusterTrustBundleProjection feature gates on).
*/}}
{{- define "iam-sidecar.trustBundleApiVersion" -}}
{{- $d := .Values.brokerCa.distribution }}
{{- if ne $d "configMap" }}
{{- if .Capabilities.APIVersions.Has "certificates.k8s.io/v1/ClusterTrustBundle" }}certificates.k8s.io/v1
{{- else if and (eq $d "clusterTrustBundle") (.Capabilities.APIVersions.Has "certificates.k8s.io/v1beta1/ClusterTrustBundle") }}certificates.k8s.io/v1beta1
{{- else if eq $d "clusterTrustBundle" }}certificates.k8s.io/v1
{{- end }}
{{- end }}
{{- end }}

{{- define "iam-sidecar.trustBundleName" -}}
{{- printf "%s-broker-ca" (include "iam-sidecar.fullname" .) | trunc 253 }}
{{- end }}

{{/*
The webhook's failurePolicy. Empty (auto): Ignore where the API server has
ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30+), whose policy then
refuses a pod that asked for injection but arrived without the sidecar; Fail elsewhere.
*/}}
{{- define "iam-sidecar.failurePolicy" -}}
{{- if .Values.webhook.failurePolicy }}{{ .Values.webhook.failurePolicy }}
{{- else if .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy" }}Ignore
{{- else }}Fail
{{- end }}
{{- end }}

{{/* Whether the chart renders the sidecar guard (a ValidatingAdmissionPolicy and its binding). */}}
{{- define "iam-sidecar.sidecarGuard" -}}
{{- if and (eq (include "iam-sidecar.failurePolicy" .) "Ignore") (.Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy") }}true{{- end }}
{{- end }}

{{/* The namespaces the webhook, and the sidecar guard, see. */}}
{{- define "iam-sidecar.webhookNamespaceSelector" -}}
{{- with .Values.webhook.namespaceSelector.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- toYaml (append .Values.webhook.excludedNamespaces .Release.Namespace | uniq) | nindent 6 }}
  {{- with .Values.webhook.namespaceSelector.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
