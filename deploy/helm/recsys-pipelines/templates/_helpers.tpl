{{/* Names and labels. */}}
{{- define "recsys.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "recsys.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "recsys.configPath" -}}/etc/recsys-pipelines/config.json{{- end -}}
{{- define "recsys.cli" -}}/app/bin/recsys-pipelines.js{{- end -}}

{{/*
Checks of the config before anything renders: the pods share nothing but the bucket, and
no credential may land in the ConfigMap.
*/}}
{{- define "recsys.checkConfig" -}}
{{- $c := .Values.config -}}
{{- $store := $c.object_store | default dict -}}
{{- if ne ($store.type | default "fs") "s3" -}}
{{- fail "config.object_store.type must be s3 (or minio): pods on different nodes share nothing but the bucket (docs/kubernetes.md)" -}}
{{- end -}}
{{- range $key := list "canonical_dir" "artifacts_dir" "checkpoint_dir" -}}
{{- if not (hasPrefix "s3://" (get $c $key | default "" | toString)) -}}
{{- fail (printf "config.%s must be an s3://<bucket>/<prefix> folder: pods on different nodes share nothing but the bucket (docs/kubernetes.md)" $key) -}}
{{- end -}}
{{- end -}}
{{- range $where := list "object_store" "raw_source" -}}
{{- $s3 := (get $c $where | default dict).s3 | default dict -}}
{{- range $k := list "access_key" "secret_key" -}}
{{- if get $s3 $k -}}
{{- fail (printf "config.%s.s3.%s: credentials go in the Secret (credentials.secretName, as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), never in the ConfigMap" $where $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $pg := ((get $c "raw_source" | default dict).postgres | default dict).dsn | default "" -}}
{{- range $dsn := list (($c.db | default dict).dsn | default "") $pg -}}
{{- if regexMatch "^[a-z]+://[^/@]*:[^/@]*@" $dsn -}}
{{- fail "config: a Postgres dsn carries a password: put it in the Secret as PGPASSWORD and leave it out of the dsn" -}}
{{- end -}}
{{- if regexMatch "(^|\\s)password=" $dsn -}}
{{- fail "config: a Postgres dsn carries a password: put it in the Secret as PGPASSWORD and leave it out of the dsn" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The distinct artifact types of config.artifact_kinds (aliases resolved), as a count. */}}
{{- define "recsys.typeCount" -}}
{{- $alias := dict "content" "content_sim" "session" "session_seq" -}}
{{- $types := list -}}
{{- range $k := (.Values.config.artifact_kinds | default (list "popularity" "cooc")) -}}
{{- $types = append $types (get $alias $k | default $k) -}}
{{- end -}}
{{- $types | uniq | len -}}
{{- end -}}

{{/* Days of backfill.start..backfill.end, inclusive (rounded: a DST hour is not a day). */}}
{{- define "recsys.backfillDays" -}}
{{- $b := .Values.backfill -}}
{{- range $k := list "start" "end" -}}
{{- if not (regexMatch "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" (get $b $k | toString)) -}}
{{- fail (printf "backfill.%s: expected YYYY-MM-DD, got %q" $k (get $b $k | toString)) -}}
{{- end -}}
{{- end -}}
{{- $s := toDate "2006-01-02" $b.start -}}
{{- $e := toDate "2006-01-02" $b.end -}}
{{- if lt $e.Unix $s.Unix -}}
{{- fail (printf "backfill.end (%s) is before backfill.start (%s)" $b.end $b.start) -}}
{{- end -}}
{{- add1 (div (add (sub $e.Unix $s.Unix) 43200) 86400) -}}
{{- end -}}

{{/*
podFailurePolicy from the exit codes of docs/cli.md: 2 (usage or config) fails the Job, 3
(a retry cannot fix it) fails the index (or the Job, for a Job without indexes), 1 and a
killed pod are retried up to the backoff limit, and a pod evicted or preempted
(DisruptionTarget) is retried without counting. A replacement pod starts only once the pod
it replaces has failed (podReplacementPolicy: Failed, the default with a podFailurePolicy,
set here because the publisher lock's take-over rule relies on it: storage contract §1.5).
*/}}
{{- define "recsys.podFailurePolicy" -}}
podReplacementPolicy: Failed
podFailurePolicy:
  rules:
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
    - action: FailJob
      onExitCodes:
        containerName: recsys-pipelines
        operator: In
        values: {{ if .indexed }}[2]{{ else }}[2, 3]{{ end }}
    {{- if .indexed }}
    - action: FailIndex
      onExitCodes:
        containerName: recsys-pipelines
        operator: In
        values: [3]
    {{- end }}
{{- end -}}

{{/*
The pod template of every Job: args (a list), command (optional list), component (label),
root (the chart's context).
*/}}
{{- define "recsys.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
metadata:
  labels:
    {{- include "recsys.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "recsys.configJson" $root | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- with $v.serviceAccountName }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  containers:
    - name: recsys-pipelines
      image: "{{ $v.image.repository }}:{{ $v.image.tag | default $root.Chart.AppVersion }}"
      imagePullPolicy: {{ $v.image.pullPolicy }}
      workingDir: /tmp
      {{- with .command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      args:
        {{- toYaml .args | nindent 8 }}
      env:
        - name: TMPDIR
          value: /tmp
        - name: HOME
          value: /tmp
        # Who writes (docs/storage-contract.md): the Job's uid and the pod's index name the
        # owner of a lock, so that a retry of the same index takes over its own stale lock.
        - name: RECSYS_JOB_UID
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['batch.kubernetes.io/controller-uid']
        - name: RECSYS_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: RECSYS_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.credentials.secretName }}
      envFrom:
        - secretRef:
            name: {{ . }}
      {{- end }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        {{- toYaml $v.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/recsys-pipelines
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "recsys.fullname" $root }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{- define "recsys.configJson" -}}
{{- include "recsys.checkConfig" . -}}
{{- toPrettyJson .Values.config -}}
{{- end -}}

{{/* The flags every day command of a pod takes. */}}
{{- define "recsys.commonArgs" -}}
- --config
- {{ include "recsys.configPath" . }}
- --workers
- {{ .Values.workers | quote }}
- --log-format
- {{ .Values.logFormat }}
{{- end -}}
