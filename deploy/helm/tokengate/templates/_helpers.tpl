{{/*
tokengate.name is the chart name, overridable with nameOverride.
*/}}
{{- define "tokengate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tokengate.fullname names every object. A release called "tokengate" gives objects called
"tokengate" (not "tokengate-tokengate"), so the examples' service URL
http://tokengate.tokengate.svc.cluster.local/auth holds for the install the README shows.
*/}}
{{- define "tokengate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
tokengate.selectorLabels select the pods; they never change after install (selectors are
immutable), so nothing version-like belongs here.
*/}}
{{- define "tokengate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokengate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
tokengate.labels go on every object.
*/}}
{{- define "tokengate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tokengate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
tokengate.serviceAccountName is the service account the pods run as.
*/}}
{{- define "tokengate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokengate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
tokengate.secretName is the Secret holding the client secret and the cookie keys: the
operator's existingSecret, or the one this chart creates from values. Neither given is an
error here, at render time, rather than a pod that cannot start.
*/}}
{{- define "tokengate.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else if or .Values.workloadIdentity.enabled (include "tokengate.clientCertificate" .) }}
{{- $msg := "tokengate needs a cookie secret: set existingSecret to a Secret with the key cookie-secret (kubectl create secret generic tokengate --from-literal=cookie-secret=$(openssl rand -base64 32)), or set cookieSecret so the chart creates one. With workloadIdentity.enabled or clientAuth: certificate no client secret is needed" }}
{{- $_ := required $msg .Values.cookieSecret }}
{{- printf "%s-secret" (include "tokengate.fullname" .) }}
{{- else }}
{{- $msg := "tokengate needs a client secret and a cookie secret: set existingSecret to a Secret with the keys client-secret and cookie-secret (kubectl create secret generic tokengate --from-literal=client-secret=... --from-literal=cookie-secret=$(openssl rand -base64 32)), or set clientSecret and cookieSecret so the chart creates one (or enable workloadIdentity: no client secret at all)" }}
{{- $_ := required $msg .Values.clientSecret }}
{{- $_ := required $msg .Values.cookieSecret }}
{{- printf "%s-secret" (include "tokengate.fullname" .) }}
{{- end }}
{{- end }}

{{/*
tokengate.secretDir is where the Secret is mounted; config.yaml names files inside it.
*/}}
{{- define "tokengate.secretDir" -}}
/var/run/secrets/tokengate
{{- end }}

{{/*
tokengate.config is config.yaml: the operator's .Values.config plus what only the chart knows
(listen address, secret file paths, and clientAuth: workloadIdentity when workload identity is on). Secrets themselves never enter it: the ConfigMap is
readable by anyone who may read ConfigMaps in the namespace.
*/}}
{{- define "tokengate.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $dir := include "tokengate.secretDir" . }}
{{- $_ := set $cfg "listen" (printf ":%d" (int .Values.containerPort)) }}
{{- $_ := set $cfg "shutdownDelay" (printf "%ds" (int .Values.shutdownDelaySeconds)) }}
{{- $_ := set $cfg "replicas" (int (include "tokengate.maxReplicas" .)) }}
{{- if gt (int .Values.metricsPort) 0 }}
{{- $_ := set $cfg "metrics" (dict "listen" (printf ":%d" (int .Values.metricsPort))) }}
{{- else }}
{{- /* metricsPort 0 asks for /metrics on the http port, which the Ingress routes. */}}
{{- $_ := set $cfg "metrics" (dict "insecureServeOnListen" true) }}
{{- end }}
{{- $provider := default dict $cfg.provider }}
{{- if .Values.workloadIdentity.enabled }}
{{- /* The projected federated token replaces the secret; tokengate refuses a secret beside it. */}}
{{- $_ := set $provider "clientAuth" "workloadIdentity" }}
{{- else if include "tokengate.clientCertificate" . }}
{{- $certDir := include "tokengate.certDir" . }}
{{- $cert := default dict $provider.certificate }}
{{- $_ := set $cert "certFile" (printf "%s/%s" $certDir .Values.clientCertificate.certKey) }}
{{- $_ := set $cert "keyFile" (printf "%s/%s" $certDir .Values.clientCertificate.keyKey) }}
{{- $_ := set $provider "certificate" $cert }}
{{- else }}
{{- $_ := set $provider "clientSecretFile" (printf "%s/%s" $dir .Values.secretKeys.clientSecret) }}
{{- end }}
{{- $_ := set $cfg "provider" $provider }}
{{- $cookie := default dict $cfg.cookie }}
{{- $files := list }}
{{- range .Values.secretKeys.cookieSecrets }}
{{- $files = append $files (printf "%s/%s" $dir .) }}
{{- end }}
{{- $_ := set $cookie "secretFiles" $files }}
{{- $_ := set $cfg "cookie" $cookie }}
{{- if eq (dig "session" "store" "cookie" $cfg) "redis" }}
{{- $_ := set $cfg "redis" (include "tokengate.redisConfig" . | fromYaml) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
tokengate.redisPasswordKey / tokengate.redisCAKey name the Secret keys of the Redis password
and CA bundle, empty when there is none: an existingSecret holds the keys the values name; the
chart-created Secret holds the values given, under those keys or the defaults.
*/}}
{{- define "tokengate.redisPasswordKey" -}}
{{- if .Values.existingSecret }}{{ .Values.redis.passwordKey }}
{{- else if .Values.redis.password }}{{ .Values.redis.passwordKey | default "redis-password" }}
{{- end }}
{{- end }}

{{- define "tokengate.redisCAKey" -}}
{{- if .Values.existingSecret }}{{ .Values.redis.tls.caKey }}
{{- else if .Values.redis.tls.ca }}{{ .Values.redis.tls.caKey | default "redis-ca.crt" }}
{{- end }}
{{- end }}

{{/*
tokengate.redisConfig is config.yaml's redis section: the redis values without the secrets,
plus the paths of the secret files.
*/}}
{{- define "tokengate.redisConfig" -}}
{{- $r := .Values.redis }}
{{- if and (not $r.url) (not $r.addrs) }}
{{- fail "config.session.store is redis: set redis.url or redis.addrs" }}
{{- end }}
{{- $dir := include "tokengate.secretDir" . }}
{{- $out := dict "timeout" $r.timeout "sessionCacheTTL" $r.sessionCacheTTL "lockTTL" $r.lockTTL "lockReplicas" (int $r.lockReplicas) "db" $r.db }}
{{- range $k := list "url" "addrs" "masterName" "username" }}
{{- if get $r $k }}{{ $_ := set $out $k (get $r $k) }}{{ end }}
{{- end }}
{{- $tls := dict "enabled" $r.tls.enabled }}
{{- with $r.tls.serverName }}{{ $_ := set $tls "serverName" . }}{{ end }}
{{- with include "tokengate.redisCAKey" . }}{{ $_ := set $tls "caFile" (printf "%s/%s" $dir .) }}{{ end }}
{{- $_ := set $out "tls" $tls }}
{{- with include "tokengate.redisPasswordKey" . }}{{ $_ := set $out "passwordFile" (printf "%s/%s" $dir .) }}{{ end }}
{{- toYaml $out }}
{{- end }}

{{/*
tokengate.metricsPortName is the named port /metrics is served on.
*/}}
{{- define "tokengate.metricsPortName" -}}
{{- if gt (int .Values.metricsPort) 0 }}metrics{{ else }}http{{ end }}
{{- end }}

{{/*
tokengate.clientCertificate is the name of the Secret holding the client certificate and key
when config.provider.clientAuth is certificate, and empty otherwise. Certificate and workload
identity are two answers to the same question, so asking for both is an error.
*/}}
{{- define "tokengate.clientCertificate" -}}
{{- if eq (dig "provider" "clientAuth" "secret" .Values.config) "certificate" }}
{{- if .Values.workloadIdentity.enabled }}
{{- fail "config.provider.clientAuth is certificate and workloadIdentity.enabled is true: choose one way for tokengate to authenticate to Entra ID" }}
{{- end }}
{{- required "config.provider.clientAuth is certificate: set clientCertificate.secretName to the Secret holding the certificate and key (kubectl create secret tls tokengate-client-cert --cert=tokengate.crt --key=tokengate.key)" .Values.clientCertificate.secretName }}
{{- end }}
{{- end }}

{{/*
tokengate.certDir is where the client certificate Secret is mounted, apart from the main
Secret so that a cert-manager Secret can be used as it is.
*/}}
{{- define "tokengate.certDir" -}}
/var/run/secrets/tokengate-client-cert
{{- end }}

{{/*
tokengate.minReplicas / tokengate.maxReplicas are the fewest and most pods the release can run:
the HPA's bounds when autoscaling is on, else replicaCount.
*/}}
{{- define "tokengate.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.minReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{- define "tokengate.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.maxReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{/*
tokengate.checkScaling fails the render on a scaling setup that would break a promise: several
cookie-store replicas with a provider that revokes a sign-in when one refresh token is spent
twice, HPA bounds upside down, or a grace period shorter than tokengate's own shutdown.
*/}}
{{- define "tokengate.checkScaling" -}}
{{- $max := int (include "tokengate.maxReplicas" .) }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas is below autoscaling.minReplicas" }}
{{- end }}
{{- if and (dig "provider" "refreshTokenReuseDetection" false .Values.config) (gt $max 1) (ne (dig "session" "store" "cookie" .Values.config) "redis") }}
{{- fail (printf "with config.provider.refreshTokenReuseDetection, up to %d replicas needs config.session.store redis (set config.session.store redis): with the cookie store each replica refreshes on its own and two would spend the same refresh token, which the provider punishes by revoking the sign-in" $max) }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownDelaySeconds) 20) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed shutdownDelaySeconds + 20 (%d): Kubernetes would kill tokengate while it drains" (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownDelaySeconds) 20)) }}
{{- end }}
{{- end }}
