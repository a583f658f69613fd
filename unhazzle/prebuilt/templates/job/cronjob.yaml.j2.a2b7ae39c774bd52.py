from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'job/cronjob.yaml.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_job = resolve('job')
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
    pass
    l_0_p = context.vars['p'] = environment.get_template('_pod.j2', 'job/cronjob.yaml.j2')._get_default_module(context)
    context.exported_vars.discard('p')
    yield 'apiVersion: batch/v1\nkind: CronJob\n'
    yield str(environment.finalize(t_4(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'name'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'labels'))))
    yield '\nspec:\n  schedule: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'schedule')))
    yield '\n  timeZone: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'timezone')))
    yield '\n  concurrencyPolicy: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'concurrency')))
    yield '\n  startingDeadlineSeconds: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'starting_deadline_s')))
    yield '\n  successfulJobsHistoryLimit: 3\n  failedJobsHistoryLimit: 3\n  jobTemplate:\n    metadata:\n      labels:\n'
    yield str(environment.finalize(t_3(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'labels'), 8)))
    yield '\n    spec:\n      backoffLimit: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'retries')))
    yield '\n      activeDeadlineSeconds: '
    yield str(environment.finalize(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'timeout_s')))
    yield '\n      template:\n        metadata:\n          labels:\n'
    yield str(environment.finalize(t_3(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'pod_labels'), 12)))
    yield '\n'
    if environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'pod_annotations'):
        pass
        yield '          annotations:\n'
        yield str(environment.finalize(t_3(environment.getattr((undefined(name='job') if l_0_job is missing else l_0_job), 'pod_annotations'), 12)))
        yield '\n'
    yield '        spec:\n'
    yield str(environment.finalize(t_1(t_2(context.call(environment.getattr((undefined(name='p') if l_0_p is missing else l_0_p), 'pod'), (undefined(name='env') if l_0_env is missing else l_0_env), (undefined(name='job') if l_0_job is missing else l_0_job)), 10, first=True))))
    yield '\n'

blocks = {}
debug_info = '1=38&4=41&6=43&7=45&9=47&11=49&17=51&19=53&20=55&24=57&25=59&27=62&30=65'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/job/cronjob.yaml.j2; do not edit.
