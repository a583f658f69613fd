"""`unhazzle validate`: one OK line for a good spec; every problem at once, located, exit 2."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES, MINIMAL


def test_validate_example_prints_one_ok_line(cli):
    result = cli("validate", str(EXAMPLES / "shop" / "unhazzle.yaml"))
    assert result.code == 0
    assert result.out.count("\n") == 1 and "OK" in result.out
    assert result.err == ""


def test_validate_reports_every_error_located(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: fsn2").replace("port: 8080", "port: 8080\n    imgae: x")
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines == [
        f"{spec}:3:9: error: region: 'fsn2' is not allowed; choose fsn1 | nbg1 | hel1 (did you mean 'fsn1'?)",
        f"{spec}:10:5: error: apps.web: unknown key 'imgae' (did you mean 'image'?)",
    ]


def test_validate_reference_to_an_app_without_port_in_one_environment(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("production: {}", "production: {}\n  staging:\n    apps:\n      api: {port: null}")
        + "    env: {API_URL: '${apps.api.url}'}\n  api:\n    image: nginx\n    port: 9000\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:13:21: error: '${{apps.api.url}}': app 'api' has no port in staging, "
        "so it has no address there"
    ]


def test_validate_a_reference_without_its_closing_brace_is_located(cli, write_spec):
    # `${` starts a reference and `$${` is a literal `${` (docs/spec.md): an unclosed one is a
    # mistake to point at, not text to pass on as it stands
    spec = write_spec(
        MINIMAL
        + "    env:\n      A: ${apps.nope.url\n      B: 'x ${apps.web.url} y ${apps.web.port'\n"
        + "      C: $${apps.web.url\n      D: ok ${apps.web.host}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:11:10: error: '${{apps.nope.url' has no closing '}}'; close it, or write $${{ for a literal ${{",
        f"{spec}:12:31: error: '${{apps.web.port' has no closing '}}'; close it, or write $${{ for a literal ${{",
    ]


@pytest.mark.timeout(60)  # linear, well under a second; the patterns it replaced took hours
def test_validate_a_setting_of_many_unclosed_references_is_one_located_error(cli, write_spec):
    # 100,000 `${`, each closed by nothing: the check is linear (searched from every `${`, a
    # value like this one took hours)
    spec = write_spec(MINIMAL + "    env:\n      A: '" + "${]" * 100_000 + "'\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    (said,) = result.err.strip().splitlines()
    assert said.startswith(f"{spec}:11:11: error: '${{]${{]") and said.endswith(
        "...' has no closing '}'; close it, or write $${ for a literal ${"
    )


def test_validate_a_reference_with_spaces_inside_is_reported_once_per_place(cli, write_spec):
    # each environment resolves the shared settings and each app's own: each reference is said
    # once, where it is written (two in one value are two places), whatever its spacing
    text = MINIMAL.replace("production: {}", "production: {}\n  staging: {}")
    spec = write_spec(
        text.replace("environments:", "env: {S: '${ apps.nope.url }'}\nenvironments:", 1)
        + "    env: {B: '${ apps.nope.url } and ${apps.nope.url}'}\n"
        + "jobs:\n  j: {image: 'x:1', schedule: '@daily', env: {J: '${  apps.nope.url  }'}}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    said = "'${apps.nope.url}' names no app 'nope'; the apps are web"
    assert result.err.strip().splitlines() == [
        f"{spec}:4:11: error: {said}",
        f"{spec}:12:15: error: {said}",
        f"{spec}:12:38: error: {said}",
        f"{spec}:14:51: error: {said}",
    ]


def test_validate_a_reference_in_a_block_of_lines_is_located_on_its_line(cli, write_spec):
    # the header's comment is no part of the value; the same reference twice is two places
    spec = write_spec(
        MINIMAL
        + "    env:\n      B: |  # was ${apps.nope.url}\n        first line\n"
        + "        then ${apps.nope.url} here\n        and ${apps.nope.url}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    said = "error: '${apps.nope.url}' names no app 'nope'; the apps are web"
    assert result.err.splitlines() == [f"{spec}:13:14: {said}", f"{spec}:14:13: {said}"]


def test_validate_a_literal_before_a_bad_reference_is_passed_over(cli, write_spec):
    # `$${apps.nope.url}` is text; the reference after it is the one to point at
    text = '    env:\n      A: "$${apps.nope.url} then ${apps.nope.url}"\n'
    text += "      B: |\n        lit $${apps.nope.url}\n        real ${apps.nope.url}\n"
    spec = write_spec(MINIMAL + text)
    said = "error: '${apps.nope.url}' names no app 'nope'; the apps are web"
    assert cli("validate", str(spec)).err.splitlines() == [f"{spec}:11:34: {said}", f"{spec}:14:14: {said}"]


@pytest.mark.timeout(60)  # linear, a second or two; searching each from the value's start took minutes
def test_validate_many_bad_references_in_one_block_are_each_located_at_once(cli, write_spec):
    lines = "".join(f"        ${{apps.a{n}.url}}\n" for n in range(40_000))
    spec = write_spec(MINIMAL + "    env:\n      B: |\n" + lines)
    result = cli("validate", str(spec))
    assert result.code == 2
    said = result.err.splitlines()
    assert len(said) == 40_000 and said[-1].startswith(f"{spec}:40011:9: error: '${{apps.a39999.url}}'")


def test_validate_a_value_an_override_sets_is_located_in_the_override(cli, write_spec):
    # the merged app's check names the override, and points at it, not at the base app's value
    overrides = "  production:\n    apps:\n      web: {volume: {path: null}}\n"
    spec = write_spec(
        MINIMAL.replace("  production: {}\n", overrides) + "    volume: {size: 1GB, path: /data}\n"
    )
    result = cli("validate", str(spec))
    assert result.err == (
        f"{spec}:7:28: error: environments.production.apps.web.volume.path: must be text, not an empty value\n"
    )


def test_validate_contract_example_without_secret_values_is_ok(cli, write_spec):
    # A project that has not set up Unhazzle-managed secrets (no recipients, no secrets files)
    # validates: the plan warns about the missing values instead.
    spec = write_spec(MINIMAL + "    secrets: [SESSION_KEY]\n")
    assert cli("validate", str(spec)).code == 0
    plan = cli("plan", str(spec))
    assert plan.code == 0 and "SESSION_KEY has no value yet" in plan.out


def test_validate_managed_secrets_without_values_fail(cli, write_spec):
    from tests.support.agekeys import generate_identity

    keys = f"secrets: {{recipients: [{generate_identity()[1]}]}}\n"
    spec = write_spec(
        MINIMAL.replace("environments:", keys + "environments:") + "    secrets: [SESSION_KEY]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert (
        "secret SESSION_KEY has no value; set it with `unhazzle secrets set web SESSION_KEY --env production`"
        in result.err
    )


def test_validate_unquoted_number_where_text_goes_says_to_quote_it(cli, write_spec):
    spec = write_spec(MINIMAL.replace("port: 8080", "port: 8080\n    command: [run, 1.10, 0E0, true]"))
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:10:20: error: apps.web.command[1]: must be text, not 1.1 (YAML reads it as a number): "
        "put it in quotes",
        f"{spec}:10:26: error: apps.web.command[2]: must be text, not 0.0 (YAML reads it as a number): "
        "put it in quotes",
        f"{spec}:10:31: error: apps.web.command[3]: must be text, not true (YAML reads it as true/false): "
        "put it in quotes",
    ]


def test_validate_a_key_that_is_not_text_is_located_at_itself_in_the_users_words(cli, write_spec):
    # the first entry of each mapping is fine, so a problem placed there would be misplaced
    spec = write_spec(
        MINIMAL.replace("production: {}", "production:\n    apps: {null: {}}\n  1.5: {badge: nope}")
        + "  api: {image: x:1}\n  ~:\n    image: BAD IMAGE\n  2.5: {image: x:1}\n  true: {image: x:1}\n"
        "  7: {image: x:1}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    empty = "a key is empty (YAML reads null and ~ as nothing); write a name, in quotes if it is null"
    assert result.err.strip().splitlines() == [
        f"{spec}:6:12: error: environments.production.apps: {empty}",
        f"{spec}:7:3: error: environments.1.5: must be text, not 1.5 (YAML reads it as a number): "
        "put it in quotes",
        f"{spec}:7:16: error: environments.1.5.badge: 'nope' is not allowed; "
        "choose production | staging | preview | development",
        f"{spec}:13:3: error: apps: {empty}",
        f"{spec}:14:12: error: apps.null.image: 'BAD IMAGE' is not valid: write an image reference such as "
        "ghcr.io/acme/web:1.4.2 or redis:7.2-alpine (lowercase repository, optional :tag or @sha256:digest)",
        f"{spec}:15:3: error: apps.2.5: must be text, not 2.5 (YAML reads it as a number): put it in quotes",
        f"{spec}:16:3: error: apps.true: must be text, not true (YAML reads it as true/false): put it in quotes",
        f"{spec}:17:3: error: apps.7: must be text, not 7 (YAML reads it as a number): put it in quotes",
    ]


def test_validate_an_escape_that_is_no_character_is_refused_wherever_it_would_reach_a_manifest(
    cli, write_spec
):
    # "\ud800" makes a lone surrogate, which no manifest reader takes (the cluster refused the file)
    spec = write_spec(
        MINIMAL.replace("environments:", 'env: {SHARED: "a\\udfff"}\nenvironments:')
        + '    env: {GREETING: "hi \\ud800"}\n    volume: {size: 1GB, path: "/data\\ud800"}\n'
        + 'jobs:\n  j: {image: "x:1", schedule: "@daily", env: {J: "\\ud900"}}\n'
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    said = "holds an escape (\\uD800-\\uDFFF) that is no character; write the character itself"
    assert result.err.strip().splitlines() == [
        f"{spec}:4:15: error: env.SHARED: {said}",
        f"{spec}:11:21: error: apps.web.env.GREETING: {said}",
        f"{spec}:12:31: error: apps.web.volume.path: {said}",
        f"{spec}:14:50: error: jobs.j.env.J: {said}",
    ]


def test_validate_an_apps_own_setting_named_like_its_database_url_is_located(cli, write_spec):
    # the URL reaches the app under the database's secret name: two variables of one name, the
    # cluster refuses
    spec = write_spec(
        MINIMAL
        + "    env: {DATABASE_URL: postgres://x}\n    databases: [main]\n"
        + "databases:\n  main: {provider: aiven, region: aws-eu-central-1, secret: DATABASE_URL}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:10:25: error: apps.web.env: 'DATABASE_URL' is the connection URL of database 'main' "
        "(its secret); rename the setting, or remove it"
    ]


def test_validate_a_volume_in_tmp_is_refused_as_the_cluster_would(cli, write_spec):
    # /tmp is mounted for every app already: a second mount there is refused by the cluster
    staging_keeps_the_base = (
        "production:\n    apps: {web: {volume: {size: 1GB, path: /tmp/db}}}\n  staging: {}"
    )
    spec = write_spec(
        MINIMAL.replace("production: {}", staging_keeps_the_base) + "    volume: {size: 1GB, path: /tmp}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert sorted(result.err.strip().splitlines()) == [
        f"{spec}:12:31: error: apps.web.volume.path: '/tmp' is /tmp, the app's own folder emptied at "
        "every start; keep the disk elsewhere, such as /data",
        f"{spec}:6:44: error: apps.web (in production).volume.path: '/tmp/db' is inside /tmp, the app's own "
        "folder emptied at every start; keep the disk elsewhere, such as /data",
    ]


def test_validate_a_volume_in_tmp_is_refused_however_the_path_is_spelled(cli, write_spec):
    spec = write_spec(MINIMAL + "    volume: {size: 1GB, path: //tmp}\n  api:\n    image: x:1\n"
                      "    volume: {size: 1GB, path: /./tmp/x/}\n")  # fmt: skip
    result = cli("validate", str(spec))
    assert result.code == 2
    assert [line.split(": error: ")[1].split(",")[0] for line in result.err.strip().splitlines()] == [
        "apps.web.volume.path: '//tmp' is /tmp",
        "apps.api.volume.path: '/./tmp/x/' is inside /tmp",
    ]


def test_validate_a_volume_path_is_at_most_1024_characters_as_other_paths(cli, write_spec):
    spec = write_spec(MINIMAL + "    volume: {size: 1GB, path: /" + "a" * 2_000_000 + "}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().endswith("' is too long: at most 1024 characters")


def test_validate_a_field_name_that_is_not_text_is_located_at_itself_in_the_users_words(cli, write_spec):
    # where the keys are the spec's own field names (an app, its profile, the top level)
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: fsn1\n7: x") + "    ~: 1\n    profile: {1.5: high}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    empty = "a key is empty (YAML reads null and ~ as nothing); write a name, in quotes if it is null"
    assert result.err.strip().splitlines() == [
        f"{spec}:4:1: error: 7: must be text, not 7 (YAML reads it as a number): put it in quotes",
        f"{spec}:11:5: error: apps.web: {empty}",
        f"{spec}:12:15: error: apps.web.profile.1.5: must be text, not 1.5 (YAML reads it as a number): "
        "put it in quotes",
    ]


def test_validate_true_is_neither_the_version_nor_a_number(cli, write_spec):
    # Python counts True as 1; YAML, the JSON Schema and this spec do not
    text = MINIMAL.replace("version: 1", "version: true").replace(
        "production: {}", "production: {}\n  staging: {}"
    )
    spec = write_spec(
        text + "    size: {cpu: true}\nbudget: {max_monthly_eur: true}\n"
        "previews: {from: staging, limits: {max_monthly_eur: true}}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:1:10: error: version: true is not allowed; choose 1",
        f"{spec}:11:17: error: apps.web.size.cpu: must be a number, not true",
        f"{spec}:12:27: error: budget.max_monthly_eur: must be a number, not true",
        f"{spec}:13:53: error: previews.limits.max_monthly_eur: must be a number, not true",
    ]


def test_validate_health_path_without_leading_slash_says_how_to_write_it(cli, write_spec):
    spec = write_spec(MINIMAL + "    health: {path: healthz}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:10:20: error: apps.web.health.path: 'healthz' is not valid: "
        "write a path that starts with '/' and has no spaces, such as /healthz\n"
    )


def test_validate_problem_only_an_environment_causes_names_that_environment(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace(
            "  production: {}\n", "  production: {}\n  staging:\n    apps:\n      web: {public: false}\n"
        )
        + "    public: true\n    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:14:14: error: apps.web (in staging).domains: domains need public: true on the app\n"
    )


def test_validate_two_apps_with_the_same_domain_fail(cli, write_spec):
    spec = write_spec(
        MINIMAL
        + "    public: true\n    domains: [shop.example.com]\n"
        + "  shop:\n    image: ghcr.io/acme/shop:1.0\n    port: 8080\n    public: true\n"
        + "    domains: [www.example.com, shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:16:32: error: apps.shop (in production).domains: 'shop.example.com' is already the "
        "address of app 'web' in production; give each app its own domain\n"
    )


def test_validate_an_environment_repeating_another_ones_domain_fails(cli, write_spec):
    # staging's override claims production's address
    spec = write_spec(
        MINIMAL.replace(
            "production: {}",
            "production: {}\n  staging:\n    apps:\n      web: {domains: [shop.example.com]}",
        )
        + "    public: true\n    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:8:23: error: apps.web (in staging).domains: 'shop.example.com' already serves this app in "
        "production; give it domains of its own under environments.staging.apps.web\n"
    )


def test_validate_two_production_environments_sharing_base_domains_fail(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("production: {}", "production: {}\n  production-eu: {badge: production}")
        + "    public: true\n    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert (
        "apps.web (in production-eu).domains: 'shop.example.com' already serves this app in production"
        in (result.err)
    )


def test_validate_volume_larger_than_a_hetzner_volume_fails(cli, write_spec):
    spec = write_spec(MINIMAL + "    volume: {size: 11TB, path: /data}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert (
        result.err
        == f"{spec}:10:20: error: apps.web.volume.size: a volume holds at most 10TB (the largest Hetzner Cloud volume)\n"
    )


@pytest.mark.parametrize(
    ("project", "environment"), [("kube", "system"), ("kube", "public"), ("unhazzle", "system")]
)
def test_validate_project_and_environment_that_name_the_cluster_own_parts_fail(
    cli, write_spec, project, environment
):
    spec = write_spec(
        MINIMAL.replace("project: shop", f"project: {project}").replace("production", environment)
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:5:3: error: environments.{environment}: '{project}' and '{environment}' together make "
        f"'{project}-{environment}', a name the cluster keeps for itself; rename the project or the environment\n"
    )


@pytest.mark.parametrize("name", ["unhazzle-applier", "unhazzle-inventory", "unhazzle-status"])
def test_validate_app_named_like_unhazzles_own_objects_fails(cli, write_spec, name):
    # the cluster's guard refuses such an app every round; validate says so before publishing
    spec = write_spec(MINIMAL.replace("  web:", f"  {name}:"))
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == (
        f"{spec}:7:3: error: apps.{name}: the name '{name}' is kept for Unhazzle's own use in "
        "every environment; rename the app\n"
    )


def test_validate_instance_bigger_than_a_server_fails(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace(
            "production: {}", "production: {}\n  staging:\n    apps:\n      web: {size: {memory: 64GB}}"
        )
        + "    size: {cpu: 16, memory: 512MB}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:8:28: error: apps.web (in staging).size.memory: 64 GB is more than {SERVER}, {ONE_SERVER}",
        f"{spec}:13:17: error: apps.web.size.cpu: 16 vCPU is more than {SERVER}, {ONE_SERVER}",
    ]


def test_validate_an_instance_needs_less_than_a_whole_server(cli, write_spec):
    # the cluster keeps some of every server for its own services (cluster.yaml: node_reserved)
    spec = write_spec(MINIMAL + "    size: {cpu: 4, memory: 8000MB}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:10:17: error: apps.web.size.cpu: 4 vCPU is more than {SERVER}, {ONE_SERVER}",
        f"{spec}:10:28: error: apps.web.size.memory: 7.8125 GB is more than {SERVER}, {ONE_SERVER}",
    ]
    assert cli("validate", str(write_spec(MINIMAL + "    size: {cpu: 3.9, memory: 7936MB}\n"))).code == 0


SERVER = (
    "one cx33 server gives an instance (4 vCPU and 8 GB, less the 0.1 vCPU and 256 MB the cluster "
    "keeps there for itself)"
)
ONE_SERVER = "and an instance runs on one server; use a smaller size and more instances"


def test_validate_instance_bigger_than_a_server_is_said_with_the_other_errors(cli, write_spec):
    # The size check needs only the size: a wrong region elsewhere does not hide it. A size past
    # the model's own bound (cpu over 64) is said as too big for a server too, not as "at most 64".
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: xx").replace(
            "production: {}", "production: {}\n  staging:\n    apps:\n      web: {size: {memory: 64GB}}"
        )
        + "    size: {cpu: 16, memory: 512MB}\n  api:\n    image: ghcr.io/acme/api:1.0\n    size: {cpu: 100}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    server = f"is more than {SERVER}, {ONE_SERVER}"
    assert result.err.strip().splitlines() == [
        f"{spec}:3:9: error: region: 'xx' is not allowed; choose fsn1 | nbg1 | hel1",
        f"{spec}:8:28: error: apps.web (in staging).size.memory: 64 GB {server}",
        f"{spec}:13:17: error: apps.web.size.cpu: 16 vCPU {server}",
        f"{spec}:16:17: error: apps.api.size.cpu: 100 vCPU {server}",
    ]


def test_validate_size_far_past_a_server_says_the_server_as_the_user_writes_it(cli, write_spec):
    spec = write_spec(MINIMAL + "    size: {cpu: 100, memory: 300GB}\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:10:17: error: apps.web.size.cpu: 100 vCPU is more than {SERVER}, {ONE_SERVER}",
        f"{spec}:10:30: error: apps.web.size.memory: 300 GB is more than {SERVER}, {ONE_SERVER}",
    ]


ONE_RUN = "and a run is one instance on one server; use a smaller size"


def test_validate_job_or_release_step_bigger_than_a_server_is_an_error_where_its_size_is_written(
    cli, write_spec
):
    # A run that asks for more than a server would wait for one forever.
    spec = write_spec(
        MINIMAL.replace(
            "production: {}",
            "production: {}\n  staging:\n    jobs:\n      nightly: {size: {memory: 9GB}}",
        )
        + "    release: {command: [./migrate], size: {cpu: 6}}\n"
        + "jobs:\n  nightly:\n    image: ghcr.io/acme/api:1.0\n    schedule: '0 3 * * *'\n"
        + "    size: {cpu: 99}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:8:32: error: jobs.nightly (in staging).size.memory: 9 GB is more than {SERVER}, {ONE_RUN}",
        f"{spec}:13:49: error: apps.web.release.size.cpu: 6 vCPU is more than {SERVER}, {ONE_RUN}",
        f"{spec}:18:17: error: jobs.nightly.size.cpu: 99 vCPU is more than {SERVER}, {ONE_RUN}",
    ]


@pytest.mark.parametrize("command", ["validate", "plan", "explain"])
def test_validate_budget_is_said_with_a_domain_claimed_twice(cli, write_spec, command):
    """(plan and explain print the numbers of a spec over budget, but not of one with errors)"""
    spec = write_spec(
        MINIMAL.replace("production: {}", "production:\n    budget: {max_monthly_eur: 1}")
        + "    public: true\n    domains: [shop.example.com]\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n    public: true\n"
        + "    domains: [shop.example.com]\n"
    )
    result = cli(command, str(spec), *(["web"] if command == "explain" else []))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{spec}:6:31: error: environments.production.budget.max_monthly_eur: at maximum"
    )
    assert lines[1] == (
        f"{spec}:17:15: error: apps.api (in production).domains: 'shop.example.com' is already the address "
        "of app 'web' in production; give each app its own domain"
    )


def test_validate_budget_waits_for_the_instances_it_pays_for(cli, write_spec):
    # The cost at maximum scale is not known while max itself is in error: no budget figure
    # is made up from it.
    spec = write_spec(
        MINIMAL.replace("production: {}", "production:\n    budget: {max_monthly_eur: 0.01}")
        + "    instances: {min: 5, max: 2}\n"
    )
    result = cli("validate", str(spec))
    assert result.err.strip().splitlines() == [
        f"{spec}:11:16: error: apps.web.instances: min (5) is larger than max (2)"
    ]


def test_validate_a_second_yaml_document_is_located_at_its_start_and_the_first_is_checked(cli, write_spec):
    spec = write_spec(MINIMAL.replace("port: 8080", "prot: 8080") + "---\nfoo: 1\n")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:9:5: error: apps.web: unknown key 'prot' (did you mean 'port'?)",
        f"{spec}:10:1: error: the file holds several YAML documents ('---'); keep one",
    ]
    # the second is not looked into: a key written twice there is not said, and hides nothing
    spec = write_spec(MINIMAL.replace("port: 8080", "prot: 8080") + "---\na: {b: 1}\na: {b: 2}\n")
    result = cli("validate", str(spec))
    assert [line.split(": error: ", 1)[1] for line in result.err.splitlines()] == [
        "apps.web: unknown key 'prot' (did you mean 'port'?)",
        "the file holds several YAML documents ('---'); keep one",
    ]
    spec = write_spec("---\n---\nversion: 1\n")  # an empty first document: nothing to check
    result = cli("validate", str(spec))
    assert result.err.splitlines() == [
        f"{spec}:2:1: error: the file holds several YAML documents ('---'); keep one"
    ]


def test_validate_a_value_merged_in_with_a_merge_key_is_located_where_it_is_written(cli, write_spec):
    # not at the base app's value of the same name, which is not the one in error
    overrides = "  staging:\n    apps:\n      web:\n        <<: [*web_extra, {volume: {size: 1GB}}]\n"
    spec = write_spec(
        "extra: &web_extra {image: null}\n"
        + MINIMAL.replace("  production: {}\n", "  production: {}\n" + overrides)
    )
    result = cli("validate", str(spec))
    lines = result.err.splitlines()
    assert (
        f"{spec}:1:27: error: environments.staging.apps.web.image: must be text, not an empty value" in lines
    )
    assert f"{spec}:10:27: error: environments.staging.apps.web.volume: missing required key 'path'" in lines


def test_validate_reports_every_key_written_twice_at_its_line(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("port: 8080", "port: 8080\n    public: true\n    public: false")
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n    port: 1\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:11:5: error: key 'public' appears twice in the same block (first on line 10); keep one",
        f"{spec}:15:5: error: key 'port' appears twice in the same block (first on line 14); keep one",
    ]


def test_validate_checks_the_first_of_a_value_written_twice_with_the_rest(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: xx").replace("port: 8080", "port: 99999\n    port: 1")
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:3:9: error: region: 'xx' is not allowed; choose fsn1 | nbg1 | hel1",
        f"{spec}:9:11: error: apps.web.port: 99999 is too large: must be at most 65535",
        f"{spec}:10:5: error: key 'port' appears twice in the same block (first on line 9); keep one",
    ]


def test_validate_a_block_written_twice_is_said_alone(cli, write_spec):
    # What the second `apps:` holds is not checked, so nothing is said about apps it would add
    # (the reference to api is not reported as naming no app).
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: xx")
        + "    env: {API: '${apps.api.url}'}\napps:\n  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert (
        result.err
        == f"{spec}:11:1: error: key 'apps' appears twice in the same block (first on line 6); keep one\n"
    )


def test_validate_says_what_people_bringing_other_habits_meant(cli, write_spec):
    # Shapes from Kubernetes and other platforms: a bare instance count, millicores, an app that
    # is not there. Each says what to write instead, at the line of the mistake.
    spec = write_spec(
        MINIMAL
        + "    instances: 3\n    size: {cpu: 500m}\n    env:\n      API: ${apps.backend.url}\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].endswith(
        "error: apps.web.instances: must be a mapping (key: value), not 3; "
        "for exactly 3, write instances: {min: 3, max: 3}"
    )
    assert lines[1].endswith(
        "error: apps.web.size.cpu: must be a number, not '500m'; CPU is counted in vCPUs here: write 0.5 for 500m"
    )
    assert lines[2].endswith("error: '${apps.backend.url}' names no app 'backend'; the apps are api, web")


def test_validate_prints_every_warning_plan_prints(cli, write_spec):
    """CI runs validate: an OK never hides what plan warns about (here, secrets with no value in
    a project that keeps them elsewhere, and a single instance of a latency-sensitive app)."""
    spec = write_spec(
        MINIMAL.replace(
            "    port: 8080\n",
            "    port: 8080\n    secrets: [API_KEY]\n    profile: {latency: sensitive}\n    instances: {min: 1}\n",
        )
    )
    planned = cli("plan", str(spec)).out.split("warnings:\n", 1)[1].splitlines()
    result = cli("validate", str(spec))
    assert result.code == 0, result.err
    assert len(planned) >= 2
    for line in planned:
        assert f"warning: {line.strip()}" in result.err
    assert result.out.endswith(f"OK (1 environment, 1 app, {len(planned)} warnings)\n")
    rendered = cli("render", str(spec), "--out", str(spec.parent / "out"))  # repeats them, as documented
    assert rendered.code == 0 and all(f"warning: {line.strip()}" in rendered.err for line in planned)


def test_validate_json_for_scripts(cli, write_spec):
    good = cli("validate", str(write_spec(MINIMAL)), "--output", "json")
    assert good.code == 0
    assert json.loads(good.out) | {"spec": ""} == {
        "format": 1, "spec": "", "ok": True, "errors": [], "warnings": [], "environments": 1, "apps": 1,
    }  # fmt: skip
    bad = write_spec(MINIMAL.replace("port: 8080", "port: 99999"))
    result = cli("validate", str(bad), "--output", "json")
    assert result.code == 2
    data = json.loads(result.out)
    assert data["ok"] is False and data["errors"][0]["line"] == 9 and "99999" in data["errors"][0]["message"]


def test_an_override_of_a_volume_or_release_step_merges_over_the_base_app(cli, write_spec):
    # `volume: {size: 50GB}` in production keeps the base app's path; `release: {timeout: 20m}`
    # keeps its command; `volume: null` removes the volume
    from tests.support.manifests import objects, render_text

    overrides = (
        "  production:\n    apps:\n      web:\n        volume: {size: 50GB}\n        release: {timeout: 20m}\n"
        "  staging:\n    apps:\n      web: {volume: {path: /other}}\n"
        "  dev:\n    apps:\n      web: {volume: null}\n"
    )
    text = MINIMAL.replace("  production: {}\n", overrides)
    text += "    volume: {size: 10GB, path: /data}\n    release: {command: [./migrate]}\n"
    found: dict[str, dict[str, object]] = {}
    for rel, obj in objects(render_text(text)):
        env = rel.split("/")[0]
        if obj["kind"] == "PersistentVolumeClaim":
            found.setdefault(env, {})["size"] = obj["spec"]["resources"]["requests"]["storage"]
        if obj["kind"] == "Deployment":
            mounts = obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
            found.setdefault(env, {})["path"] = [m["mountPath"] for m in mounts if m["mountPath"] != "/tmp"]
        if obj["kind"] == "Job":
            job = obj["spec"]
            found.setdefault(env, {})["release"] = (
                job["template"]["spec"]["containers"][0]["command"],
                job["activeDeadlineSeconds"],
            )
    assert found["production"] == {"size": "50Gi", "path": ["/data"], "release": (["./migrate"], 1200)}
    assert found["staging"] == {"size": "10Gi", "path": ["/other"], "release": (["./migrate"], 600)}
    assert found["dev"]["path"] == [] and "size" not in found["dev"]
    # an override that gives an app a volume it does not have still needs both
    spec = write_spec(
        MINIMAL.replace("  production: {}\n", "  production:\n    apps:\n      web: {volume: {size: 5GB}}\n")
    )
    result = cli("validate", str(spec))
    assert (
        result.code == 2
        and "environments.production.apps.web.volume: missing required key 'path'" in result.err
    )


def test_validate_a_key_with_nothing_after_it_is_located_just_after_its_colon(cli, write_spec):
    """Not at what comes next, lines further down (past the file's end for its last key)."""
    spec = write_spec(
        "version: 1\nproject:\nregion: fsn1\nenvironments:\n  production:\napps:\n  web:\n"
        "    image:\n    port: ~\n\n\n# a comment\n  api:\n    image: a:1\n"
        '    env: {A: , "B"  :   }\n    secrets:\n      -\n'
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert [line.split(": error: ")[0].removeprefix(f"{spec}:") for line in result.err.splitlines()] == [
        "2:9",  # project:
        "8:11",  # image:
        "15:13",  # {A: , ...}
        "15:22",  # "B"  :
        "17:8",  # -  (a list's item: just after its dash)
    ]


def test_validate_refuses_what_yaml_builds_but_no_app_can_be_given(cli, write_spec):
    """Binary data and sets are not text (Python's spelling of them never reaches an app), and a
    NUL byte cannot be passed to a program in a setting or an argument."""
    spec = write_spec(
        MINIMAL
        + '    env: {BIN: !!binary aGVsbG8=, SET: !!set {a, b}, NUL: "a\\0b", OK: !!float 2}\n'
        + '    args: ["x\\0"]\n    public: true\n    domains: !!set {a.example.com}\n'
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert sorted(line.split(": error: ", 1)[1] for line in result.err.splitlines()) == sorted(
        [
            "apps.web.domains: must be a list, not a set (!!set)",
            "apps.web.args[0]: holds a NUL character (\\0), which no program can be given; leave it out",
            "apps.web.env.BIN: must be text, a number or true/false, not binary data (!!binary)",
            "apps.web.env.SET: must be text, a number or true/false, not a set (!!set)",
            "apps.web.env.NUL: holds a NUL character (\\0), which no program can be given; leave it out",
        ]
    )


def test_validate_an_override_whose_own_min_is_over_its_max_is_one_problem(cli, write_spec):
    both = "  production: {}\n  staging:\n    apps:\n      web: {instances: {min: 3, max: 1}}\n"
    result = cli("validate", str(write_spec(MINIMAL.replace("  production: {}\n", both))))
    assert result.code == 2
    assert [line.split(": error: ", 1)[1] for line in result.err.splitlines()] == [
        "environments.staging.apps.web.instances: min (3) is larger than max (1)"
    ]
    # an override's min over the base app's max is a problem of the two together: said
    only_min = both.replace("{min: 3, max: 1}", "{min: 3}")
    result = cli(
        "validate",
        str(write_spec(MINIMAL.replace("  production: {}\n", only_min) + "    instances: {max: 2}\n")),
    )
    assert [line.split(": error: ", 1)[1] for line in result.err.splitlines()] == [
        "apps.web (in staging).instances: min (3) is larger than max (2)"
    ]


def test_validate_an_instance_needs_memory_enough_to_start(cli, write_spec):
    spec = write_spec(MINIMAL + "    size: {memory: 8MB}\n")
    result = cli("validate", str(spec))
    assert (
        result.err
        == f"{spec}:10:20: error: apps.web.size.memory: '8MB' is too small: must be at least 16MB\n"
    )
    assert cli("validate", str(write_spec(MINIMAL + "    size: {memory: 16MB}\n"))).code == 0


def test_validate_an_empty_value_of_a_quoted_or_explicit_key_is_after_its_own_colon(cli, write_spec):
    spec = write_spec(MINIMAL + "    env:\n      'A'': B':\n      \"C\\\": D\":\n      ? X\n      :\n")
    result = cli("validate", str(spec))
    empty = [line for line in result.err.splitlines() if "has no value" in line]
    assert [line.split(": error: ")[0].removeprefix(f"{spec}:") for line in empty] == [
        "11:16",
        "12:16",
        "14:8",
    ]


def test_validate_says_what_needs_the_whole_plan_with_the_other_errors(cli, write_spec):
    # A domain claimed twice, a settings object too big for the cluster and an override that
    # cannot be merged are found on the plan of the spec's valid part (here: without `broken`),
    # so they are said in the same run as the mistakes elsewhere, not once those are fixed.
    big = "x" * 1_100_000
    spec = write_spec(
        MINIMAL.replace(
            "production: {}", "production: {}\n  staging:\n    apps:\n      api: {volume: {size: 1GB}}"
        )
        + "    public: true\n    domains: [shop.example.com]\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n"
        + "  shop:\n    image: ghcr.io/acme/shop:1.0\n    port: 8080\n    public: true\n"
        + f"    domains: [shop.example.com]\n    env: {{BIG: {big}}}\n"
        + "  broken:\n    image: ghcr.io/acme/broken:1.0\n    prot: 80\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:8:13: error: environments.staging.apps.api.volume: missing required key 'path'",
        f"{spec}:22:15: error: apps.shop (in production).domains: 'shop.example.com' is already the address "
        "of app 'web' in production; give each app its own domain",
        f"{spec}:23:11: error: apps.shop: its settings, secrets, command and arguments come to 1.1 MB in "
        "production, more than the 1 MB they may take of the 1.5 MB the cluster keeps for each (the "
        "largest: setting BIG, 1.1 MB): keep large text in a file the app reads, or in a secret",
        f"{spec}:26:5: error: apps.broken: unknown key 'prot' (did you mean 'port'?)",
    ]


def test_validate_says_nothing_of_an_app_it_takes_out_of_the_whole_plan(cli, write_spec):
    # `web` has a mistake, so the plan of the valid part has no `web` at all (not `web` as the
    # rest of the file would have it): nothing is said of its domain that fixing it might not fix.
    spec = write_spec(
        MINIMAL.replace("port: 8080", "port: 8080\n    public: true\n    domains: [shop.example.com]")
        + "    instances: {min: many}\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n    public: true\n"
        + "    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:12:22: error: apps.web.instances.min: must be a whole number, not 'many'",
    ]


def test_validate_a_wrong_region_or_version_does_not_hide_a_domain_claimed_twice(cli, write_spec):
    # Neither changes what the checks of a whole plan read: the part takes a stand-in for each.
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: xx").replace("version: 1", "version: 2")
        + "    public: true\n    domains: [shop.example.com]\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n    public: true\n"
        + "    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert result.err.strip().splitlines() == [
        f"{spec}:1:10: error: version: 2 is not allowed; choose 1",
        f"{spec}:3:9: error: region: 'xx' is not allowed; choose fsn1 | nbg1 | hel1",
        f"{spec}:16:15: error: apps.api (in production).domains: 'shop.example.com' is already the "
        "address of app 'web' in production; give each app its own domain",
    ]


def test_validate_a_wrong_project_leaves_the_whole_plan_unchecked(cli, write_spec):
    # The project names every namespace and default address, which those checks read: the
    # domain claimed twice is said once the project is fixed (the sizes against a server are
    # checked all the same: above).
    spec = write_spec(
        MINIMAL.replace("project: shop", "project: Shop")
        + "    public: true\n    domains: [shop.example.com]\n"
        + "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n    public: true\n"
        + "    domains: [shop.example.com]\n"
    )
    result = cli("validate", str(spec))
    assert [line.split(": error: ")[1].split(":")[0] for line in result.err.strip().splitlines()] == [
        "project"
    ]


def test_validate_a_port_that_is_no_number_is_one_problem_not_also_a_missing_port(cli, write_spec):
    # (nor an address missing where another app reads it)
    reader = "  api:\n    image: ghcr.io/acme/api:1.0\n    env: {WEB: '${apps.web.url}'}\n"
    spec = write_spec(MINIMAL.replace("port: 8080", "port: abc\n    public: true") + reader)
    result = cli("validate", str(spec))
    assert result.err.splitlines() == [
        f"{spec}:9:11: error: apps.web.port: must be a whole number, not 'abc'"
    ]


@pytest.mark.parametrize("command", ["plan", "render", "explain"])
def test_a_name_the_spec_does_not_have_is_said_with_the_specs_own_problems(
    cli, write_spec, tmp_path, command
):
    spec = write_spec(MINIMAL.replace("port: 8080", "prot: 8080"))
    words = [command, str(spec), *(["nope"] if command == "explain" else []), "--env", "nope"]
    words += ["--out", str(tmp_path / "out")] if command == "render" else []
    result = cli(*words)
    assert result.code == 2
    said = [line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()]
    assert said == [
        "no environment named 'nope'",
        *(["no app named 'nope'"] if command == "explain" else []),
        "apps.web: unknown key 'prot' (did you mean 'port'?)",
    ]
    # and of a spec that compiles, the two names together
    good = write_spec(MINIMAL)
    result = cli("explain", str(good), "nope", "--env", "nope")
    assert [line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()] == [
        "no environment named 'nope'",
        "no app named 'nope'",
    ]


@pytest.mark.timeout(60)
def test_a_spec_from_a_pipe_is_read_once_for_its_problems_and_the_names_looked_up(cli, tmp_path):
    # `unhazzle plan <(generate-spec) --env nope`: a pipe cannot be read a second time
    import os
    import threading

    pipe = tmp_path / "spec.pipe"
    os.mkfifo(pipe)
    text = MINIMAL.replace("region: fsn1", "region: xx")
    writer = threading.Thread(target=lambda: pipe.write_text(text, encoding="utf-8"), daemon=True)
    writer.start()
    result = cli("plan", str(pipe), "--env", "nope")
    writer.join(5)
    assert result.code == 2
    assert [line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()] == [
        "region: 'xx' is not allowed",
        "no environment named 'nope'",
    ]


def test_validate_job_bigger_than_a_server_in_an_otherwise_valid_spec(cli, write_spec):
    spec = write_spec(
        MINIMAL
        + "    release: {command: [./migrate], size: {memory: 8GB}}\n"
        + "jobs:\n  nightly:\n    image: ghcr.io/acme/api:1.0\n    schedule: '0 3 * * *'\n"
        + "    size: {cpu: 4}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:10:52: error: apps.web.release.size.memory: 8 GB is more than {SERVER}, {ONE_RUN}",
        f"{spec}:15:17: error: jobs.nightly.size.cpu: 4 vCPU is more than {SERVER}, {ONE_RUN}",
    ]


def test_validate_a_size_past_a_server_hides_no_other_problem_an_alias_puts_at_its_place(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("port: 8080", "port: 8080\n    size: {cpu: &c 99}")
        + "jobs:\n  nightly: {image: ghcr.io/acme/web:1.0, schedule: '@daily', retries: *c}\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"{spec}:10:17: error: apps.web.size.cpu: 99 vCPU is more than {SERVER}, {ONE_SERVER}",
        f"{spec}:10:17: error: jobs.nightly.retries: 99 is too large: must be at most 10",
    ]
