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
{{- else }}
{{- $msg := "tokengate needs a client secret and a cookie secret: set existingSecret to a Secret with the keys client-secret and cookie-secret (kubectl create secret generic tokengate --from-literal=client-secret=... --from-literal=cookie-secret=$(openssl rand -base64 32)), or set clientSecret and cookieSecret so the chart creates one" }}
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
(listen address, secret file paths). Secrets themselves never enter it: the ConfigMap is
readable by anyone who may read ConfigMaps in the namespace.
*/}}
{{- define "tokengate.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $dir := include "tokengate.secretDir" . }}
{{- $_ := set $cfg "listen" (printf ":%d" (int .Values.containerPort)) }}
{{- $provider := default dict $cfg.provider }}
{{- $_ := set $provider "clientSecretFile" (printf "%s/%s" $dir .Values.secretKeys.clientSecret) }}
{{- $_ := set $cfg "provider" $provider }}
{{- $cookie := default dict $cfg.cookie }}
{{- $files := list }}
{{- range .Values.secretKeys.cookieSecrets }}
{{- $files = append $files (printf "%s/%s" $dir .) }}
{{- end }}
{{- $_ := set $cookie "secretFiles" $files }}
{{- $_ := set $cfg "cookie" $cookie }}
{{- toYaml $cfg }}
{{- end }}
