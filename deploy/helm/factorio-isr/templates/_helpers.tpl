{{/*
Names and labels.
*/}}
{{- define "factorio-isr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "factorio-isr.fullname" -}}
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

{{- define "factorio-isr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "parser"). */}}
{{- define "factorio-isr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "factorio-isr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Full labels of one component: (dict "root" $ "component" "parser"). */}}
{{- define "factorio-isr.labels" -}}
helm.sh/chart: {{ include "factorio-isr.chart" .root }}
{{ include "factorio-isr.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: factorio-isr
{{- end }}

{{- define "factorio-isr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "factorio-isr.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "factorio-isr.configMapName" -}}
{{- printf "%s-config" (include "factorio-isr.fullname" .) }}
{{- end }}

{{- define "factorio-isr.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* servers.yml as rendered into the ConfigMap (text through tpl, or a mapping as YAML). */}}
{{- define "factorio-isr.serversYaml" -}}
{{- if kindIs "string" .Values.config.servers }}
{{- tpl .Values.config.servers . | trimSuffix "\n" }}
{{- else }}
{{- toYaml .Values.config.servers }}
{{- end }}
{{- end }}

{{/*
Checks run by every render: values that would break an invariant fail the install with a
message naming the value.
*/}}
{{- define "factorio-isr.validate" -}}
{{- if and .Values.bot.enabled (ne (int .Values.bot.replicas) 1) }}
{{- fail (printf "bot.replicas must be 1 (got %v): the bot owns the single Discord gateway session; a second replica would post every event twice" .Values.bot.replicas) }}
{{- end }}
{{- if and .Values.rconPoller.enabled (lt (int .Values.rconPoller.replicas) 1) }}
{{- fail "rconPoller.replicas must be at least 1 (2 gives a hot standby)" }}
{{- end }}
{{- if regexMatch "(?m)^\\s*(password|rcon_password|token|secret|discord_token)\\s*:" (include "factorio-isr.serversYaml" .) }}
{{- fail "config.servers holds an inline secret (password:, token: or secret:); name an environment variable (password_env, filled from configSecretEnv) or a file (password_file) instead" }}
{{- end }}
{{- if and .Values.persistence.enabled (not .Values.database.existingSecret) }}
{{- fail "persistence.enabled needs database.existingSecret: the name of a Secret holding the Postgres URL" }}
{{- end }}
{{- if and .Values.bot.enabled (not .Values.discord.existingSecret) }}
{{- fail "bot.enabled needs discord.existingSecret: the name of a Secret holding the Discord bot token" }}
{{- end }}
{{- end }}

{{/* terminationGracePeriodSeconds for a shutdown grace: (dict "root" $ "grace" 10). */}}
{{- define "factorio-isr.terminationGrace" -}}
{{- add (int (ceil .grace)) (int .root.Values.terminationGraceMarginSeconds) }}
{{- end }}

{{/*
Environment shared by every ISR container: (dict "root" $ "grace" 10 "env" (dict ...)).
*/}}
{{- define "factorio-isr.env" -}}
{{- $v := .root.Values -}}
- name: ISR_NATS_URL
  value: {{ $v.nats.url | quote }}
- name: ISR_PREFIX
  value: {{ $v.prefix | quote }}
- name: ISR_CONFIG_DIR
  value: /etc/isr
- name: ISR_HEALTH_HOST
  value: "0.0.0.0"
- name: ISR_HEALTH_PORT
  value: {{ $v.healthPort | quote }}
- name: ISR_LOG_FORMAT
  value: {{ $v.logging.format | quote }}
- name: ISR_LOG_LEVEL
  value: {{ $v.logging.level | quote }}
- name: ISR_RUNTIME_SHUTDOWN_GRACE_S
  value: {{ .grace | quote }}
{{- if $v.otel.endpoint }}
- name: ISR_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
- name: ISR_OTLP_EXPORT_INTERVAL_S
  value: {{ $v.otel.exportIntervalSeconds | quote }}
{{- end }}
{{- /* Telemetry of each replica stays apart (service.instance.id becomes the instance label). */}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "service.instance.id=$(POD_NAME),k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . | trimSuffix "\n" }}
{{- end }}
{{- end }}

{{/* The secret references servers.yml needs (RCON passwords), for containers that load it. */}}
{{- define "factorio-isr.configSecretEnv" -}}
{{- range .Values.configSecretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
{{- end }}
{{- end }}

{{/* Volume mounts of an ISR container; (dict "root" $ "secrets" true) adds configSecretMounts. */}}
{{- define "factorio-isr.volumeMounts" -}}
- name: isr-config
  mountPath: /etc/isr
  readOnly: true
- name: isr-tmp
  mountPath: /tmp
{{- if .secrets }}
{{- range .root.Values.configSecretMounts }}
- name: isr-secret-{{ .name }}
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes an ISR container needs in its pod; (dict "root" $ "secrets" true) as above. */}}
{{- define "factorio-isr.volumes" -}}
{{- $v := .root.Values -}}
- name: isr-config
  configMap:
    name: {{ include "factorio-isr.configMapName" .root }}
    items:
      - key: servers.yml
        path: servers.yml
      {{- range $file, $_ := $v.config.patterns }}
      - key: patterns.{{ $file }}
        path: patterns/{{ $file }}
      {{- end }}
      {{- if $v.config.mentions }}
      - key: mentions.yml
        path: mentions.yml
      {{- end }}
- name: isr-tmp
  emptyDir:
    sizeLimit: {{ $v.tmpSizeLimit }}
{{- if .secrets }}
{{- range $v.configSecretMounts }}
- name: isr-secret-{{ .name }}
  secret:
    secretName: {{ .secretName }}
    defaultMode: 0440
{{- end }}
{{- end }}
{{- end }}

{{/*
Health port and probes of an ISR container: (dict "root" $ "readiness" true). The tailer sidecar
has no readiness probe: it would make the Factorio pod unready (and drop the game server from its
Service) whenever NATS is unreachable. Its /readyz still answers for people and monitoring.
*/}}
{{- define "factorio-isr.probes" -}}
{{- $v := .root.Values -}}
{{- $p := $v.probes -}}
ports:
  - name: health
    containerPort: {{ $v.healthPort }}
    protocol: TCP
startupProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
{{- if .readiness }}
readinessProbe:
  httpGet:
    path: /readyz
    port: health
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end }}
{{- end }}

{{/*
The tailer sidecar container, for the pod of one Factorio server. Use it from a chart that
depends on factorio-isr, next to your Factorio container:

  containers:
    - name: factorio
      ...
    {{- include "factorio-isr.tailerContainer" (dict "root" $ "server" "main" "logVolume" "console-log") | nindent 4 }}
  volumes:
    - name: console-log
      emptyDir: {}
    {{- include "factorio-isr.volumes" (dict "root" $ "secrets" true) | nindent 4 }}

`server` is the tag in servers.yml; `logVolume` the volume Factorio writes --console-log into,
mounted read-only at <tailer.logMountPath>/<server> (each server's log_path must differ, so
servers.yml says log_path: /var/log/factorio/main/console.log for server main). The pod's
terminationGracePeriodSeconds must be at least tailer.shutdownGraceSeconds +
terminationGraceMarginSeconds. docs/deployment.md has the same container as plain YAML for a
pod you write by hand.
*/}}
{{- define "factorio-isr.tailerContainer" -}}
{{- $v := .root.Values -}}
- name: isr-tailer
  image: {{ include "factorio-isr.image" .root }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args: ["tailer", "--server", {{ .server | quote }}]
  {{- with .restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  env:
    {{- include "factorio-isr.env" (dict "root" .root "grace" $v.tailer.shutdownGraceSeconds "env" $v.tailer.env) | nindent 4 }}
    {{- /* No secrets: the tailer loads servers.yml without resolving them. */}}
  {{- include "factorio-isr.probes" (dict "root" .root "readiness" false) | nindent 2 }}
  resources:
    {{- toYaml $v.tailer.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: {{ .logVolume }}
      mountPath: {{ printf "%s/%s" $v.tailer.logMountPath .server }}
      readOnly: true
    {{- include "factorio-isr.volumeMounts" (dict "root" .root "secrets" false) | nindent 4 }}
{{- end }}
