from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_pod.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_probe = l_0_pod = missing
    try:
        t_1 = environment.filters['block']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'block' found.")
    try:
        t_2 = environment.filters['dictsort']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'dictsort' found.")
    try:
        t_3 = environment.filters['labels']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'labels' found.")
    try:
        t_4 = environment.filters['raw']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'raw' found.")
    pass
    def macro(l_1_p, l_1_kind):
        t_5 = []
        if l_1_p is missing:
            l_1_p = undefined("parameter 'p' was not provided", name='p')
        if l_1_kind is missing:
            l_1_kind = undefined("parameter 'kind' was not provided", name='kind')
        pass
        t_5.extend((
            '    ',
            str(environment.finalize(t_4(l_1_kind))),
            ':\n',
        ))
        if environment.getattr(l_1_p, 'path'):
            pass
            t_5.extend((
                '      httpGet:\n        path: ',
                str(environment.finalize(environment.getattr(l_1_p, 'path'))),
                '\n        port: app\n',
            ))
        else:
            pass
            t_5.append(
                '      tcpSocket:\n        port: app\n',
            )
        t_5.extend((
            '      periodSeconds: ',
            str(environment.finalize(environment.getattr(l_1_p, 'period_s'))),
            '\n      failureThreshold: ',
            str(environment.finalize(environment.getattr(l_1_p, 'failures'))),
            '\n      timeoutSeconds: ',
            str(environment.finalize(environment.getattr(l_1_p, 'timeout_s'))),
        ))
        return concat(t_5)
    context.exported_vars.add('probe')
    context.vars['probe'] = l_0_probe = Macro(environment, macro, 'probe', ('p', 'kind'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_env, l_1_app):
        t_6 = []
        if l_1_env is missing:
            l_1_env = undefined("parameter 'env' was not provided", name='env')
        if l_1_app is missing:
            l_1_app = undefined("parameter 'app' was not provided", name='app')
        pass
        t_6.extend((
            'serviceAccountName: ',
            str(environment.finalize(environment.getattr(l_1_env, 'service_account'))),
            '\nautomountServiceAccountToken: false\nenableServiceLinks: false\nterminationGracePeriodSeconds: 30\n',
        ))
        if environment.getattr(l_1_app, 'restart_policy'):
            pass
            t_6.extend((
                'restartPolicy: ',
                str(environment.finalize(environment.getattr(l_1_app, 'restart_policy'))),
                '\n',
            ))
        t_6.extend((
            'securityContext:\n  runAsNonRoot: true\n  runAsUser: ',
            str(environment.finalize(environment.getattr(l_1_env, 'run_as_user'))),
            '\n  runAsGroup: ',
            str(environment.finalize(environment.getattr(l_1_env, 'run_as_user'))),
            '\n  fsGroup: ',
            str(environment.finalize(environment.getattr(l_1_env, 'run_as_user'))),
            '\n  seccompProfile:\n    type: RuntimeDefault\n',
        ))
        if environment.getattr(l_1_app, 'spread'):
            pass
            t_6.extend((
                'topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: kubernetes.io/hostname\n    whenUnsatisfiable: ScheduleAnyway\n    labelSelector:\n      matchLabels:\n',
                str(environment.finalize(t_3(environment.getattr(l_1_app, 'selector'), 8))),
                '\n',
            ))
        t_6.extend((
            'containers:\n  - name: ',
            str(environment.finalize(environment.getattr(l_1_app, 'container'))),
            '\n    image: ',
            str(environment.finalize(environment.getattr(l_1_app, 'image'))),
            '\n    imagePullPolicy: ',
            str(environment.finalize(environment.getattr(l_1_app, 'pull_policy'))),
            '\n',
        ))
        if environment.getattr(l_1_app, 'command'):
            pass
            t_6.append(
                '    command:\n',
            )
            for l_2_part in environment.getattr(l_1_app, 'command'):
                _loop_vars = {}
                pass
                t_6.extend((
                    '      - ',
                    str(environment.finalize(l_2_part)),
                    '\n',
                ))
            l_2_part = missing
        if environment.getattr(l_1_app, 'args'):
            pass
            t_6.append(
                '    args:\n',
            )
            for l_2_part in environment.getattr(l_1_app, 'args'):
                _loop_vars = {}
                pass
                t_6.extend((
                    '      - ',
                    str(environment.finalize(l_2_part)),
                    '\n',
                ))
            l_2_part = missing
        if environment.getattr(l_1_app, 'port'):
            pass
            t_6.extend((
                '    ports:\n      - name: app\n        containerPort: ',
                str(environment.finalize(environment.getattr(l_1_app, 'port'))),
                '\n        protocol: TCP\n',
            ))
        if ((environment.getattr(l_1_app, 'settings') or environment.getattr(l_1_app, 'secrets')) or environment.getattr(l_1_app, 'datadog_env')):
            pass
            t_6.append(
                '    env:\n',
            )
            if environment.getattr(l_1_app, 'datadog_env'):
                pass
                for (l_2_key, l_2_tag) in environment.getattr(l_1_app, 'datadog_env'):
                    _loop_vars = {}
                    pass
                    t_6.extend((
                        '      - name: ',
                        str(environment.finalize(l_2_key)),
                        '\n        valueFrom:\n          fieldRef:\n            fieldPath: ',
                        str(environment.finalize(str_join(("metadata.labels['tags.datadoghq.com/", l_2_tag, "']", )))),
                        '\n',
                    ))
                l_2_key = l_2_tag = missing
            for (l_2_key, l_2_value) in t_2(environment.getattr(l_1_app, 'settings')):
                _loop_vars = {}
                pass
                t_6.extend((
                    '      - name: ',
                    str(environment.finalize(l_2_key)),
                    '\n        value: ',
                    str(environment.finalize(l_2_value)),
                    '\n',
                ))
            l_2_key = l_2_value = missing
            for l_2_name in environment.getattr(l_1_app, 'secrets'):
                _loop_vars = {}
                pass
                t_6.extend((
                    '      - name: ',
                    str(environment.finalize(l_2_name)),
                    '\n        valueFrom:\n          secretKeyRef:\n            name: ',
                    str(environment.finalize(environment.getattr(l_1_app, 'secret_object'))),
                    '\n            key: ',
                    str(environment.finalize(l_2_name)),
                    '\n',
                ))
            l_2_name = missing
        t_6.extend((
            '    resources:\n      requests:\n        cpu: ',
            str(environment.finalize(environment.getattr(l_1_app, 'cpu_request'))),
            '\n        memory: ',
            str(environment.finalize(environment.getattr(l_1_app, 'memory_request'))),
            '\n        ephemeral-storage: ',
            str(environment.finalize(environment.getattr(l_1_app, 'disk_request'))),
            '\n      limits:\n        cpu: ',
            str(environment.finalize(environment.getattr(l_1_app, 'cpu_limit'))),
            '\n        memory: ',
            str(environment.finalize(environment.getattr(l_1_app, 'memory_limit'))),
            '\n        ephemeral-storage: ',
            str(environment.finalize(environment.getattr(l_1_app, 'disk_limit'))),
            '\n',
        ))
        if environment.getattr(l_1_app, 'startup_probe'):
            pass
            t_6.extend((
                str(environment.finalize(t_1(context.call((undefined(name='probe') if l_0_probe is missing else l_0_probe), environment.getattr(l_1_app, 'startup_probe'), 'startupProbe')))),
                '\n',
                str(environment.finalize(t_1(context.call((undefined(name='probe') if l_0_probe is missing else l_0_probe), environment.getattr(l_1_app, 'readiness_probe'), 'readinessProbe')))),
                '\n',
                str(environment.finalize(t_1(context.call((undefined(name='probe') if l_0_probe is missing else l_0_probe), environment.getattr(l_1_app, 'liveness_probe'), 'livenessProbe')))),
                '\n',
            ))
        t_6.append(
            '    terminationMessagePolicy: FallbackToLogsOnError\n    securityContext:\n      allowPrivilegeEscalation: false\n      readOnlyRootFilesystem: true\n      runAsNonRoot: true\n      capabilities:\n        drop:\n          - ALL\n    volumeMounts:\n      - name: tmp\n        mountPath: /tmp\n',
        )
        for l_2_folder in environment.getattr(l_1_app, 'writable'):
            _loop_vars = {}
            pass
            t_6.extend((
                '      - name: ',
                str(environment.finalize(environment.getattr(l_2_folder, 'name'))),
                '\n        mountPath: ',
                str(environment.finalize(environment.getattr(l_2_folder, 'path'))),
                '\n',
            ))
        l_2_folder = missing
        if environment.getattr(l_1_app, 'volume'):
            pass
            t_6.extend((
                '      - name: data\n        mountPath: ',
                str(environment.finalize(environment.getattr(environment.getattr(l_1_app, 'volume'), 'path'))),
                '\n',
            ))
        t_6.extend((
            'volumes:\n  - name: tmp\n    emptyDir:\n      sizeLimit: ',
            str(environment.finalize(environment.getattr(l_1_app, 'tmp_size'))),
            '\n',
        ))
        for l_2_folder in environment.getattr(l_1_app, 'writable'):
            _loop_vars = {}
            pass
            t_6.extend((
                '  - name: ',
                str(environment.finalize(environment.getattr(l_2_folder, 'name'))),
                '\n    emptyDir:\n      sizeLimit: ',
                str(environment.finalize(environment.getattr(l_2_folder, 'size'))),
                '\n',
            ))
        l_2_folder = missing
        if environment.getattr(l_1_app, 'volume'):
            pass
            t_6.extend((
                '  - name: data\n    persistentVolumeClaim:\n      claimName: ',
                str(environment.finalize(environment.getattr(environment.getattr(l_1_app, 'volume'), 'claim'))),
                '\n',
            ))
        return concat(t_6)
    context.exported_vars.add('pod')
    context.vars['pod'] = l_0_pod = Macro(environment, macro, 'pod', ('env', 'app'), False, False, False, context.eval_ctx.autoescape)

blocks = {}
debug_info = '3=36&4=45&5=48&7=52&13=62&14=64&15=66&17=71&18=80&22=83&23=87&27=92&28=94&29=96&32=99&39=103&42=108&43=110&44=112&45=115&47=120&48=125&51=129&53=134&54=139&57=143&60=147&63=150&65=155&66=157&67=162&70=164&73=168&74=173&75=175&77=179&78=184&81=186&82=188&87=194&88=196&89=198&91=200&92=202&93=204&94=207&95=210&96=212&97=214&112=220&113=225&114=227&116=231&118=235&123=240&124=243&125=248&127=250&129=254&132=258'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/_pod.j2; do not edit.
