"""An edit of one place in the spec changes that place only. YAML lets places share a mapping
(`env: &common {...}` in one app, `env: *common` in another) or build on one (`<<: *base`), and
the round-trip loader gives every such place the same object: a key written through one of them
would appear in all. So before an edit, each mapping on its way is made the place's own.

Pure: the round-trip tree in, changed in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib

Place = tuple[Any, ...]  # keys (and list indexes) from the top of the spec; "<<" for a merge


class SharedPlace(Exception):
    """The place an edit goes to is itself the anchor other places use: whatever the edit wrote
    there, they would have too, and no rewrite keeps both as they are and the file readable."""

    def __init__(self, place: Place, anchor: str, others: list[Place]) -> None:
        self.place = place
        where = ", ".join(
            f"{dotted(other[:-1])} (<<: *{anchor})" if other[-1] == "<<" else dotted(other)
            for other in others
        )
        super().__init__(
            f"{dotted(place)} is shared with {where} through the anchor &{anchor}, so a change here "
            f"would change them as well; edit the shared one by hand, or write the others out in "
            f"full in place of *{anchor}"
        )


def dotted(place: Place) -> str:
    return ".".join(str(key) for key in place)


def own_path(root: CommentedMap, path: Sequence[str], *, unmerged: bool = False) -> None:
    """Every mapping on *path* that exists made the place's own: one reached through an alias or
    a `<<` merge is replaced, at this place only, by a copy (the shared one stays where it is
    defined, with its comments). With *unmerged*, the last one also holds every key itself, so
    one that came through `<<` can be removed. SharedPlace when the place defines the anchor."""
    uses = _uses(root)
    node: Any = root
    place: Place = ()
    for depth, key in enumerate(path):
        child = node.get(key) if isinstance(node, CommentedMap) else None
        if not isinstance(child, CommentedMap | CommentedSeq):
            return
        place = (*place, key)
        seen = uses.get(id(child))  # None: a copy this edit made, below one it replaced
        merged_in = not any(k == key for k, _ in node.non_merged_items())
        if seen is not None and (merged_in or seen[0] != place):
            if child.anchor.value:  # its own place keeps `&name`, even with no alias left
                child.anchor.always_dump = True
            child = node[key] = _copy(child)
        elif seen is not None and len(seen) > 1:
            raise SharedPlace(place, str(child.anchor.value), seen[1:])
        elif unmerged and depth == len(path) - 1 and isinstance(child, CommentedMap) and merge_sources(child):
            _unmerge(child)
        node = child


def shared_on(root: CommentedMap, path: Sequence[str]) -> bool:
    """Whether a mapping on *path* (those that exist) is used at more than one place, through an
    anchor and its aliases, or comes through a `<<` merge: an edit there would reach the others,
    or cut this place's link to them."""
    uses = _uses(root)
    node: Any = root
    for key in path:
        child = node.get(key) if isinstance(node, CommentedMap) else None
        if not isinstance(child, CommentedMap | CommentedSeq):
            return False
        merged_in = not any(k == key for k, _ in node.non_merged_items())
        if merged_in or len(uses.get(id(child), [])) > 1:
            return True
        node = child
    return False


def own_value(root: CommentedMap, place: Place) -> None:
    """SharedPlace when the value at *place* is an anchored text, number or true/false that
    aliases elsewhere use, and *place* is where it is defined (`B: &b True` here, `B: *b`
    there): a new value written here would take the anchor along, or leave the others with
    YAML's spelling of it (`true`). An alias's place, or a key that came in through `<<`, gets a
    value of its own like any other."""
    node: Any = root
    for key in place[:-1]:
        node = node.get(key) if isinstance(node, CommentedMap) else None
    if not isinstance(node, CommentedMap) or not any(k == place[-1] for k, _ in node.non_merged_items()):
        return
    value = node.get(place[-1])
    anchor = getattr(getattr(value, "anchor", None), "value", None)
    if value is None or isinstance(value, CommentedMap | CommentedSeq) or not anchor:
        return
    found: list[Place] = []  # in the document's order: the anchor first

    def visit(item: Any, at: Place) -> None:
        if item is value:
            found.append(at)
        elif isinstance(item, CommentedMap):
            for key, child in item.non_merged_items():
                visit(child, (*at, key))
        elif isinstance(item, CommentedSeq):
            for index, child in enumerate(item):
                visit(child, (*at, index))

    visit(root, ())
    if found and found[0] == tuple(place) and len(found) > 1:
        raise SharedPlace(tuple(place), str(anchor), found[1:])


def _uses(root: CommentedMap) -> dict[int, list[Place]]:
    """Each mapping and list of the tree -> the places that use it, the defining one first (the
    document's order: an anchor comes before its aliases)."""
    uses: dict[int, list[Place]] = {}

    def visit(node: Any, place: Place) -> None:
        if not isinstance(node, CommentedMap | CommentedSeq):
            return
        seen = id(node) in uses
        uses.setdefault(id(node), []).append(place)
        if seen:
            return
        if isinstance(node, CommentedSeq):
            for index, item in enumerate(node):
                visit(item, (*place, index))
            return
        for source in merge_sources(node):
            visit(source, (*place, "<<"))
        for key, value in node.non_merged_items():
            visit(value, (*place, key))

    visit(root, ())
    return uses


def merge_sources(node: CommentedMap) -> list[CommentedMap]:
    """The mappings *node* takes keys from through `<<` (not ruamel's `.merge`, which adds one)."""
    return list(getattr(node, merge_attrib, None) or ())


def _unmerge(node: CommentedMap) -> None:
    """*node* holding the keys it took through `<<` itself, where the `<<` stood; in place, so
    its comments stay."""
    merged = getattr(node, merge_attrib)
    for source in merged:
        if source.anchor.value:  # the mapping merged in keeps `&name` where it is defined
            source.anchor.always_dump = True
    own = {key for key, _ in node.non_merged_items()}
    taken = [(key, value) for key, value in node.items() if key not in own]
    position = getattr(merged, "merge_pos", None) or 0
    delattr(node, merge_attrib)
    for key, _ in taken:
        del node[key]
    for offset, (key, value) in enumerate(taken):
        node.insert(position + offset, key, _copy(value))


def _copy(node: Any) -> Any:
    """A new tree equal to *node*: no anchors, keys that came through `<<` held as its own, flow
    or block as before; scalars are shared, as they cannot be changed in place."""
    if isinstance(node, CommentedMap):
        fresh: CommentedMap | CommentedSeq = CommentedMap((key, _copy(value)) for key, value in node.items())
    elif isinstance(node, CommentedSeq):
        fresh = CommentedSeq(_copy(item) for item in node)
    else:
        return node
    if node.fa.flow_style():
        fresh.fa.set_flow_style()
    return fresh
