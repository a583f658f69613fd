{{/* metadata: name, namespace, labels; as Unhazzle's _macros.j2 writes it. */}}
{{- define "eq.metadata" -}}
metadata:
  name: {{ .name | quote }}
{{- if .namespace }}
  namespace: {{ .namespace | quote }}
{{- end }}
  labels:
{{- range $k, $v := .labels }}
    {{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "eq.probe" -}}
{{ .kind }}:
{{- if .p.path }}
  httpGet:
    path: {{ .p.path | quote }}
    port: app
{{- else }}
  tcpSocket:
    port: app
{{- end }}
  periodSeconds: {{ .p.period_s }}
  failureThreshold: {{ .p.failures }}
  timeoutSeconds: {{ .p.timeout_s }}
{{- end -}}

{{/* The pod: as Unhazzle's _pod.j2 writes it. */}}
{{- define "eq.pod" -}}
{{- $env := .env -}}{{- $app := .app -}}
serviceAccountName: {{ $env.service_account | quote }}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: 30
{{- if $app.restart_policy }}
restartPolicy: {{ $app.restart_policy | quote }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $env.run_as_user }}
  runAsGroup: {{ $env.run_as_user }}
  fsGroup: {{ $env.run_as_user }}
  seccompProfile:
    type: RuntimeDefault
{{- if $app.spread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
{{- range $k, $v := $app.selector }}
        {{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
containers:
  - name: {{ $app.container | quote }}
    image: {{ $app.image | quote }}
    imagePullPolicy: {{ $app.pull_policy | quote }}
{{- if $app.command }}
    command:
{{- range $app.command }}
      - {{ . | quote }}
{{- end }}
{{- end }}
{{- if $app.args }}
    args:
{{- range $app.args }}
      - {{ . | quote }}
{{- end }}
{{- end }}
{{- if $app.port }}
    ports:
      - name: app
        containerPort: {{ $app.port }}
        protocol: TCP
{{- end }}
{{- if or $app.settings $app.secrets $app.datadog_env }}
    env:
{{- range $app.datadog_env }}
      - name: {{ index . 0 | quote }}
        valueFrom:
          fieldRef:
            fieldPath: {{ printf "metadata.labels['tags.datadoghq.com/%s']" (index . 1) | quote }}
{{- end }}
{{- range $k, $v := $app.settings }}
      - name: {{ $k | quote }}
        value: {{ $v | quote }}
{{- end }}
{{- range $app.secrets }}
      - name: {{ . | quote }}
        valueFrom:
          secretKeyRef:
            name: {{ $app.secret_object | quote }}
            key: {{ . | quote }}
{{- end }}
{{- end }}
    resources:
      requests:
        cpu: {{ $app.cpu_request | quote }}
        memory: {{ $app.memory_request | quote }}
        ephemeral-storage: {{ $app.disk_request | quote }}
      limits:
        cpu: {{ $app.cpu_limit | quote }}
        memory: {{ $app.memory_limit | quote }}
        ephemeral-storage: {{ $app.disk_limit | quote }}
{{- if $app.startup_probe }}
{{ include "eq.probe" (dict "p" $app.startup_probe "kind" "startupProbe") | indent 4 }}
{{ include "eq.probe" (dict "p" $app.readiness_probe "kind" "readinessProbe") | indent 4 }}
{{ include "eq.probe" (dict "p" $app.liveness_probe "kind" "livenessProbe") | indent 4 }}
{{- end }}
    terminationMessagePolicy: FallbackToLogsOnError
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop:
          - ALL
    volumeMounts:
      - name: tmp
        mountPath: /tmp
{{- range $app.writable }}
      - name: {{ .name | quote }}
        mountPath: {{ .path | quote }}
{{- end }}
{{- if $app.volume }}
      - name: data
        mountPath: {{ $app.volume.path | quote }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ $app.tmp_size | quote }}
{{- range $app.writable }}
  - name: {{ .name | quote }}
    emptyDir:
      sizeLimit: {{ .size | quote }}
{{- end }}
{{- if $app.volume }}
  - name: data
    persistentVolumeClaim:
      claimName: {{ $app.volume.claim | quote }}
{{- end }}
{{- end -}}
