from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'app/autoscaler.yaml.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_app = resolve('app')
    l_0_env = resolve('env')
    try:
        t_1 = environment.filters['metadata']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'metadata' found.")
    pass
    yield 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n'
    yield str(environment.finalize(t_1(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'labels'))))
    yield '\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: '
    yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name')))
    yield '\n  minReplicas: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'min_instances')))
    yield '\n  maxReplicas: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'max_instances')))
    yield '\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'target_cpu_percent')))
    yield '\n  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_cooldown_s')))
    yield '\n      selectPolicy: Max\n      policies:\n        - type: Pods\n          value: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_pods')))
    yield '\n          periodSeconds: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_period_s')))
    yield '\n'
    if environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_percent'):
        pass
        yield '        - type: Percent\n          value: '
        yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_percent')))
        yield '\n          periodSeconds: '
        yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_up_period_s')))
        yield '\n'
    yield '    scaleDown:\n      stabilizationWindowSeconds: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_down_cooldown_s')))
    yield '\n      selectPolicy: Max\n      policies:\n        - type: Percent\n          value: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'sizing'), 'scale_down_percent')))
    yield '\n          periodSeconds: 60\n'

blocks = {}
debug_info = '3=20&8=22&9=24&10=26&17=28&20=30&24=32&25=34&26=36&28=39&29=41&32=44&36=46'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/app/autoscaler.yaml.j2; do not edit.
