"""The names the compiler writes and the reconciler reads: the files of an environment folder,
the labels and annotations on what Unhazzle renders, and where each environment lives in the
shared cluster. Spelled here once; both halves import them from here."""

from __future__ import annotations

# The environment repo: one folder PROJECT/ENVIRONMENT/ per environment, holding these beside one
# YAML file per app.
ENVIRONMENT_FILE = "_environment.yaml"  # the environment's own objects, its Namespace first
INDEX_FILE = "_index.json"  # what the folder holds, for machines (publishing/index.py)
SECRETS_FILE = "_secrets.json"  # the sealed secret values (shared/sealed.py)
STORE_DIR = "unhazzle.secrets"  # next to the spec: ENV.yaml, each environment's secret values
ROLLBACK_FILE = "_rollback.json"  # in an environment's folder while a rollback is in force
PREVIEW_FILE = "_preview.json"  # marks a preview environment's folder: its expiry (shared/previewmark.py)

# Labels and annotations on every object Unhazzle renders or writes.
MANAGED_BY = "app.kubernetes.io/managed-by"
OURS = "unhazzle"  # the value of MANAGED_BY
APP_LABEL = "unhazzle.io/app"
PROJECT_LABEL = "unhazzle.io/project"
ENVIRONMENT_LABEL = "unhazzle.io/environment"
BADGE_LABEL = "unhazzle.io/badge"
# On a preview environment's namespace (`unhazzle preview-env`), and only there: disposable, so
# the reconciler may delete all of it (an environment merely badged preview is not).
PREVIEW_LABEL = "unhazzle.io/preview-environment"
PUBLIC_LABEL = "unhazzle.io/public"
SECRETS_CHECKSUM = "unhazzle.io/secrets-checksum"  # a new secret value restarts the app
JOB_LABEL = "unhazzle.io/job"  # a scheduled job's CronJob, its runs and their instances
RELEASE_LABEL = "unhazzle.io/release-of"  # an app's release step (a Job) and its instance
RUN_LABEL = "unhazzle.io/run-of"  # a one-off run's instance (`unhazzle run`)
AFTER_ANNOTATION = "unhazzle.io/after"  # on a Deployment: the apps whose new version goes first
# On a Deployment: "false" when its environment leaves a failed version for people to handle; and,
# written by the reconciler, the version it took back (reconciler/sync/rollback.py) and why.
AUTOMATIC_ROLLBACK = "unhazzle.io/automatic-rollback"
ROLLED_BACK = "unhazzle.io/rolled-back"
ROLLED_BACK_WHY = "unhazzle.io/rolled-back-why"

# Commit trailers by which a publish says it was told to delete data (--allow-delete-volume,
# --allow-delete-environment): the reconciler deletes a volume claim, or a whole environment, only
# when a commit since the last one it applied names it so (a hand commit must say so too).
ALLOW_DELETE_VOLUME = "Unhazzle-Allow-Delete-Volume"  # PROJECT/ENVIRONMENT/APP, comma-separated
ALLOW_DELETE_ENVIRONMENT = "Unhazzle-Allow-Delete-Environment"  # PROJECT/ENVIRONMENT, likewise

MAX_NAMESPACE = 63  # a namespace name is a DNS label


def namespace_for(project: str, environment: str) -> str:
    """One namespace per project environment."""
    return f"{project}-{environment}"


# Namespaces a project environment must never land in: Kubernetes reserves kube-*, and the
# shared cluster's own parts run in these (the reconciler, the ingress controller, cert-manager).
PLATFORM_NAMESPACE = "unhazzle-system"  # the reconciler's own: its Deployment and leader lease
PLATFORM_NAMESPACES = frozenset({PLATFORM_NAMESPACE, "ingress-nginx", "cert-manager"})


def reserved(namespace: str) -> bool:
    """Whether *namespace* belongs to Kubernetes or the platform, not to a project."""
    return namespace.startswith("kube-") or namespace in PLATFORM_NAMESPACES or namespace == "default"


# The identity the reconciler applies each environment as (reconciler/sync/rbac.py): the guard
# refuses a folder that names an object after it, so an app of that name is refused here first.
APPLIER_NAME = "unhazzle-applier"
# The reconciler's own records in each namespace (reconciler/sync/inventory.py): what it may prune,
# and what it reports. A folder that names an object after one would forge them.
INVENTORY_NAME = "unhazzle-inventory"
STATUS_NAME = "unhazzle-status"
RESERVED_APP_NAMES = frozenset({APPLIER_NAME, INVENTORY_NAME, STATUS_NAME})
