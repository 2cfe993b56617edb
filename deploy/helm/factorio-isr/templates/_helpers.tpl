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
{{- $v := .Values }}
{{- $auth := $v.nats.auth | default dict }}
{{- range $key, $service := dict "parser" $v.parser "persistence" $v.persistence "rconPoller" $v.rconPoller "bot" $v.bot }}
{{- if $service.enabled }}
{{- include "factorio-isr.validateNatsAuth" (dict "root" $ "auth" (get $auth $key) "where" (printf "nats.auth.%s" $key)) }}
{{- end }}
{{- end }}
{{- range $tag, $entry := ($auth.tailers | default dict) }}
{{- include "factorio-isr.validateNatsAuth" (dict "root" $ "auth" $entry "where" (printf "nats.auth.tailers.%s" $tag)) }}
{{- end }}
{{- if $v.factorioExample.enabled }}
{{- range $v.factorioExample.servers }}
{{- include "factorio-isr.validateNatsAuth" (dict "root" $ "auth" (get ($auth.tailers | default dict) .tag) "where" (printf "nats.auth.tailers.%s" .tag)) }}
{{- end }}
{{- end }}
{{- range $field, $_ := ($auth | default dict) }}
{{- if not (has $field (list "parser" "persistence" "rconPoller" "bot" "tailers")) }}
{{- fail (printf "nats.auth.%s is not a service (parser, persistence, rconPoller, bot, tailers)" $field) }}
{{- end }}
{{- end }}
{{- $st := $v.streams | default dict }}
{{- range $field, $value := dict "streams.replicas" ($st.replicas | default 1) "streams.kvReplicas" ($st.kvReplicas | default 1) }}
{{- if or (lt (int64 $value) 1) (gt (int64 $value) 5) }}
{{- fail (printf "%s must be 1 to 5 (JetStream's limit), got %v" $field $value) }}
{{- end }}
{{- end }}
{{- range $name := list "raw" "events" "metrics" "dlq" "audit" }}
{{- range $field, $_ := (get $st $name | default dict) }}
{{- if not (has $field (list "replicas" "maxAgeSeconds" "maxBytes")) }}
{{- fail (printf "streams.%s.%s is not a setting (replicas, maxAgeSeconds, maxBytes)" $name $field) }}
{{- end }}
{{- end }}
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
  value: {{ include "factorio-isr.natsUrl" .root | quote }}
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
{{- include "factorio-isr.streamEnv" .root }}
{{- include "factorio-isr.natsEnv" . }}
{{- if $v.otel.endpoint }}
- name: ISR_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
- name: ISR_OTLP_EXPORT_INTERVAL_S
  value: {{ $v.otel.exportIntervalSeconds | quote }}
- name: ISR_OTLP_TRACES_SAMPLE_RATIO
  value: {{ $v.otel.tracesSampleRatio | quote }}
{{- end }}
{{- if $v.metrics.prometheus }}
- name: ISR_HEALTH_METRICS
  value: "true"
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
- name: ISR_OTLP_INSTANCE_ID
  value: "$(POD_NAME)"
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"
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

