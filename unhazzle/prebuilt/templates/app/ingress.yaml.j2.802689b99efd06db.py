from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'app/ingress.yaml.j2'

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
    yield 'apiVersion: networking.k8s.io/v1\nkind: Ingress\n'
    yield str(environment.finalize(t_1(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'labels'))))
    yield '\n  annotations:\n    cert-manager.io/cluster-issuer: '
    yield str(environment.finalize(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'cluster_issuer')))
    yield '\nspec:\n  ingressClassName: '
    yield str(environment.finalize(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'ingress_class')))
    yield '\n  tls:\n    - secretName: '
    yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'tls_secret')))
    yield '\n      hosts:\n'
    for l_1_host in environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'hosts'):
        _loop_vars = {}
        pass
        yield '        - '
        yield str(environment.finalize(l_1_host))
        yield '\n'
    l_1_host = missing
    yield '  rules:\n'
    for l_1_host in environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'hosts'):
        _loop_vars = {}
        pass
        yield '    - host: '
        yield str(environment.finalize(l_1_host))
        yield '\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: '
        yield str(environment.finalize(environment.getattr((undefined(name='app') if l_0_app is missing else l_0_app), 'name')))
        yield '\n                port:\n                  name: app\n'
    l_1_host = missing

blocks = {}
debug_info = '3=20&5=22&7=24&9=26&11=28&12=32&15=36&16=40&23=42'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/app/ingress.yaml.j2; do not edit.
