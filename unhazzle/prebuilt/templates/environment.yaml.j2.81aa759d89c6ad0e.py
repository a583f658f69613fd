from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'environment.yaml.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
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
    try:
        t_3 = environment.filters['raw']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'raw' found.")
    pass
    yield 'apiVersion: v1\nkind: Namespace\n'
    yield str(environment.finalize(t_2(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), None, environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace_labels'))))
    yield '\n---\napiVersion: v1\nkind: ServiceAccount\n'
    yield str(environment.finalize(t_2(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'service_account'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nautomountServiceAccountToken: false\n---\napiVersion: v1\nkind: ResourceQuota\n'
    yield str(environment.finalize(t_2('unhazzle-quota', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nspec:\n  hard:\n'
    yield str(environment.finalize(t_1(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'quota'), 4)))
    yield '\n---\napiVersion: v1\nkind: LimitRange\n'
    yield str(environment.finalize(t_2('unhazzle-defaults', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nspec:\n  limits:\n    - type: Container\n      default:\n        cpu: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_limit'), 'cpu')))
    yield '\n        memory: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_limit'), 'memory')))
    yield '\n        ephemeral-storage: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_limit'), 'disk')))
    yield '\n      defaultRequest:\n        cpu: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_request'), 'cpu')))
    yield '\n        memory: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_request'), 'memory')))
    yield '\n        ephemeral-storage: '
    yield str(environment.finalize(environment.getattr(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'default_request'), 'disk')))
    yield '\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
    yield str(environment.finalize(t_2('default-deny-ingress', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nspec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
    yield str(environment.finalize(t_2('allow-same-environment', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nspec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n  ingress:\n    - from:\n        - podSelector: {}\n'
    if environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'serves_public'):
        pass
        yield '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
        yield str(environment.finalize(t_2('allow-ingress-controller', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
        yield '\nspec:\n  podSelector:\n    matchLabels:\n      '
        yield str(environment.finalize(t_3(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'public_label'))))
        yield ': "true"\n  policyTypes:\n    - Ingress\n  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: '
        yield str(environment.finalize(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'ingress_namespace')))
        yield '\n'
    yield '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
    yield str(environment.finalize(t_2('deny-cloud-metadata', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
    yield '\nspec:\n  podSelector: {}\n  policyTypes:\n    - Egress\n  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n            except:\n              - 169.254.169.254/32\n        - ipBlock:\n            cidr: ::/0\n'
    if environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'previews_reach'):
        pass
        yield '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
        yield str(environment.finalize(t_2('allow-previews', environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'namespace'), environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'labels'))))
        yield '\nspec:\n  podSelector:\n    matchExpressions:\n      - key: '
        yield str(environment.finalize(t_3(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'app_label'))))
        yield '\n        operator: In\n        values:\n'
        for l_1_app in environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'previews_reach'):
            _loop_vars = {}
            pass
            yield '          - '
            yield str(environment.finalize(l_1_app))
            yield '\n'
        l_1_app = missing
        yield '  policyTypes:\n    - Ingress\n  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n'
        yield str(environment.finalize(t_1(environment.getattr((undefined(name='env') if l_0_env is missing else l_0_env), 'preview_namespaces'), 14)))
        yield '\n'

blocks = {}
debug_info = '3=31&7=33&12=35&15=37&19=39&24=41&25=43&26=45&28=47&29=49&30=51&34=53&42=55&50=57&55=60&59=62&66=64&71=67&84=69&89=72&93=74&96=76&97=80&105=84'

# Made by `make prebuilt` with jinja2 3.1.6 from templates/environment.yaml.j2; do not edit.