{{/*
Volume mounts of an ISR container: (dict "root" $ "secrets" true "auth" $entry). "secrets"
adds configSecretMounts (the RCON password files: the rcon-poller only); "auth" is the
container's nats.auth entry (its own NATS credentials); the NATS CA and client certificate
come from nats.tls.
*/}}
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
{{- $nats := include "factorio-isr.natsFiles" . | fromYaml }}
{{- if $nats.auth }}
- name: isr-nats-auth
  mountPath: {{ include "factorio-isr.natsAuthDir" . }}
  readOnly: true
{{- end }}
{{- if $nats.tls }}
- name: isr-nats-tls
  mountPath: {{ include "factorio-isr.natsTlsDir" . }}
  readOnly: true
{{- end }}
{{- if $nats.clientTls }}
- name: isr-nats-client-tls
  mountPath: {{ include "factorio-isr.natsClientTlsDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Volumes an ISR container needs in its pod; the same dict as factorio-isr.volumeMounts. */}}
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
    defaultMode: {{ $v.secretDefaultMode }}
{{- end }}
{{- end }}
{{- $nats := include "factorio-isr.natsFiles" . | fromYaml }}
{{- with $nats.auth }}
- name: isr-nats-auth
  secret:
    secretName: {{ .secret }}
    defaultMode: {{ $v.secretDefaultMode }}
    items:
      - key: {{ .key | quote }}
        path: {{ .path }}
{{- end }}
{{- with $nats.tls }}
- name: isr-nats-tls
  secret:
    secretName: {{ .secret }}
    defaultMode: {{ $v.secretDefaultMode }}
    items:
      {{- range .items }}
      - key: {{ .key | quote }}
        path: {{ .path }}
      {{- end }}
{{- end }}
{{- with $nats.clientTls }}
- name: isr-nats-client-tls
  secret:
    secretName: {{ .secret }}
    defaultMode: {{ $v.secretDefaultMode }}
    items:
      {{- range .items }}
      - key: {{ .key | quote }}
        path: {{ .path }}
      {{- end }}
{{- end }}
{{- end }}

{{/* ISR_NATS_URL: nats.url as given (one URL or a comma list) or a list joined with commas. */}}
{{- define "factorio-isr.natsUrl" -}}
{{- if kindIs "slice" .Values.nats.url }}
{{- join "," .Values.nats.url }}
{{- else }}
{{- .Values.nats.url }}
{{- end }}
{{- end }}

{{- define "factorio-isr.natsAuthDir" -}}/run/secrets/isr-nats/auth{{- end }}
{{- define "factorio-isr.natsTlsDir" -}}/run/secrets/isr-nats/tls{{- end }}
{{- define "factorio-isr.natsClientTlsDir" -}}/run/secrets/isr-nats/client-tls{{- end }}

{{/*
What a container mounts for NATS, as YAML: (dict "root" $ "auth" $entry). Keys (each absent
when not used): auth {secret, key, path, variable}, tls {secret, items}, clientTls {secret,
items}; the items' paths are the file names under the mount directories above.
*/}}
{{- define "factorio-isr.natsFiles" -}}
{{- $v := .root.Values -}}
{{- $a := .auth | default dict -}}
{{- $t := $v.nats.tls | default dict -}}
{{- $files := dict -}}
{{- if $a.existingSecret }}
{{- $kinds := dict
  "creds" (dict "key" "nats.creds" "path" "nats.creds" "variable" "ISR_NATS_CREDS_FILE")
  "nkey" (dict "key" "nats.nk" "path" "nats.nk" "variable" "ISR_NATS_NKEY_SEED_FILE")
  "password" (dict "key" "password" "path" "password" "variable" "ISR_NATS_PASSWORD_FILE")
}}
{{- $kind := get $kinds (toString $a.type) }}
{{- $_ := set $files "auth" (dict "secret" $a.existingSecret "key" ($a.key | default $kind.key) "path" $kind.path "variable" $kind.variable) }}
{{- end }}
{{- $tlsItems := list }}
{{- if and $t.existingSecret $t.ca }}
{{- $tlsItems = append $tlsItems (dict "key" $t.ca "path" "ca.crt") }}
{{- end }}
{{- if $a.tlsSecret }}
{{- $_ := set $files "clientTls" (dict "secret" $a.tlsSecret "items" (list (dict "key" $t.cert "path" "tls.crt") (dict "key" $t.key "path" "tls.key"))) }}
{{- else if and $t.existingSecret $t.clientCert }}
{{- $tlsItems = concat $tlsItems (list (dict "key" $t.cert "path" "tls.crt") (dict "key" $t.key "path" "tls.key")) }}
{{- end }}
{{- if $tlsItems }}
{{- $_ := set $files "tls" (dict "secret" $t.existingSecret "items" $tlsItems) }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/* ISR_NATS_* of a container, all pointing at mounted files: (dict "root" $ "auth" $entry). */}}
{{- define "factorio-isr.natsEnv" -}}
{{- $nats := include "factorio-isr.natsFiles" . | fromYaml }}
{{- with $nats.auth }}
{{- if eq .variable "ISR_NATS_PASSWORD_FILE" }}
- name: ISR_NATS_USER
  value: {{ $.auth.user | quote }}
{{- end }}
- name: {{ .variable }}
  value: {{ printf "%s/%s" (include "factorio-isr.natsAuthDir" $) .path | quote }}
{{- end }}
{{- with $nats.tls }}
{{- range .items }}
{{- $variable := get (dict "ca.crt" "ISR_NATS_TLS_CA_FILE" "tls.crt" "ISR_NATS_TLS_CERT_FILE" "tls.key" "ISR_NATS_TLS_KEY_FILE") .path }}
- name: {{ $variable }}
  value: {{ printf "%s/%s" (include "factorio-isr.natsTlsDir" $) .path | quote }}
{{- end }}
{{- end }}
{{- with $nats.clientTls }}
- name: ISR_NATS_TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" (include "factorio-isr.natsClientTlsDir" $) | quote }}
- name: ISR_NATS_TLS_KEY_FILE
  value: {{ printf "%s/tls.key" (include "factorio-isr.natsClientTlsDir" $) | quote }}
{{- end }}
{{- end }}

{{/*
Checks of one nats.auth entry: (dict "root" $ "auth" $entry "where" "nats.auth.parser").
A password, seed or token written into values fails here (only Secret names are accepted).
*/}}
{{- define "factorio-isr.validateNatsAuth" -}}
{{- $a := .auth | default dict -}}
{{- range $field, $_ := $a }}
{{- if not (has $field (list "existingSecret" "type" "key" "user" "tlsSecret")) }}
{{- fail (printf "%s.%s is not a setting (use existingSecret, type, key, user, tlsSecret): secrets come from an existing Secret, never from values" $.where $field) }}
{{- end }}
{{- end }}
{{- if $a.existingSecret }}
{{- if not (has (toString $a.type) (list "creds" "nkey" "password")) }}
{{- fail (printf "%s.type must be creds, nkey or password (got %v)" .where $a.type) }}
{{- end }}
{{- if and (eq (toString $a.type) "password") (not $a.user) }}
{{- fail (printf "%s.type password needs %s.user" .where .where) }}
{{- end }}
{{- if and $a.user (ne (toString $a.type) "password") }}
{{- fail (printf "%s.user goes with type password only" .where) }}
{{- end }}
{{- else if or $a.type $a.key $a.user }}
{{- fail (printf "%s needs existingSecret: the name of the Secret holding the credentials" .where) }}
{{- else if .root.Values.nats.requireAuth }}
{{- fail (printf "nats.requireAuth is on but %s has no existingSecret" .where) }}
{{- end }}
{{- if and $a.tlsSecret (not .root.Values.nats.tls.existingSecret) }}
{{- fail (printf "%s.tlsSecret is a client certificate; it needs nats.tls.existingSecret for the CA" .where) }}
{{- end }}
{{- end }}

{{/*
ISR_STREAM_* from streams: replicas always, the rest only when set. Numbers are printed as
integers (Helm reads YAML numbers as floats: 2592000 would otherwise print as 2.592e+06).
*/}}
{{- define "factorio-isr.streamEnv" -}}
{{- $st := .Values.streams | default dict }}
- name: ISR_STREAM_REPLICAS
  value: {{ int64 ($st.replicas | default 1) | quote }}
{{- if $st.kvReplicas }}
- name: ISR_STREAM_KV_REPLICAS
  value: {{ int64 $st.kvReplicas | quote }}
{{- end }}
{{- if $st.duplicateWindowSeconds }}
- name: ISR_STREAM_DUPLICATE_WINDOW_S
  value: {{ int64 $st.duplicateWindowSeconds | quote }}
{{- end }}
{{- range $name := list "raw" "events" "metrics" "dlq" "audit" }}
{{- $s := get $st $name | default dict }}
{{- $upper := upper $name }}
{{- if $s.replicas }}
- name: ISR_STREAM_{{ $upper }}_REPLICAS
  value: {{ int64 $s.replicas | quote }}
{{- end }}
{{- if $s.maxAgeSeconds }}
- name: ISR_STREAM_{{ $upper }}_MAX_AGE_S
  value: {{ int64 $s.maxAgeSeconds | quote }}
{{- end }}
{{- if not (kindIs "invalid" $s.maxBytes) }}
- name: ISR_STREAM_{{ $upper }}_MAX_BYTES
  value: {{ int64 $s.maxBytes | quote }}
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
    {{- $auth := include "factorio-isr.tailerAuth" (dict "root" $ "server" "main") | fromYaml }}
    {{- include "factorio-isr.volumes" (dict "root" $ "secrets" false "auth" $auth) | nindent 4 }}

`server` is the tag in servers.yml; `logVolume` the volume Factorio writes --console-log into,
mounted read-only at <tailer.logMountPath>/<server> (each server's log_path must differ, so
servers.yml says log_path: /var/log/factorio/main/console.log for server main). The volumes
carry no RCON secret ("secrets" false) and only this server's NATS credentials
(nats.auth.tailers.<server>). The pod's
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
  {{- $auth := include "factorio-isr.tailerAuth" . | fromYaml }}
  env:
    {{- include "factorio-isr.env" (dict "root" .root "grace" $v.tailer.shutdownGraceSeconds "env" $v.tailer.env "auth" $auth) | nindent 4 }}
    {{- /* No RCON secret: the tailer loads servers.yml without resolving them. */}}
  {{- include "factorio-isr.probes" (dict "root" .root "readiness" false) | nindent 2 }}
  resources:
    {{- toYaml $v.tailer.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: {{ .logVolume }}
      mountPath: {{ printf "%s/%s" $v.tailer.logMountPath .server }}
      readOnly: true
    {{- include "factorio-isr.volumeMounts" (dict "root" .root "secrets" false "auth" $auth) | nindent 4 }}
{{- end }}

{{/* The nats.auth.tailers entry of one server's tailer, as YAML: (dict "root" $ "server" "main"). */}}
{{- define "factorio-isr.tailerAuth" -}}
{{- $tailers := dig "auth" "tailers" (dict) (.root.Values.nats | default dict) }}
{{- toYaml (get $tailers .server | default dict) }}
{{- end }}
