from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'app/service.yaml.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_app = resolve('app')
    l_0_env = resolve('env')
    try:
        t_1 = environment.filters['labels']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'labels' found.")
    try:
        t_2 = environment.filters['metadata']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'metadata' found.")
    pass
    yield 'apiVersion: v1\nkind: Service\n'
    yield str(environment.finalize(t_2(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'labels'))))
    yield '\nspec:\n  type: ClusterIP\n  selector:\n'
    yield str(environment.finalize(t_1(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'selector'), 4)))
    yield '\n  ports:\n    - name: app\n      port: '
    yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'port')))
    yield '\n      targetPort: app\n      protocol: TCP\n'

blocks = {}
debug_info = '3=26&7=28&10=30'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/app/service.yaml.j2; do not edit.
