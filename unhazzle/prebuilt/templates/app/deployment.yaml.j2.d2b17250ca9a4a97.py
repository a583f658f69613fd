from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'app/deployment.yaml.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_app = resolve('app')
    l_0_env = resolve('env')
    l_0_p = missing
    try:
        t_1 = environment.filters['block']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'block' found.")
    try:
        t_2 = environment.filters['indent']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'indent' found.")
    try:
        t_3 = environment.filters['labels']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'labels' found.")
    try:
        t_4 = environment.filters['metadata']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'metadata' found.")
    try:
        t_5 = environment.filters['raw']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'raw' found.")
    pass
    l_0_p = context.vars['p'] = environment.get_template('_pod.j2', 'app/deployment.yaml.j2')._get_default_module(context)
    context.exported_vars.discard('p')
    yield 'apiVersion: apps/v1\nkind: Deployment\n'
    yield str(environment.finalize(t_4(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'labels'))))
    yield '\n  annotations:\n    unhazzle.io/image: '
    yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'image')))
    yield '\n'
    if environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'after'):
        pass
        yield '    '
        yield str(environment.finalize(t_5(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'after_annotation'))))
        yield ': '
        yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'after')))
        yield '\n'
    if (not environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'automatic_rollback')):
        pass
        yield '    '
        yield str(environment.finalize(t_5(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'automatic_rollback_annotation'))))
        yield ': "false"\n'
    yield 'spec:\n  revisionHistoryLimit: 5\n  progressDeadlineSeconds: '
    yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'progress_deadline_s')))
    yield '\n  selector:\n    matchLabels:\n'
    yield str(environment.finalize(t_3(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'selector'), 6)))
    yield '\n  strategy:\n'
    if environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'volume'):
        pass
        yield '    type: Recreate\n'
    else:
        pass
        yield '    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 25%\n      maxUnavailable: 0\n'
    yield '  template:\n    metadata:\n      labels:\n'
    yield str(environment.finalize(t_3(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'pod_labels'), 8)))
    yield '\n'
    if environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'pod_annotations'):
        pass
        yield '      annotations:\n'
        yield str(environment.finalize(t_3(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'pod_annotations'), 8)))
        yield '\n'
    yield '    spec:\n'
    yield str(environment.finalize(t_1(t_2(context.call(environment.getattr((undefined(name='p') if l_0_p is missing else l_0_p), 'pod'), (undefined(name='env') if l_0_env is missing else l_0_env), (undefined(name='app') if l_0_app is missing else l_0_app)), 6, first=True))))
    yield '\n'

blocks = {}
debug_info = '1=44&4=47&6=49&7=51&8=54&10=58&11=61&15=64&18=66&20=68&31=75&32=77&34=80&37=83'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/app/deployment.yaml.j2; do not edit.
