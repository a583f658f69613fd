"""`unhazzle inspect IMAGE [--platform OS/ARCH] [--output text|json]`: what an image says about itself."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from unhazzle.compiler.reference import BadReference, ImageRef, parse_reference
from unhazzle.errors import UsageError

if TYPE_CHECKING:  # httpx is imported only by the commands that reach a registry
    from unhazzle.compiler.registry import RegistryOptions


def add_registry_options(parser: argparse.ArgumentParser) -> None:
    """The flags every command that reads a registry shares."""
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP for registries without TLS (always allowed for localhost/127.0.0.1)",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="also trust these CA certificates (a private CA)")


def registry_options(args: argparse.Namespace) -> RegistryOptions:
    from unhazzle.compiler.registry import RegistryOptions

    return RegistryOptions(insecure=args.insecure, ca_file=args.ca_file)


def parse_image(text: str, *, flag: str = "IMAGE") -> ImageRef:
    try:
        return parse_reference(text)
    except BadReference as exc:
        raise UsageError(f"{flag}: error: {exc}") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "inspect",
        help="read an image's ports, user, settings and digest from its registry",
        description="Read IMAGE's config from its OCI registry (logins come from ~/.docker/config.json).",
    )
    parser.add_argument("image", metavar="IMAGE", help="e.g. ghcr.io/acme/web:1.0 or redis:7")
    parser.add_argument("--platform", default="linux/amd64", metavar="OS/ARCH", help="default: linux/amd64")
    parser.add_argument("--output", choices=["text", "json"], default="text")
    add_registry_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from unhazzle.compiler.image import info_json, info_text
    from unhazzle.compiler.registry import Registry

    ref = parse_image(args.image)
    if args.platform.count("/") not in (1, 2) or " " in args.platform:
        raise UsageError(f"--platform: error: '{args.platform}' is not OS/ARCH (e.g. linux/arm64)")
    with Registry(registry_options(args)) as registry:
        info = registry.inspect(ref, args.platform)
    if args.output == "json":
        print(json.dumps(info_json(info), indent=2, ensure_ascii=False))
    else:
        print(info_text(info), end="")
    return 0
