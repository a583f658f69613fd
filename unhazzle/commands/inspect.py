"""`unhazzle inspect IMAGE [--platform OS/ARCH] [--output text|json]`: what an image says about itself."""

from __future__ import annotations

import argparse

from unhazzle.commands.common import add_registry_options, json_text, parse_image, registry_options
from unhazzle.commands.flags import checked_by
from unhazzle.errors import UsageError, at_once


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
    parser.set_defaults(run=run, check_flags=checked_by(_platform))


def _platform(args: argparse.Namespace) -> None:
    if args.platform.count("/") not in (1, 2) or " " in args.platform:
        raise UsageError(f"--platform: error: '{args.platform}' is not OS/ARCH (e.g. linux/arm64)")


def run(args: argparse.Namespace) -> int:
    from unhazzle.compiler.images.inspection import info_json, info_text
    from unhazzle.compiler.images.registry import Registry

    ref, _ = at_once(lambda: parse_image(args.image), lambda: _platform(args))
    with Registry(registry_options(args)) as registry:
        info = registry.inspect(ref, args.platform)
    if args.output == "json":
        print(json_text(info_json(info)))
    else:
        print(info_text(info), end="")
    return 0
